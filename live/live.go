// Package live applies a rendered HAProxy output to the running HAProxy
// over its Runtime API (the stats socket), without a reload, when the change
// allows it: servers of existing backends added, removed or moved to another
// address, and entries of the map files the config looks up. Anything else
// (a new port or backend, other settings, certificates, a template change)
// needs a reload, and so does any failure of the socket or of a command, so
// that HAProxy never runs anything but what the files on disk say. A new
// backend is served through a spare backend of the config until its reload
// (see bridge.go).
//
// The files stay the single source of truth: the pipeline installs them
// first, then asks an Applier to apply them live, and notifies (reloads)
// the proxy when the Applier says it cannot. Before such a reload the
// Applier writes HAProxy's server states to the server-state file, so that
// health and drain states survive it.
//
// A removed server is drained in the background: it takes no new requests
// at once, and it is deleted when its last session ends or after
// Config.DrainTimeout (its sessions are then cut), so a slow client never
// holds back the next render. The next render cannot race with it: every
// socket operation of an Applier runs under one lock, and a server that
// comes back while draining is simply put back into service.
//
// After a reload, the Applier waits for HAProxy's new worker and brings it
// to the current files (a render applied live while the reload was under
// way could be missing from it). Until the new worker answers, changes go
// through reloads.
package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// Conn is one connection to HAProxy's Runtime API: the typed commands, raw
// commands (for the state dump) and Close. A *haproxyapi.Session is one.
type Conn interface {
	haproxyapi.Runtime
	Do(ctx context.Context, cmd string) (string, error)
	Close() error
}

// Dialer opens a Conn.
type Dialer func(ctx context.Context) (Conn, error)

// SocketDialer returns a Dialer that opens a session on HAProxy's stats
// socket at addr (a path, or any address haproxyapi.New takes), each command
// bounded by timeout.
func SocketDialer(addr string, timeout time.Duration) (Dialer, error) {
	c, err := haproxyapi.New(addr, haproxyapi.WithTimeout(timeout))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (Conn, error) {
		s, err := c.Session(ctx)
		if err != nil {
			return nil, err
		}
		return s, nil
	}, nil
}

// Defaults of Config.
const (
	DefaultDrainTimeout = 30 * time.Second
	DefaultPoll         = 100 * time.Millisecond
	DefaultReloadWait   = time.Minute
	DefaultTimeout      = 5 * time.Second
	// settle is how long new workers are looked for after one took over
	// (two reloads may be under way at once).
	settle = 2 * time.Second
	// delRetries bounds the attempts to delete a drained server that still
	// has connections after its sessions were cut.
	delRetries = 50
)

// Config is what an Applier needs.
type Config struct {
	// Dial opens a connection to the Runtime API (see SocketDialer).
	Dial Dialer
	// Dest is the output's config file. The files there when New runs are
	// taken as what HAProxy runs, as they are when nothing changed.
	Dest string
	// StateFile is where server states are written before a reload; empty
	// for none.
	StateFile string
	// DrainTimeout bounds how long a removed server keeps its sessions.
	DrainTimeout time.Duration
	// Poll is how often drains and a pending reload are looked at.
	Poll time.Duration
	// ReloadWait bounds how long the new worker of a reload is waited for;
	// changes go through reloads until it answers.
	ReloadWait time.Duration
	// Timeout bounds one apply, state dump or background step.
	Timeout time.Duration
	// Reload asks for a reload of the output from the background, when a
	// new worker cannot be brought to the current files live; nil: the
	// problem is only logged.
	Reload func()
	Log    *slog.Logger
}

// Applier applies one output's renders to its HAProxy. Its methods are safe
// for concurrent use; its background work stops with Close.
type Applier struct {
	cfg Config
	mu  sync.Mutex
	// cur is the last render installed: what HAProxy runs, or will once a
	// pending reload took effect. nil when unknown.
	cur *files
	// applied is what the worker that answers runs, as files: the render it
	// loaded with the changes applied live since, bridged routes in their
	// spares; appliedPid is that worker's PID (0: the first that answers).
	applied    *files
	appliedPid int
	// bridges maps each backend that applied lacks to the spare serving its
	// route until the reload (see bridge.go).
	bridges map[string]string
	// loadable are the renders installed since a reload was asked, oldest
	// first: the reload's new worker loaded one of them.
	loadable []*files
	// verified is the PID of the worker last brought to cur in full.
	verified int
	// lastPid is the PID of the worker that last answered.
	lastPid int
	pending pendingReload
	// watchUntil: look for new workers (and bring them to cur) until then.
	watchUntil time.Time
	drains     map[ref]*drain
	// parsed is the last render Unchecked parsed, for Apply to reuse.
	parsed struct {
		r *render.Rendered
		f *files
	}
	stop, done chan struct{}
	closeOnce  sync.Once
}

