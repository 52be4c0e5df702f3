package install

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// rewrite replaces the content of path in place, keeping its inode (for a
// single-file bind mount). It never leaves the file truncated or partly
// written for want of space: the space the new content needs is reserved
// first (fallocate), and when that fails the file is left as it was. Only
// then is the content written from the start and the file cut to length.
func rewrite(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := reserve(f, int64(len(data))); err != nil {
		return fmt.Errorf("reserve %d bytes for %s (the file is unchanged): %w", len(data), path, err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// reserve makes sure writing size bytes at offset 0 of f cannot fail for
// want of space: fallocate allocates the blocks; a filesystem without
// fallocate must have the room free (statfs), else reserve refuses.
func reserve(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil || !(errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)) {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("fallocate not supported, statfs: %w", err)
	}
	if free := int64(st.Bavail) * st.Bsize; free < 2*size {
		return fmt.Errorf("fallocate not supported and only %d bytes free: %w", free, unix.ENOSPC)
	}
	return nil
}
