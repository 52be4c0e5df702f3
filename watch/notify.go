package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/rproxy-gen/rproxy-gen/compile"
)

// Signaler delivers a signal to a container (the Docker source does it).
type Signaler interface {
	Signal(ctx context.Context, container, sig string) error
}

// Notifier runs what must happen after outputs changed: each changed output's
// own notify command and container signal, then the global command once,
// then the signal to the proxy's container once. A notify that fails stays pending and is retried
// the next time Run is called, even if nothing changed then, so the proxy
// ends up with the config on disk.
type Notifier struct {
	// Command is the global notify shell command, run once per change.
	Command string
	// Container and Signal send a signal to a container after a change;
	// Signal is also the default of an output's own NotifySignal.
	Container, Signal string
	// Signaler delivers Container's signal; required when Container is set.
	Signaler Signaler
	// Timeout bounds each command.
	Timeout time.Duration
	Log     *slog.Logger

	pending map[string]func(context.Context) error
}

// Run marks the notifies of changed file outputs (stdout never notifies) pending, runs everything pending
// and returns the failures joined (they stay pending).
func (n *Notifier) Run(ctx context.Context, results []compile.Result) error {
	if n.pending == nil {
		n.pending = map[string]func(context.Context) error{}
	}
	var order []string
	changed := false
	for _, r := range results {
		if r.Err != nil || !r.Changed || r.Output.Dest == "" {
			continue
		}
		changed = true
		if r.Output.Notify != "" {
			cmd, dest := r.Output.Notify, r.Output.Dest
			n.pending["output "+dest] = func(ctx context.Context) error {
				return n.shell(ctx, cmd, map[string]string{"File": dest})
			}
		}
		if r.Output.NotifyContainer != "" {
			c, sig := r.Output.NotifyContainer, r.Output.NotifySignal
			if sig == "" {
				sig = n.Signal
			}
			n.pending["output "+r.Output.Dest+" signal"] = func(ctx context.Context) error { return n.signal(ctx, c, sig) }
		}
	}
	if changed && n.Command != "" {
		cmd := n.Command
		n.pending["command"] = func(ctx context.Context) error { return n.shell(ctx, cmd, nil) }
	}
	if changed && n.Container != "" {
		n.pending["container"] = func(ctx context.Context) error { return n.signal(ctx, n.Container, n.Signal) }
	}
	// Per-output commands first, then the global command, then the container.
	for key := range n.pending {
		if strings.HasPrefix(key, "output ") {
			order = append(order, key)
		}
	}
	slices.Sort(order)
	order = append(order, "command", "container")
	var errs []error
	for _, key := range order {
		f, ok := n.pending[key]
		if !ok {
			continue
		}
		if err := f(ctx); err != nil {
			n.Log.Error("notify failed; will retry on the next change", "notify", key, "err", err)
			errs = append(errs, err)
			continue
		}
		delete(n.pending, key)
	}
	return errors.Join(errs...)
}

func (n *Notifier) signal(ctx context.Context, container, sig string) error {
	if n.Signaler == nil {
		return fmt.Errorf("no Docker connection to signal container %s", container)
	}
	if err := n.Signaler.Signal(ctx, container, sig); err != nil {
		return err
	}
	n.Log.Info("notified container", "container", container, "signal", sig)
	return nil
}

// Pending reports whether a failed notify waits for a retry.
func (n *Notifier) Pending() bool { return len(n.pending) > 0 }

func (n *Notifier) shell(ctx context.Context, command string, vars map[string]string) error {
	cmd, err := compile.ExpandCommand(command, vars)
	if err != nil {
		return err
	}
	out, err := compile.RunShell(ctx, cmd, n.Timeout)
	if err != nil {
		return err
	}
	n.Log.Info("notify ran", "command", cmd, "output", strings.TrimSpace(string(out)))
	return nil
}