// pendingReload is a reload asked for and not yet seen to take effect.
type pendingReload struct {
	armed, warned bool
	// pid is the worker's PID before the reload (0: unknown, then the new
	// worker is told by its start time).
	pid int
	at  time.Time
}

// drain is a removed server on its way out.
type drain struct {
	deadline time.Time
	attempts int
}

// New returns an Applier and starts its background work. It reads the
// output's files on disk as the state HAProxy runs.
func New(cfg Config) (*Applier, error) {
	if cfg.Dial == nil {
		return nil, errors.New("live: no Runtime API dialer")
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.ReloadWait <= 0 {
		cfg.ReloadWait = DefaultReloadWait
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &Applier{cfg: cfg, drains: map[ref]*drain{}, stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.StateFile != "" {
		// What a kill during an earlier state write left behind.
		if _, err := install.RemoveStale(cfg.StateFile); err != nil {
			cfg.Log.Warn("stale staging directories of the server-state file not removed", "file", cfg.StateFile, "err", err)
		}
	}
	if cfg.Dest != "" {
		a.cur = readDisk(cfg.Dest)
		a.applied = a.cur
	}
	go a.loop()
	return a, nil
}

// readDisk reads an output's config and the files beside it that belong to
// it (STEM.*) as a render; nil when the config cannot be read.
func readDisk(dest string) *files {
	main, err := os.ReadFile(dest)
	if err != nil {
		return nil
	}
	r := &render.Rendered{Main: main}
	dir, stem := filepath.Dir(dest), render.Stem(dest)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || name == filepath.Base(dest) || !strings.HasPrefix(name, stem+".") {
			continue
		}
		if info, err := e.Info(); err != nil || info.Size() > 64<<20 {
			continue
		}
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			r.Files = append(r.Files, render.AuxFile{Name: name, Data: data})
		}
	}
	f := newFiles(r)
	f.fromDisk = true
	return f
}

// Current tells the Applier that r is what is installed and nothing
// changed; it becomes the known state when none was.
func (a *Applier) Current(r *render.Rendered) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur == nil || a.cur.fromDisk {
		a.cur = newFiles(r)
	}
	if a.applied == nil || a.applied.fromDisk {
		a.applied = a.cur
	}
}

// loadableMax bounds Applier.loadable.
const loadableMax = 8

// remember adds f to the renders a reload's new worker may have loaded.
func (a *Applier) remember(f *files) {
	if n := len(a.loadable); n > 0 && a.loadable[n-1] == f {
		return
	}
	if len(a.loadable) == loadableMax {
		a.loadable = slices.Delete(a.loadable, 0, 1)
	}
	a.loadable = append(a.loadable, f)
}

// parse returns r's files, parsed once for Unchecked and Apply.
func (a *Applier) parse(r *render.Rendered) *files {
	if a.parsed.r == r {
		return a.parsed.f
	}
	f := newFiles(r)
	a.parsed.r, a.parsed.f = r, f
	return f
}

