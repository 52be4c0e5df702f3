package watch

import (
	"fmt"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// fileWatcher follows files and directories on disk with one fsnotify
// watcher. A file is followed through its directory, not itself, because
// editors save by writing a new file and renaming it over the old one,
// which would end a watch on the file. A directory is followed for its
// entries: any file created, written, removed or renamed in it (an ACME
// client writing a certificate, a renewal replacing one).
type fileWatcher struct {
	fs    *fsnotify.Watcher
	files map[string]bool // absolute paths of the followed files
	dirs  map[string]bool // absolute paths of the followed directories
}

// newFileWatcher watches files and dirs; with neither it watches nothing
// and its channels block forever. Every directory must exist.
func newFileWatcher(files, dirs []string) (*fileWatcher, error) {
	fw := &fileWatcher{files: map[string]bool{}, dirs: map[string]bool{}}
	if len(files) == 0 && len(dirs) == 0 {
		return fw, nil
	}
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch files: %w", err)
	}
	fw.fs = fs
	watched := map[string]bool{}
	add := func(dir, what string) error {
		if watched[dir] {
			return nil
		}
		watched[dir] = true
		if err := fs.Add(dir); err != nil {
			return fmt.Errorf("watch %s %s: %w", what, dir, err)
		}
		return nil
	}
	for _, p := range files {
		abs, err := filepath.Abs(p)
		if err != nil {
			fs.Close()
			return nil, fmt.Errorf("watch file %s: %w", p, err)
		}
		fw.files[abs] = true
		if err := add(filepath.Dir(abs), "the directory of"); err != nil {
			fs.Close()
			return nil, err
		}
	}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			fs.Close()
			return nil, fmt.Errorf("watch directory %s: %w", d, err)
		}
		fw.dirs[abs] = true
		if err := add(abs, "directory"); err != nil {
			fs.Close()
			return nil, err
		}
	}
	return fw, nil
}

// events is nil (blocks forever) when nothing is watched.
func (fw *fileWatcher) events() <-chan fsnotify.Event {
	if fw.fs == nil {
		return nil
	}
	return fw.fs.Events
}

func (fw *fileWatcher) errors() <-chan error {
	if fw.fs == nil {
		return nil
	}
	return fw.fs.Errors
}

// classify tells whether ev changed one of the files, and whether it
// changed an entry of one of the directories (both, for a followed file in
// a followed directory). A change of permissions alone is neither.
func (fw *fileWatcher) classify(ev fsnotify.Event) (file, dir bool) {
	abs, err := filepath.Abs(ev.Name)
	if err != nil {
		return false, false
	}
	if ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) {
		file = fw.files[abs]
	}
	if ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) {
		dir = fw.dirs[filepath.Dir(abs)]
	}
	return file, dir
}

func (fw *fileWatcher) close() {
	if fw.fs != nil {
		fw.fs.Close()
	}
}
