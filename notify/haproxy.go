package notify

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
)

// MasterConfirmer is a Confirmer for a master-worker HAProxy (haproxy -W,
// as in the official image): it reads "show proc" on the master CLI socket
// (haproxy -S PATH) before the reload signal, and afterwards waits until
// the master shows a new reload: a new worker means HAProxy took it; the
// old worker still current with a failed reload counted means HAProxy
// refused it (ErrReloadRefused), and Reason, when set, tells why; no new
// reload within Timeout is ErrNoReload.
type MasterConfirmer struct {
	// Master is the master CLI.
	Master *haproxyapi.Master
	// Reason returns HAProxy's reason for a refused reload logged since the
	// given time (the proxy container's [ALERT] lines); may be nil.
	Reason func(ctx context.Context, since time.Time) (string, error)
	// Timeout bounds the wait for the reload.
	Timeout time.Duration
}

// Begin reads the processes before the reload; the returned function
// waits for the reload's outcome.
func (c *MasterConfirmer) Begin(ctx context.Context) (func(context.Context) error, error) {
	// The master refuses (or resets) connections, or its socket is missing,
	// for a moment while it starts or re-executes itself for a reload (about
	// 70 ms on HAProxy 2.6); a master that is not there at all costs a
	// second here.
	var before haproxyapi.Procs
	var err error
	for deadline := time.Now().Add(time.Second); ; {
		before, err = c.Master.ShowProc(ctx)
		busy := errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ENOENT)
		if err == nil || !busy || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	start := time.Now()
	return func(ctx context.Context) error {
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = haproxyapi.DefaultReloadWait
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		now, err := c.Master.WaitReload(ctx, before)
		if errors.Is(err, haproxyapi.ErrReloadFailed) {
			reason := "see HAProxy's log"
			if c.Reason != nil {
				// The master logs its reason just before it counts the
				// failure; give the log a moment to arrive.
				for range 10 {
					if r, err := c.Reason(ctx, start); err == nil && r != "" {
						reason = r
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			return fmt.Errorf("%w (%d failed in a row; the old worker %s keeps serving): %s",
				ErrReloadRefused, now.FailedReloads, workers(now), reason)
		}
		if err != nil {
			return fmt.Errorf("HAProxy's master %s: %w: %w", c.Master, ErrNoReload, err)
		}
		return nil
	}, nil
}

// workers lists the PIDs of the current workers.
func workers(p haproxyapi.Procs) string {
	s := ""
	for i, w := range p.Workers {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(w.PID)
	}
	return s
}