// Unchecked reports whether r may be installed without the output's check
// command: it differs from the current files only in
//   - server lines whose settings a server line of the current config
//     already has (server names and addresses come from the validated
//     model): the common replica change;
//   - new backend sections configured exactly like a spare backend of the
//     current config (a new route, served through a spare until the
//     reload), with such server lines and a plain name;
//   - entries of map files that the config only matches as strings, in
//     plain "KEY VALUE" lines, which HAProxy loads whatever they hold.
//
// So it holds nothing the check has not passed, and skipping the check
// (tens to hundreds of milliseconds for HAProxy, under load) is what lets
// such a change be served within milliseconds. Anything else is checked.
func (a *Applier) Unchecked(r *render.Rendered) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.cur
	if cur == nil || cur.fromDisk {
		return false // nothing known
	}
	next := a.parse(r)
	if len(next.cfg.order) != len(next.cfg.backends) {
		return false // a section name twice
	}
	spares := map[string]bool{}
	for _, b := range cur.cfg.backends {
		if b.spare {
			spares[b.body] = true
		}
	}
	fresh := map[string]bool{}
	for name, b := range next.cfg.backends {
		if cur.cfg.backends[name] == nil {
			if !b.dynamic || b.spare || !spares[b.body] || !proxyName(name) {
				return false
			}
			fresh[name] = true
		}
	}
	skeleton := next.cfg.skeleton
	if len(fresh) > 0 {
		skeleton = next.cfg.skeletonWithout(fresh)
	}
	if _, equal := firstDiff(cur.cfg.skeleton, skeleton); !equal || len(cur.aux) != len(next.aux) {
		return false
	}
	for name, data := range next.aux {
		old, ok := cur.aux[name]
		switch {
		case !ok:
			return false
		case bytes.Equal(old, data):
		case !cur.cfg.anyText[name] || !next.cfg.anyText[name] || !plainLines(data):
			return false
		}
	}
	known := map[string]bool{}
	for _, b := range cur.cfg.backends {
		for _, s := range b.servers {
			known[s.options] = true
		}
	}
	for name, b := range next.cfg.backends {
		old := cur.cfg.backends[name] // nil for a new one
		for n, s := range b.servers {
			if old != nil {
				if o, ok := old.servers[n]; ok && o.options == s.options {
					continue
				}
			}
			if !known[s.options] {
				return false
			}
		}
	}
	return true
}

// proxyName reports whether name is a valid HAProxy section name: letters,
// digits and "-_.:".
func proxyName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0) {
			return false
		}
	}
	return name != ""
}

// plainLines reports whether every line of data is blank, a comment, or
// plain (see plain).
func plainLines(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if t := strings.TrimSpace(line); t != "" && t[0] != '#' && !plain(t) {
			return false
		}
	}
	return true
}

// Result is what Apply did.
type Result struct {
	// Changes sums up the servers and maps applied ("nothing" when the
	// files differ only in what HAProxy does not see).
	Changes string
	// Reload, when not empty, says why the render still needs a reload
	// although Apply applied what it could: it has backends HAProxy lacks.
	// The caller then notifies the proxy and calls Reload, as after an
	// error.
	Reload string
	// Bridged counts the routes this Apply began to serve through spare
	// backends until that reload.
	Bridged int
}

