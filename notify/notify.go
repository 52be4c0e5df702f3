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
// An error wrapping ErrNotRunning means the container exists but is not
// running.
type Signaler interface {
	Signal(ctx context.Context, container, sig string) error
}

// ErrNotRunning marks a signal to a container that is not running, or does
// not exist (yet): there is nothing to reload (the proxy reads the file when
// it starts), so that is logged as a warning, with the reason (which shows a
// misspelled name), and not retried.
var ErrNotRunning = errors.New("container not running")

// Config is what a Notifier runs besides each output's own notifies.
type Config struct {
	// Command is the global notify command, run once after any output
	// changed. It has no variables.
	Command *shell.Command
	// Containers are signalled with Signal once after any output changed.
	Containers []string
	// Signal is the signal for Containers, and the default of a Change's.
	Signal string
	// Confirm, when set, confirms that the proxy took each reload that a
	// signal to Containers asked for; it needs exactly one container.
	Confirm Confirmer
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
	// Confirm, when set, confirms that the proxy took the reload that the
	// signal to Container asked for.
	Confirm Confirmer
}

// Confirmer confirms that a proxy took a reload, for example through
// HAProxy's master CLI: Begin is called just before the signal is sent and
// notes the proxy's state; the function it returns is called just after and
// waits until the proxy reloaded. It returns an error wrapping
// ErrReloadRefused when the proxy refused the new config.
type Confirmer interface {
	Begin(ctx context.Context) (wait func(ctx context.Context) error, err error)
}

// ErrNoReload marks a signal after which the proxy showed no reload at all
// within the time limit: HAProxy's master drops a reload signal that
// arrives while it is still starting or re-executing itself for the
// previous reload. The signal is sent once more at once; after that the
// notify stays pending like any failed one.
var ErrNoReload = errors.New("no reload seen")

// ErrReloadRefused marks a reload the proxy refused (it keeps serving with
// its old config). Signalling again would be refused again, so such a
// notify is not kept pending: the next change notifies anew.
var ErrReloadRefused = errors.New("the proxy refused the reload")

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
			container, sig, confirm := c.Container, c.Signal, c.Confirm
			if sig == "" {
				sig = n.cfg.Signal
			}
			n.pending["output "+c.File+" signal"] = func(ctx context.Context) error { return n.signal(ctx, container, sig, confirm) }
		}
	}
	if len(changes) > 0 && n.cfg.Command != nil {
		n.pending[keyCommand] = func(ctx context.Context) error { return n.shell(ctx, n.cfg.Command, nil) }
	}
	for _, container := range n.cfg.Containers {
		if len(changes) > 0 {
			n.pending[keyContainer+" "+container] = func(ctx context.Context) error {
				return n.signal(ctx, container, n.cfg.Signal, n.cfg.Confirm)
			}
		}
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
		if errors.Is(err, ErrReloadRefused) {
			msg := "the proxy refused the reload and keeps serving its old config"
			if n.cfg.Retries {
				msg += "; the next change reloads it again"
			}
			n.cfg.Log.Error(msg, "notify", strings.TrimPrefix(key, "~"), "err", err)
			continue
		}
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

func (n *Notifier) signal(ctx context.Context, container, sig string, confirm Confirmer) error {
	if n.cfg.Signaler == nil {
		return fmt.Errorf("no Docker connection to signal container %s", container)
	}
	for attempt := 1; ; attempt++ {
		var wait func(context.Context) error
		if confirm != nil {
			w, err := confirm.Begin(ctx)
			if err != nil {
				n.cfg.Log.Warn("cannot confirm the reload: signalling without confirmation", "container", container, "err", err)
			}
			wait = w
		}
		if err := n.cfg.Signaler.Signal(ctx, container, sig); err != nil {
			if errors.Is(err, ErrNotRunning) {
				n.cfg.Log.Warn("notify container not running: nothing to reload; it reads the new file when it starts", "container", container, "signal", sig, "err", err)
				return nil
			}
			return err
		}
		if wait == nil {
			n.cfg.Log.Info("notified container", "container", container, "signal", sig)
			return nil
		}
		err := wait(ctx)
		if err == nil {
			n.cfg.Log.Info("notified container; reload confirmed", "container", container, "signal", sig)
			return nil
		}
		if errors.Is(err, ErrNoReload) && attempt == 1 && ctx.Err() == nil {
			n.cfg.Log.Warn("no reload seen after the signal (dropped while the proxy was busy?): signalling again", "container", container, "signal", sig, "err", err)
			continue
		}
		return fmt.Errorf("signal %s to container %s: %w", sig, container, err)
	}
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
