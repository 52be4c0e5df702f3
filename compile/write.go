package compile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// WriteMode says how a checked output replaces the old file.
type WriteMode string

// Write modes: rename swaps a new inode in atomically; inplace rewrites the
// existing file (needed when the file itself is a bind mount, where rename
// fails with EBUSY).
const (
	ModeRename  WriteMode = "rename"
	ModeInplace WriteMode = "inplace"
)

// ParseWriteMode validates a --write-mode value.
func ParseWriteMode(s string) (WriteMode, error) {
	switch WriteMode(s) {
	case "", ModeRename:
		return ModeRename, nil
	case ModeInplace:
		return ModeInplace, nil
	}
	return "", fmt.Errorf("write mode %q: want rename or inplace", s)
}

// WriteOptions steer Write.
type WriteOptions struct {
	// Check is a shell command template run on the staged output before it is
	// swapped in, e.g. "haproxy -c -f {{.File}}" ({{.Dir}} is the staging
	// directory). Empty means no check.
	Check string
	// Timeout bounds the check command.
	Timeout time.Duration
	// Mode is how the old file is replaced.
	Mode WriteMode
}

// ErrCheck marks a failed check: the old output is still in place.
var ErrCheck = errors.New("check failed")

// Write puts r at dest with its auxiliary files beside it, only when some
// bytes differ from what is there. The set is written to a staging directory
// next to dest, fsynced, checked, then each auxiliary file and finally dest is
// renamed into place. It reports whether anything was written. A failed check
// leaves the old files untouched and returns an error wrapping ErrCheck.
func Write(ctx context.Context, dest string, r *Rendered, opts WriteOptions) (bool, error) {
	dir := filepath.Dir(dest)
	files := append([]AuxFile{}, r.Files...)
	files = append(files, AuxFile{Name: filepath.Base(dest), Data: r.Main}) // main last
	if unchanged(dir, files) {
		return false, nil
	}
	stage, err := os.MkdirTemp(dir, "."+filepath.Base(dest)+".stage-")
	if err != nil {
		return false, fmt.Errorf("stage %s: %w", dest, err)
	}
	defer os.RemoveAll(stage)
	for _, f := range files {
		mode := os.FileMode(0o644)
		if fi, err := os.Stat(filepath.Join(dir, f.Name)); err == nil {
			mode = fi.Mode().Perm()
		}
		if err := writeSync(filepath.Join(stage, f.Name), f.Data, mode, os.O_CREATE|os.O_EXCL); err != nil {
			return false, err
		}
	}
	if opts.Check != "" {
		staged := filepath.Join(stage, filepath.Base(dest))
		cmd, err := ExpandCommand(opts.Check, map[string]string{"File": staged, "Dir": stage})
		if err != nil {
			return false, err
		}
		if _, err := RunShell(ctx, cmd, opts.Timeout); err != nil {
			return false, fmt.Errorf("%w for %s: %w", ErrCheck, dest, err)
		}
	}
	for _, f := range files {
		final := filepath.Join(dir, f.Name)
		if opts.Mode == ModeInplace {
			err = writeSync(final, f.Data, 0o644, os.O_CREATE|os.O_TRUNC)
		} else {
			err = os.Rename(filepath.Join(stage, f.Name), final)
			if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EXDEV) {
				// A single-file bind mount cannot be replaced: rewrite it.
				err = writeSync(final, f.Data, 0o644, os.O_CREATE|os.O_TRUNC)
			}
		}
		if err != nil {
			return false, fmt.Errorf("install %s: %w", final, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return true, err
	}
	return true, nil
}

// unchanged reports whether every file already holds exactly these bytes.
func unchanged(dir string, files []AuxFile) bool {
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || !bytes.Equal(old, f.Data) {
			return false
		}
	}
	return true
}

func writeSync(path string, data []byte, mode os.FileMode, flags int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|flags, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// WriteTo writes the main output, then each auxiliary file after a marker
// line "# ---- rproxy-gen file: NAME ----", for review on stdout.
func (r *Rendered) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	buf.Write(r.Main)
	for _, f := range r.Files {
		fmt.Fprintf(&buf, "# ---- rproxy-gen file: %s ----\n", f.Name)
		buf.Write(f.Data)
	}
	return buf.WriteTo(w)
}

func sortFiles(files []AuxFile) {
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
}