// Apply brings HAProxy to r, which was just installed, over the Runtime
// API. It returns an error, saying why, when that needs a reload instead
// (the caller then notifies the proxy and calls Reload): a change beyond
// servers, map entries and new backends, the socket out of reach, or a
// command HAProxy refused (what was applied until then is harmless: the
// reload loads the files). New backends need a reload too (Result.Reload):
// until it, their routes are served through spare backends when the
// config has some (see bridge.go). While a reload is under way, changes go
// to the worker that answers, and the reload's new worker is brought to
// the files when it answers.
func (a *Applier) Apply(ctx context.Context, r *render.Rendered) (Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	next := a.parse(r)
	a.cur = next
	if a.pending.armed {
		a.remember(next)
	}
	if a.applied == nil && !a.pending.armed {
		return Result{}, reload("what HAProxy runs is not known (no earlier config on disk)")
	}
	var st *step
	if !a.pending.armed { // the worker runs applied: HAProxy need not be asked
		var err error
		if st, err = a.plan(next); err != nil {
			return Result{}, err
		}
		if len(st.fresh) == 0 && st.p.empty() {
			a.applied = st.eff
			return Result{Changes: st.p.String()}, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	conn, err := a.cfg.Dial(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("runtime API: %w", err)
	}
	defer conn.Close()
	info, err := a.info(ctx, conn)
	if err != nil {
		return Result{}, fmt.Errorf("runtime API: %w", err)
	}
	if info.Stopping {
		return Result{}, reload("the socket reached an old worker that is stopping")
	}
	if a.pending.armed {
		switch {
		case a.pending.took(info):
			a.tookEffect()
		case a.applied == nil:
			return Result{}, reload("the reload asked %s ago has not taken effect yet (worker PID %d), and what the worker runs is not known",
				time.Since(a.pending.at).Round(time.Millisecond), info.Pid)
		}
	}
	a.adopt(ctx, conn, info)
	if st == nil || st.base != a.applied { // none yet, or made for another worker
		var err error
		if st, err = a.plan(next); err != nil {
			return Result{}, err
		}
	}
	return a.bring(ctx, conn, info, st)
}

// step is what takes the worker that answers to a render: the render as
// that worker can hold it (see onto), the bridges that takes, the backends
// the worker lacks, and the plan.
type step struct {
	base, eff *files // base: applied when the step was made
	bridges   map[string]string
	fresh     []string
	p         *plan
}

// plan returns the step to next from applied; an error when only a reload
// can take the worker there.
func (a *Applier) plan(next *files) (*step, error) {
	st := &step{base: a.applied}
	st.bridges, st.fresh = assign(a.applied, next, a.bridges)
	st.eff = onto(a.applied, next, st.bridges, st.fresh)
	var err error
	st.p, err = decide(a.applied, st.eff)
	return st, err
}

// bring applies step st (made from applied) to the worker that answers
// (info): in full when it was not brought to the files before.
func (a *Applier) bring(ctx context.Context, conn Conn, info haproxyapi.Info, st *step) (Result, error) {
	eff, bridges, fresh, p := st.eff, st.bridges, st.fresh, st.p
	full := info.Pid != a.verified
	if full || !p.empty() {
		if err := a.converge(ctx, conn, eff, p, full); err != nil {
			a.verified = 0 // partly applied: the next apply looks at everything
			return Result{}, err
		}
	}
	res := Result{Changes: p.String()}
	for n, s := range bridges {
		if a.bridges[n] != s {
			res.Bridged++
		}
	}
	if len(fresh) > 0 {
		res.Reload = fmt.Sprintf("%d new backends (%d served through spare backends until the reload)", len(fresh), len(bridges))
	}
	a.applied, a.bridges, a.verified = eff, bridges, info.Pid
	return res, nil
}

// adopt makes applied describe the worker that answers. A worker other
// than the one it describes is a new one, which loaded one of the renders
// installed since a reload was asked: the newest with the worker's
// backends, else the current one.
func (a *Applier) adopt(ctx context.Context, conn Conn, info haproxyapi.Info) {
	if a.applied != nil && (a.appliedPid == 0 || a.appliedPid == info.Pid) {
		a.appliedPid = info.Pid
		return
	}
	loaded := a.cur
	if len(a.loadable) > 0 {
		if names, err := conn.ShowBackends(ctx); err == nil {
			for i := len(a.loadable) - 1; i >= 0; i-- {
				if sameBackends(a.loadable[i], names) {
					loaded = a.loadable[i]
					break
				}
			}
		}
	}
	a.applied, a.appliedPid, a.bridges, a.loadable = loaded, info.Pid, nil, nil
	if loaded != a.cur { // a later reload loads the current files
		a.loadable = []*files{a.cur}
	}
	a.cfg.Log.Debug("new worker", "file", a.cfg.Dest, "worker_pid", info.Pid, "runs_current_files", loaded == a.cur)
}

// Structural reports whether err, from Apply, says the change itself needs
// a reload (or a reload is under way), rather than that applying it failed.
func Structural(err error) bool {
	var r *errReload
	return errors.As(err, &r)
}

// took reports whether the reload took effect: the worker answering is not
// the one that answered before it.
func (p pendingReload) took(info haproxyapi.Info) bool {
	if p.pid != 0 {
		return info.Pid != p.pid
	}
	start, err := strconv.ParseInt(info.Fields["Start_time_sec"], 10, 64)
	return err == nil && start > p.at.Unix() // whole seconds: started surely after
}

// tookEffect records that the pending reload took effect, and keeps
// looking for newer workers for a while.
func (a *Applier) tookEffect() {
	a.pending = pendingReload{}
	a.watchUntil = time.Now().Add(settle)
}

// Reload tells the Applier that the output is being reloaded with r
// installed. It writes the server states for the new worker (only of
// servers whose address did not change), and looks for the new worker to
// bring it to the current files. Failures are logged: a reload goes on
// without states (the state file is removed rather than left stale).
func (a *Applier) Reload(ctx context.Context, r *render.Rendered) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cur = a.parse(r)
	a.remember(a.cur)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	a.reloadLocked(ctx, nil)
}

// reloadLocked dumps the states (over conn, or a new connection when nil)
// and arms the wait for the new worker.
func (a *Applier) reloadLocked(ctx context.Context, conn Conn) {
	pid := 0
	if conn == nil {
		c, err := a.cfg.Dial(ctx)
		if err != nil {
			a.cfg.Log.Warn("runtime API unreachable before a reload: server states are not kept", "file", a.cfg.Dest, "err", err)
			a.removeState()
			a.arm(0)
			return
		}
		defer c.Close()
		conn = c
	}
	if info, err := a.info(ctx, conn); err == nil {
		pid = info.Pid
	}
	if a.cfg.StateFile != "" {
		if kept, dropped, err := a.writeState(ctx, conn); err != nil {
			a.cfg.Log.Warn("server states not written before the reload", "file", a.cfg.StateFile, "err", err)
			a.removeState()
		} else {
			a.cfg.Log.Debug("server states written for the reload", "file", a.cfg.StateFile, "kept", kept, "dropped", dropped)
		}
	}
	a.arm(pid)
}

// info runs "show info" and remembers the worker's PID.
func (a *Applier) info(ctx context.Context, conn Conn) (haproxyapi.Info, error) {
	i, err := conn.ShowInfo(ctx)
	if err == nil && !i.Stopping {
		a.lastPid = i.Pid
	}
	return i, err
}

// arm starts waiting for the worker that replaces the one with PID pid
// (0: unreachable now, then the last worker that answered).
func (a *Applier) arm(pid int) {
	if pid == 0 {
		pid = a.lastPid
	}
	a.pending = pendingReload{armed: true, pid: pid, at: time.Now()}
	a.watchUntil = a.pending.at.Add(a.cfg.ReloadWait)
}

// converge makes HAProxy's servers and maps those of want: in full, or
// only the backends and maps the plan touches. Servers are added and moved
// first, then maps are replaced, then removed servers start draining.
func (a *Applier) converge(ctx context.Context, conn Conn, want *files, p *plan, full bool) error {
	scope, maps := p.touched, p.maps
	var states []haproxyapi.ServerState
	var err error
	if full || len(scope) > 20 {
		states, err = conn.ShowServersState(ctx, "")
		if full {
			scope = want.cfg.order
			maps = nil
			for name := range want.aux {
				if _, ok := want.cfg.maps[name]; ok {
					maps = append(maps, name)
				}
			}
			slices.Sort(maps)
		}
	} else {
		for _, b := range scope {
			var s []haproxyapi.ServerState
			if s, err = conn.ShowServersState(ctx, b); err != nil {
				break
			}
			states = append(states, s...)
		}
	}
	if err != nil {
		return fmt.Errorf("runtime API: %w", err)
	}
	live := map[string]map[string]haproxyapi.ServerState{}
	for _, s := range states {
		if live[s.Backend] == nil {
			live[s.Backend] = map[string]haproxyapi.ServerState{}
		}
		live[s.Backend][s.Name] = s
	}
	var removed []ref
	for _, bn := range scope {
		b := want.cfg.backends[bn]
		if b == nil {
			continue
		}
		for _, s := range sortedServers(b) {
			r := ref{bn, s.name}
			l, ok := live[bn][s.name]
			if d := a.drains[r]; d != nil {
				delete(a.drains, r) // it came back: into service again
				if ok && (l.Maint() || l.Drain()) {
					if err := conn.SetServerState(ctx, bn, s.name, haproxyapi.StateReady); err != nil {
						return err
					}
				}
			}
			switch {
			case !ok:
				if err := a.add(ctx, conn, b, s); err != nil {
					return err
				}
			case !sameAddr(l, s.addr):
				if err := conn.SetServerAddr(ctx, bn, s.name, s.addr.Addr().String(), int(s.addr.Port())); err != nil {
					return err
				}
			}
		}
		for _, name := range sortedNames(live[bn]) {
			if _, ok := b.servers[name]; !ok && a.drains[ref{bn, name}] == nil {
				removed = append(removed, ref{bn, name})
			}
		}
	}
	for _, name := range maps {
		if err := replaceMap(ctx, conn, want, name, full); err != nil {
			return err
		}
	}
	for _, r := range removed {
		if err := conn.SetServerState(ctx, r.backend, r.server, haproxyapi.StateDrain); err != nil {
			return err
		}
		a.drains[r] = &drain{deadline: time.Now().Add(a.cfg.DrainTimeout)}
	}
	return nil
}

// add adds server s to backend b with the settings of its line, starts its
// health checks and puts it into service.
func (a *Applier) add(ctx context.Context, conn Conn, b *backend, s server) error {
	r := ref{b.name, s.name}
	switch {
	case !b.dynamic:
		return reload("server %s is missing and backend %s cannot take servers at run time: %s", r, b.name, b.why)
	case s.refused != "":
		return reload("server %s is missing and has %q, which HAProxy refuses for servers added at run time", r, s.refused)
	}
	if err := conn.AddServer(ctx, b.name, s.name, s.addr.String(), s.options); err != nil {
		return err
	}
	opts := strings.Fields(s.options)
	if slices.Contains(opts, "check") {
		if err := conn.EnableHealth(ctx, b.name, s.name); err != nil {
			return err
		}
	}
	if slices.Contains(opts, "agent-check") {
		if err := conn.EnableAgent(ctx, b.name, s.name); err != nil {
			return err
		}
	}
	if slices.Contains(opts, "disabled") {
		return nil
	}
	return conn.EnableServer(ctx, b.name, s.name)
}

// replaceMap makes the map's entries those of its file in f, in one
// transaction; with check, only when they differ from HAProxy's.
func replaceMap(ctx context.Context, conn Conn, f *files, auxName string, check bool) error {
	name := f.cfg.maps[auxName]
	want := parseMap(f.aux[auxName])
	if check {
		entries, err := conn.ShowMap(ctx, name)
		if err != nil {
			return err
		}
		have := mapFile{}
		for _, e := range entries {
			have[e.Key] = e.Value
		}
		if have.equal(want) {
			return nil
		}
	}
	return haproxyapi.ReplaceMap(ctx, conn, name, want.entries())
}

// sameAddr reports whether a live server has the address of its line.
func sameAddr(l haproxyapi.ServerState, ap netip.AddrPort) bool {
	ip, err := netip.ParseAddr(l.Addr)
	return err == nil && ip.Unmap() == ap.Addr().Unmap() && l.Port == int(ap.Port())
}

func sortedNames(m map[string]haproxyapi.ServerState) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Close waits for the drains under way to end, at most until ctx ends, and
// stops the background work. Drains still under way then stay as they are
// (their servers take no new requests; the next reload removes them).
func (a *Applier) Close(ctx context.Context) {
	for n := len(a.Draining()); n > 0; n = len(a.Draining()) {
		if ctx.Err() != nil {
			a.cfg.Log.Warn("drains left under way", "file", a.cfg.Dest, "servers", n)
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(a.cfg.Poll):
		}
	}
	a.closeOnce.Do(func() { close(a.stop) })
	<-a.done
}

// Draining lists the servers being drained, as "BACKEND/SERVER", sorted.
func (a *Applier) Draining() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.drains))
	for r := range a.drains {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// loop runs the background work every Poll until Close.
func (a *Applier) loop() {
	defer close(a.done)
	t := time.NewTicker(a.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.step()
		}
	}
}

