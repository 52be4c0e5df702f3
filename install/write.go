// Package install puts rendered files in place without ever leaving a
// half-written config: the new set is staged beside the destination,
// fsynced, checked, and only then swapped in, and only when some byte
// changed.
package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rproxy-gen/rproxy-gen/shell"
)

// Mode says how a checked output replaces the old file.
type Mode string

// Write modes: rename swaps a new inode in atomically; inplace rewrites the
// existing file (needed when the file itself is a bind mount, where rename
// fails with EBUSY).
const (
	ModeRename  Mode = "rename"
	ModeInplace Mode = "inplace"
)

// ParseMode validates a --write-mode value.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeRename:
		return ModeRename, nil
	case ModeInplace:
		return ModeInplace, nil
	}
	return "", fmt.Errorf("write mode %q: want rename or inplace", s)
}

// File is one file of an output set: the main config or an auxiliary file
// (a map file) written beside it.
type File struct {
	// Name is the base name in the destination's directory.
	Name string
	Data []byte
}

// Checker validates a staged output before it is swapped in: file is the
// staged main file, dir the staging directory that holds the whole set.
type Checker func(ctx context.Context, file, dir string) error

// Options steer Write.
type Options struct {
	// Check runs on the staged set; nil means no check.
	Check Checker
	// Mode is how the old files are replaced.
	Mode Mode
}

// ErrCheck marks a failed check: the old output is still in place.
var ErrCheck = errors.New("check failed")

// stagePrefix starts the name of a staging directory: ".NAME.stage-".
func stagePrefix(dest string) string { return "." + filepath.Base(dest) + ".stage-" }

// Write puts main at dest with the auxiliary files beside it, only when some
// bytes differ from what is there. The set is written to a staging directory
// next to dest, fsynced and checked; then each auxiliary file and finally
// dest are renamed into place. It reports whether anything was written. A
// failed check leaves the old files untouched and returns an error wrapping
// ErrCheck. A destination that is a mount point of its own (a single-file
// bind mount) cannot take auxiliary files beside it: Write refuses before
// touching anything.
func Write(ctx context.Context, dest string, main []byte, aux []File, opts Options) (bool, error) {
	if err := CheckDest(dest); err != nil {
		return false, err
	}
	dir := filepath.Dir(dest)
	files := append(append([]File{}, aux...), File{Name: filepath.Base(dest), Data: main}) // main last
	// same[i]: the file on disk holds these bytes already.
	same := make([]bool, len(files))
	changed := false
	for i, f := range files {
		same[i] = holds(filepath.Join(dir, f.Name), f.Data)
		changed = changed || !same[i]
	}
	if !changed {
		return false, nil
	}
	if len(aux) > 0 {
		if mounted, err := isMountPoint(dest); err == nil && mounted {
			return false, singleFileMountError(dest, aux)
		}
	}
	stage, err := os.MkdirTemp(dir, stagePrefix(dest))
	if err != nil {
		return false, fmt.Errorf("stage %s: %w", dest, err)
	}
	defer os.RemoveAll(stage)
	// Readable by all, like the files it holds once installed: a check may
	// run as another user, in another container (--check-container).
	if err := os.Chmod(stage, 0o755); err != nil {
		return false, fmt.Errorf("stage %s: %w", dest, err)
	}
	for i, f := range files {
		// A file that did not change is only linked into the stage, for the
		// check to see the whole set; it is neither synced nor swapped.
		if same[i] && os.Link(filepath.Join(dir, f.Name), filepath.Join(stage, f.Name)) == nil {
			continue
		}
		same[i] = false
		if err := writeNew(filepath.Join(stage, f.Name), f.Data, fileMode(filepath.Join(dir, f.Name))); err != nil {
			return false, err
		}
	}
	if opts.Check != nil {
		if err := opts.Check(ctx, filepath.Join(stage, filepath.Base(dest)), stage); err != nil {
			return false, fmt.Errorf("%w for %s: %w", ErrCheck, dest, err)
		}
	}
	for i, f := range files {
		if same[i] {
			continue
		}
		final := filepath.Join(dir, f.Name)
		if opts.Mode == ModeInplace {
			err = rewrite(final, f.Data)
		} else {
			err = os.Rename(filepath.Join(stage, f.Name), final)
			if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EXDEV) {
				// A single-file bind mount cannot be replaced: rewrite it.
				err = rewrite(final, f.Data)
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

// CheckDest refuses a destination that names a directory, with a trailing
// slash ("-o somedir/") or because one is there ("-o somedir"): the output
// is a file, and its map files go beside it.
func CheckDest(dest string) error {
	isDir := strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, string(filepath.Separator))
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		isDir = true
	}
	if isDir {
		return fmt.Errorf("%s is a directory: give the file to write, e.g. %s", dest, filepath.Join(dest, "haproxy.cfg"))
	}
	return nil
}

func singleFileMountError(dest string, aux []File) error {
	names := make([]string, len(aux))
	for i, f := range aux {
		names[i] = f.Name
	}
	return fmt.Errorf("%s is a single-file bind mount, but its template also writes %s beside it, "+
		"which would land in this container only and not beside the proxy: mount the directory instead (e.g. -v /etc/haproxy:/etc/haproxy)",
		dest, strings.Join(names, ", "))
}

// fileMode is the mode of the existing file at path, 0644 when there is none.
func fileMode(path string) os.FileMode {
	if fi, err := os.Stat(path); err == nil {
		return fi.Mode().Perm()
	}
	return 0o644
}

// holds reports whether the file at path holds exactly data.
func holds(path string, data []byte) bool {
	old, err := os.ReadFile(path)
	return err == nil && bytes.Equal(old, data)
}

// writeNew creates path (which must not exist) with data and fsyncs it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
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

// CommandCheck is a Checker that runs a check command such as
// "haproxy -c -f {{.File}}" ({{.Dir}} is the staging directory) with sh,
// bounded by timeout.
func CommandCheck(cmd *shell.Command, timeout time.Duration) Checker {
	return func(ctx context.Context, file, dir string) error {
		line, err := cmd.Expand(map[string]string{"File": file, "Dir": dir})
		if err != nil {
			return err
		}
		_, err = shell.Run(ctx, line, timeout)
		return err
	}
}

// ParseCheck parses a check command template: it may use {{.File}} (the
// staged main file) and {{.Dir}} (the staging directory).
func ParseCheck(text string) (*shell.Command, error) { return shell.Parse(text, "File", "Dir") }
