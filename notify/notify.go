// Package notify tells proxies that their config changed: it runs notify
// shell commands and signals containers, in a fixed order, keeps what failed
// pending for a retry, and in watch mode does all of it in the background so
// a slow or hung reload never holds back the next render.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rproxy-gen/rproxy-gen/shell"
)

// Signaler delivers a signal to a container (the Docker source does it).
type Signaler interface {
	Signal(ctx context.Context, container, sig string) error
}

// Config is what a Notifier runs besides each output's own notifies.
type Config struct {
	// Command is the global notify command, run once after any output
	// changed. It has no variables.
	Command *shell.Command
	// Container is signalled with Signal once after any output changed.
	Container string
	// Signal is the signal for Container, and the default of a Change's.
	Signal string
	// Signaler delivers container signals; required when any is sent.
	Signaler Signaler
	// Timeout bounds each command.
	Timeout time.Duration
	// Retries says that a failed notify will be retried after the next
	// render (watch mode); one-shot mode has no next render.
	Retries bool
	// Interval is the least time between the starts of two batches in Run
	// (watch mode): the first batch after a quiet spell runs at once, and
	// what is triggered meanwhile waits and runs together in the next one.
	// It bounds how often the proxy reloads during a burst of changes
	// (--wait's MAX); 0 runs a batch as soon as the last one has finished.
	Interval time.Duration
	Log      *slog.Logger
}

// Change is an output file that changed, with its own notifies.
type Change struct {
	// File is the output's destination ({{.File}} in Command).
	File string
	// Command is the output's own notify command; nil for none.
	Command *shell.Command
	// Container is signalled after this output changed; Signal defaults to
	// the Config's.
	Container, Signal string
}

// ParseCommand parses an output's notify command: it may use {{.File}}.
func ParseCommand(text string) (*shell.Command, error) { return shell.Parse(text, "File") }

// ParseGlobalCommand parses the global notify command, which runs once for
// all outputs and so has no {{.File}}.
func ParseGlobalCommand(text string) (*shell.Command, error) { return shell.Parse(text) }

// Notifier runs notifies. Each pending notify has a key, so notifies asked
// for again before they ran coalesce into one run. A notify that fails stays
// pending and runs again with the next batch.
type Notifier struct {
	cfg     Config
	mu      sync.Mutex
	pending map[string]func(context.Context) error
	wake    chan struct{}
}

// New returns a Notifier for cfg.
func New(cfg Config) *Notifier {
	return &Notifier{cfg: cfg, pending: map[string]func(context.Context) error{}, wake: make(chan struct{}, 1)}
}

// Keys of the global notifies; per-output keys start with "output ", which
// sorts before both.
const (
	keyCommand   = "~command"
	keyContainer = "~container"
)

// add marks the notifies of changes pending, plus the global ones when
// anything changed.
func (n *Notifier) add(changes []Change) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range changes {
		if c.Command != nil {
			cmd, file := c.Command, c.File
			n.pending["output "+file] = func(ctx context.Context) error {
				return n.shell(ctx, cmd, map[string]string{"File": file})
			}
		}
		if c.Container != "" {
			container, sig := c.Container, c.Signal
			if sig == "" {
				sig = n.cfg.Signal
			}
			n.pending["output "+c.File+" signal"] = func(ctx context.Context) error { return n.signal(ctx, container, sig) }
		}
	}
	if len(changes) > 0 && n.cfg.Command != nil {
		n.pending[keyCommand] = func(ctx context.Context) error { return n.shell(ctx, n.cfg.Command, nil) }
	}
	if len(changes) > 0 && n.cfg.Container != "" {
		n.pending[keyContainer] = func(ctx context.Context) error { return n.signal(ctx, n.cfg.Container, n.cfg.Signal) }
	}
}

// Notify runs the notifies of changes and everything still pending, now, and
// returns the failures joined (one-shot mode).
func (n *Notifier) Notify(ctx context.Context, changes []Change) error {
	n.add(changes)
	return n.runPending(ctx)
}

// Trigger marks the notifies of changes pending and wakes the background
// runner (see Run); it never blocks. Trigger(nil) retries what failed.
func (n *Notifier) Trigger(changes []Change) {
	n.add(changes)
	select {
	case n.wake <- struct{}{}:
	default: // a wake-up is already due: the runner will see these too
	}
}

// Run is the background runner of watch mode: after each Trigger it runs
// everything pending, one batch at a time, until ctx ends. Triggers that come
// while a batch runs, or while it waits for Config.Interval to pass since
// the last one started, coalesce into the next batch, so at most one batch
// runs and one waits, however fast renders come.
func (n *Notifier) Run(ctx context.Context) {
	var last time.Time // start of the last batch
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		if wait := nextBatch(last, time.Now(), n.cfg.Interval); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		_ = n.runPending(ctx) // failures are logged and stay pending
	}
}

// nextBatch is how long a batch triggered at now waits when the last one
// started at last (zero: none yet) and batches are at least interval apart.
func nextBatch(last, now time.Time, interval time.Duration) time.Duration {
	if last.IsZero() {
		return 0
	}
	return max(last.Add(interval).Sub(now), 0)
}

// runPending runs every pending notify in key order: each output's command
// and signal by file name, then the global command, then the global signal.
func (n *Notifier) runPending(ctx context.Context) error {
	n.mu.Lock()
	batch := n.pending
	n.pending = map[string]func(context.Context) error{}
	n.mu.Unlock()
	keys := slices.Sorted(maps.Keys(batch))
	var errs []error
	for _, key := range keys {
		err := batch[key](ctx)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		n.mu.Lock()
		if _, again := n.pending[key]; !again {
			n.pending[key] = batch[key]
		}
		n.mu.Unlock()
		msg := "notify failed"
		if n.cfg.Retries {
			msg = "notify failed; will retry after the next render"
		}
		n.cfg.Log.Error(msg, "notify", strings.TrimPrefix(key, "~"), "err", err)
	}
	return errors.Join(errs...)
}

func (n *Notifier) signal(ctx context.Context, container, sig string) error {
	if n.cfg.Signaler == nil {
		return fmt.Errorf("no Docker connection to signal container %s", container)
	}
	if err := n.cfg.Signaler.Signal(ctx, container, sig); err != nil {
		return err
	}
	n.cfg.Log.Info("notified container", "container", container, "signal", sig)
	return nil
}

func (n *Notifier) shell(ctx context.Context, cmd *shell.Command, vars map[string]string) error {
	line, err := cmd.Expand(vars)
	if err != nil {
		return err
	}
	out, err := shell.Run(ctx, line, n.cfg.Timeout)
	if err != nil {
		return err
	}
	n.cfg.Log.Info("notify ran", "command", line, "output", strings.TrimSpace(string(out)))
	return nil
}
