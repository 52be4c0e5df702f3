package watch

import (
	"fmt"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// templateWatcher follows the template files given by path. It watches their
// directories, not the files, because editors save by writing a new file and
// renaming it over the old one, which would end a watch on the file itself.
type templateWatcher struct {
	fs    *fsnotify.Watcher
	paths map[string]bool // absolute paths of the template files
}

func newTemplateWatcher(paths []string) (*templateWatcher, error) {
	tw := &templateWatcher{paths: map[string]bool{}}
	if len(paths) == 0 {
		return tw, nil
	}
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch templates: %w", err)
	}
	tw.fs = fs
	dirs := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			fs.Close()
			return nil, fmt.Errorf("watch template %s: %w", p, err)
		}
		tw.paths[abs] = true
		dirs[filepath.Dir(abs)] = true
	}
	for d := range dirs {
		if err := fs.Add(d); err != nil {
			fs.Close()
			return nil, fmt.Errorf("watch template directory %s: %w", d, err)
		}
	}
	return tw, nil
}

// events is nil (blocks forever) when no template is a file.
func (tw *templateWatcher) events() <-chan fsnotify.Event {
	if tw.fs == nil {
		return nil
	}
	return tw.fs.Events
}

func (tw *templateWatcher) errors() <-chan error {
	if tw.fs == nil {
		return nil
	}
	return tw.fs.Errors
}

// matches reports whether ev changed one of the template files.
func (tw *templateWatcher) matches(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) {
		return false
	}
	abs, err := filepath.Abs(ev.Name)
	return err == nil && tw.paths[abs]
}

func (tw *templateWatcher) close() {
	if tw.fs != nil {
		tw.fs.Close()
	}
}
