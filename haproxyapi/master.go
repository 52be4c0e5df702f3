package haproxyapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Master speaks to the master CLI of a master-worker HAProxy (the socket of
// "haproxy -W -S PATH"). It opens one connection per command.
type Master struct {
	network, address string
	timeout          time.Duration
	poll             time.Duration
}

// NewMaster returns a client for the master CLI at addr (a socket path,
// "unix@PATH", or "ipv4@HOST:PORT" as given to -S). Nothing is dialled yet.
func NewMaster(addr string) (*Master, error) {
	network, address, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	return &Master{network: network, address: address, timeout: DefaultTimeout, poll: 10 * time.Millisecond}, nil
}

// String returns the socket address, for logs.
func (m *Master) String() string {
	if m.network == "unix" {
		return m.address
	}
	return "tcp@" + m.address
}

// Do runs one raw command on the master CLI and returns its answer without
// trailing line ends. Commands prefixed "@1 " (or "@!PID ") go to a worker.
// The master answers in non-interactive mode and closes only once the
// client has closed its side, so the command is followed by a half-close.
func (m *Master) Do(ctx context.Context, cmd string) (string, error) {
	if err := checkLine(cmd); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, m.network, m.address)
	if err != nil {
		return "", fmt.Errorf("haproxy master CLI %s: %w", m, err)
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(nc, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy master CLI %s: %q: write: %w", m, cmd, err)
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	b, err := io.ReadAll(nc)
	if err != nil {
		err = ctxErr(ctx, err)
		return "", fmt.Errorf("haproxy master CLI %s: %q: %w", m, cmd, err)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// Proc is one process of "show proc".
type Proc struct {
	PID     int
	Type    string // "master", "worker", or a program's name
	Reloads int    // master: reloads so far; worker: reloads it survived
	Uptime  time.Duration
	Version string
}

// Procs is the answer of "show proc".
type Procs struct {
	Master Proc
	// FailedReloads counts failed reloads since the last successful one
	// (HAProxy 2.6 resets it on success).
	FailedReloads int
	Workers       []Proc // current workers (one, with nbproc 1)
	OldWorkers    []Proc // workers of earlier configurations, still finishing
	Programs      []Proc
}

// ShowProc runs "show proc".
func (m *Master) ShowProc(ctx context.Context) (Procs, error) {
	a, err := m.Do(ctx, "show proc")
	if err != nil {
		return Procs{}, err
	}
	if !strings.HasPrefix(a, "#<PID>") {
		return Procs{}, &CommandError{Command: "show proc", Answer: a}
	}
	return ParseProcs(a)
}

// ParseProcs parses a "show proc" answer, e.g.
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	1162            master          5 [failed: 0]   0d00h02m07s     2.6.12-1+deb12u4
//	# workers
//	1271            worker          1               0d00h00m00s     2.6.12-1+deb12u4
//	# old workers
//	1233            worker          3               0d00h00m43s     2.6.12-1+deb12u4
//	# programs
func ParseProcs(answer string) (Procs, error) {
	var p Procs
	section := "master"
	seenMaster := false
	for _, line := range strings.Split(answer, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#<PID>"):
			continue
		case strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		f := strings.Fields(line)
		failed := -1
		// "5 [failed: 0]" in the reloads column of the master.
		if len(f) >= 7 && f[3] == "[failed:" {
			n, err := strconv.Atoi(strings.TrimSuffix(f[4], "]"))
			if err != nil {
				return Procs{}, fmt.Errorf("show proc: bad line %q", line)
			}
			failed = n
			f = append(f[:3], f[5:]...)
		}
		if len(f) < 4 {
			return Procs{}, fmt.Errorf("show proc: bad line %q", line)
		}
		pid, err1 := strconv.Atoi(f[0])
		reloads, err2 := strconv.Atoi(f[2])
		up, err3 := parseUptime(f[3])
		if err := errors.Join(err1, err2, err3); err != nil {
			return Procs{}, fmt.Errorf("show proc: bad line %q: %w", line, err)
		}
		pr := Proc{PID: pid, Type: f[1], Reloads: reloads, Uptime: up}
		if len(f) > 4 {
			pr.Version = f[4]
		}
		switch {
		case section == "master" && pr.Type == "master":
			p.Master, seenMaster = pr, true
			if failed >= 0 {
				p.FailedReloads = failed
			}
		case section == "workers":
			p.Workers = append(p.Workers, pr)
		case section == "old workers":
			p.OldWorkers = append(p.OldWorkers, pr)
		case section == "programs":
			p.Programs = append(p.Programs, pr)
		default:
			return Procs{}, fmt.Errorf("show proc: line %q in unknown section %q", line, section)
		}
	}
	if !seenMaster {
		return Procs{}, fmt.Errorf("show proc: no master line in %q", truncate(answer, 200))
	}
	return p, nil
}

// parseUptime parses "0d00h02m07s".
func parseUptime(s string) (time.Duration, error) {
	var d, h, m, sec int
	if _, err := fmt.Sscanf(s, "%dd%dh%dm%ds", &d, &h, &m, &sec); err != nil {
		return 0, fmt.Errorf("uptime %q: %w", s, err)
	}
	return time.Duration(((d*24+h)*60+m)*60+sec) * time.Second, nil
}

// DefaultReloadWait bounds Reload when its context has no deadline.
const DefaultReloadWait = 30 * time.Second

// ErrReloadFailed means the master tried the new configuration and kept the
// old workers: the configuration did not load.
var ErrReloadFailed = errors.New("haproxy reload failed: the old workers keep serving the previous configuration")

// Reload asks the master to reload ("reload" on the master CLI, the same as
// SIGUSR2) and waits until it knows the outcome: it returns the new process
// list when a new worker runs, an error wrapping ErrReloadFailed when the
// master kept the old worker, or the context's error. HAProxy 2.6 answers
// "reload" with nothing and re-executes the master, whose socket refuses
// connections meanwhile (about 70 ms here), so the outcome is read from
// "show proc": the master's reload count went up, and the current worker is
// a new PID (success) or the old one (failure).
//
// Without a deadline in ctx it waits at most DefaultReloadWait.
func (m *Master) Reload(ctx context.Context) (Procs, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultReloadWait)
		defer cancel()
	}
	var before Procs
	err := m.retry(ctx, func() (err error) { before, err = m.ShowProc(ctx); return err })
	if err != nil {
		return Procs{}, err
	}
	if err := m.retry(ctx, func() error { _, err := m.Do(ctx, "reload"); return err }); err != nil {
		return Procs{}, err
	}
	return m.WaitReload(ctx, before)
}

// retry runs f again while the master's socket refuses connections or is
// missing (the master is starting or re-executing after a reload), until
// ctx ends.
func (m *Master) retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(m.poll):
		}
	}
}

// WaitReload waits until the master shows a reload after before (taken with
// ShowProc before sending SIGUSR2 or "reload") and reports its outcome as
// Reload does. ctx bounds the wait.
func (m *Master) WaitReload(ctx context.Context, before Procs) (Procs, error) {
	oldPIDs := map[int]bool{}
	for _, w := range before.Workers {
		oldPIDs[w.PID] = true
	}
	var lastErr error
	for {
		now, err := m.ShowProc(ctx)
		switch {
		case err != nil:
			lastErr = err // the master is re-executing
		case now.Master.Reloads > before.Master.Reloads:
			if len(now.Workers) > 0 && !slices.ContainsFunc(now.Workers, func(w Proc) bool { return oldPIDs[w.PID] }) {
				return now, nil
			}
			if now.FailedReloads > 0 {
				return now, fmt.Errorf("%w (%d failed in a row; see HAProxy's log)", ErrReloadFailed, now.FailedReloads)
			}
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return Procs{}, fmt.Errorf("waiting for the reload: %w (last: %v)", context.Cause(ctx), lastErr)
			}
			return Procs{}, fmt.Errorf("waiting for the reload: %w", context.Cause(ctx))
		case <-time.After(m.poll):
		}
	}
}
