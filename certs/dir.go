package certs

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Dir follows one certificate directory for a long-running process
// (rproxy-gen --watch): Reload reads it again, each problem with a file is
// logged once (again only after it went away and came back), and when the
// directory itself cannot be read the last certificates read stay in use. It
// is safe for concurrent use.
type Dir struct {
	path string
	log  *slog.Logger

	mu     sync.Mutex
	cur    *model.Certificates
	logged map[string]bool // problems of the last Reload
}

// NewDir returns a Dir for path; nothing is read before Reload.
func NewDir(path string, log *slog.Logger) *Dir {
	return &Dir{path: path, log: log, logged: map[string]bool{}}
}

// Path is the directory as given.
func (d *Dir) Path() string { return d.path }

// Reload reads the directory with Load and logs the problems not logged by
// the previous Reload, each as a warning naming the file. It returns the
// certificates now in use. When the directory cannot be read it returns an
// error, and the certificates of the last good Reload (nil if none) stay in
// use.
func (d *Dir) Reload() (*model.Certificates, error) {
	c, errs := Load(d.path)
	d.mu.Lock()
	defer d.mu.Unlock()
	if c == nil {
		return d.cur, fmt.Errorf("certificates: %w", joinErrs(errs))
	}
	now := map[string]bool{}
	for _, err := range errs {
		msg := err.Error()
		now[msg] = true
		if !d.logged[msg] {
			d.log.Warn("certificate file problem", "err", msg)
		}
	}
	d.logged = now
	d.cur = c
	return c, nil
}

// Current returns the certificates of the last good Reload, nil before one.
// The caller must not change them.
func (d *Dir) Current() *model.Certificates {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur
}

// joinErrs returns the one error Load gives for an unusable directory (or a
// generic one when it gave none).
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return fmt.Errorf("directory cannot be used")
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%v (and %d more)", errs[0], len(errs)-1)
}