// step moves the drains on and looks for a reload's new worker.
func (a *Applier) step() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	watching := !now.After(a.watchUntil)
	if p := &a.pending; p.armed && !p.warned && !watching {
		p.warned = true
		a.cfg.Log.Warn("the reload has not taken effect; changes go through reloads until it does",
			"file", a.cfg.Dest, "asked", p.at.Format(time.RFC3339), "worker_pid", p.pid)
	}
	if len(a.drains) == 0 && !watching {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
	defer cancel()
	conn, err := a.cfg.Dial(ctx)
	if err != nil {
		a.cfg.Log.Debug("runtime API unreachable", "file", a.cfg.Dest, "err", err)
		return
	}
	defer conn.Close()
	if watching {
		a.watchWorker(ctx, conn, now)
	}
	a.drainStep(ctx, conn, now)
}

// watchWorker looks for the worker a reload started and brings it to the
// current files.
func (a *Applier) watchWorker(ctx context.Context, conn Conn, now time.Time) {
	info, err := a.info(ctx, conn)
	if err != nil || info.Stopping {
		return
	}
	if a.pending.armed {
		if !a.pending.took(info) {
			return
		}
		a.tookEffect()
		a.cfg.Log.Debug("reload took effect", "file", a.cfg.Dest, "worker_pid", info.Pid)
	}
	if info.Pid == a.verified || a.cur == nil {
		return
	}
	a.adopt(ctx, conn, info)
	st, err := a.plan(a.cur)
	var res Result
	if err == nil {
		res, err = a.bring(ctx, conn, info, st)
	}
	switch {
	case err != nil:
		a.cfg.Log.Error("the new worker does not run the current files and cannot be brought to them live; reloading",
			"file", a.cfg.Dest, "err", err)
	case res.Reload != "":
		// It loaded an earlier render; the reload asked for the current one
		// is coalesced with this.
		a.cfg.Log.Debug("the new worker runs an earlier render; reloading again", "file", a.cfg.Dest, "reason", res.Reload)
	default:
		a.watchUntil = now.Add(settle)
		return
	}
	a.reloadLocked(ctx, conn)
	if a.cfg.Reload != nil {
		a.cfg.Reload()
	}
}

// drainStep deletes the drained servers whose sessions ended, and cuts the
// sessions of those past their deadline.
func (a *Applier) drainStep(ctx context.Context, conn Conn, now time.Time) {
	byBackend := map[string][]ref{}
	for r := range a.drains {
		byBackend[r.backend] = append(byBackend[r.backend], r)
	}
	for bn, refs := range byBackend {
		sessions, err := busy(ctx, conn, bn)
		var ce *haproxyapi.CommandError
		if errors.As(err, &ce) { // the backend is gone (a reload)
			for _, r := range refs {
				delete(a.drains, r)
			}
			continue
		}
		if err != nil {
			a.cfg.Log.Debug("drain: sessions unknown", "backend", bn, "err", err)
			continue
		}
		for _, r := range refs {
			d := a.drains[r]
			n, ok := sessions[r.server]
			if !ok { // gone (a reload)
				delete(a.drains, r)
				continue
			}
			if n > 0 && now.Before(d.deadline) {
				continue
			}
			if err := a.remove(ctx, conn, r, n); err != nil {
				d.attempts++
				if d.attempts >= delRetries {
					a.cfg.Log.Warn("drained server not deleted; it stays in maintenance until the next reload", "server", r.String(), "err", err)
					delete(a.drains, r)
				}
				continue
			}
			delete(a.drains, r)
			a.cfg.Log.Info("drained server removed", "file", a.cfg.Dest, "server", r.String(), "sessions_cut", n)
		}
	}
}

// busy returns, by server of backend, what still holds the server: its
// sessions, the requests queued for it, and its connections in use (a
// request still connecting to a server that died is counted there, not in
// its sessions). A server is put into maintenance and deleted only when
// none is left (or its drain time is over): a request in flight to it then
// ends the usual way (answered, or retried on another server), which
// HAProxy 2.6 does not always do for a server taken away under it.
func busy(ctx context.Context, conn Conn, backend string) (map[string]int, error) {
	stats, err := conn.ShowStat(ctx, backend)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range stats {
		if s.Type == haproxyapi.StatServer && s.Proxy == backend {
			used, _ := strconv.Atoi(s.Fields["used_conn_cur"])
			out[s.Name] = s.SCur + s.QCur + used
		}
	}
	return out, nil
}

// remove cuts the server's sessions when it has any, puts it into
// maintenance and deletes it.
func (a *Applier) remove(ctx context.Context, conn Conn, r ref, sessions int) error {
	if sessions > 0 {
		if err := conn.ShutdownSessions(ctx, r.backend, r.server); err != nil {
			return err
		}
	}
	if err := conn.SetServerState(ctx, r.backend, r.server, haproxyapi.StateMaint); err != nil {
		return err
	}
	return conn.DelServer(ctx, r.backend, r.server)
}
