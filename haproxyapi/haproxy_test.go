package haproxyapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// Tests against a real HAProxy 2.6 (skipped under -short; under CI=true a
// missing haproxy fails them). Backends are in-process HTTP servers on
// 127.0.0.1, every port is free-picked, and traffic goes through HAProxy.

// serversConfig: be_a (roundrobin) with s1, be_src (balance source) with s1.
func serversConfig(dir, front string, s1 *testBackend) string {
	return globalSection(dir) + defaultsSection + fmt.Sprintf(`
frontend http
    bind %s
    use_backend be_src if { path_beg /src }
    default_backend be_a

backend be_a
    balance roundrobin
    server s1 %s

backend be_src
    balance source
    server s1 %s
`, front, s1.addr(), s1.addr())
}

func TestDynamicServers(t *testing.T) {
	s1, d1 := newBackend(t, "s1"), newBackend(t, "d1")
	front := freeAddr(t)
	dir := t.TempDir()
	in := startHAProxy(t, dir, serversConfig(dir, front, s1), nil)
	ctx := context.Background()
	rt := in.client

	// A config server gets "check" from default-server; a dynamic one does not.
	if st := serverState(t, rt, "be_a", "s1"); !st.ChecksEnabled() || !st.Up() {
		t.Fatalf("config server s1 = %+v, want up with checks", st)
	}
	if err := rt.AddServer(ctx, "be_a", "bare", d1.addr(), ""); err != nil {
		t.Fatal(err)
	}
	if st := serverState(t, rt, "be_a", "bare"); st.CheckState != 0 || !st.Maint() {
		t.Errorf("dynamic server without options = %+v, want no check (default-server not inherited), in maintenance", st)
	}

	// Added with the default-server settings: in maintenance, checks off.
	if err := rt.AddServer(ctx, "be_a", "d1", d1.addr(), "check inter 2s fall 3 rise 2"); err != nil {
		t.Fatal(err)
	}
	st := serverState(t, rt, "be_a", "d1")
	if !st.Maint() || st.Up() || st.ChecksEnabled() || st.CheckState != 2 {
		t.Fatalf("new dynamic server = %+v, want maintenance, check configured but not enabled", st)
	}
	if got := hits(t, front, "x", "/", 6); got["s1"] != 6 {
		t.Fatalf("before enable: %v, want only s1", got)
	}
	if err := rt.EnableHealth(ctx, "be_a", "d1"); err != nil {
		t.Fatal(err)
	}
	if err := rt.EnableServer(ctx, "be_a", "d1"); err != nil {
		t.Fatal(err)
	}
	if st := serverState(t, rt, "be_a", "d1"); !st.Up() || !st.ChecksEnabled() {
		t.Fatalf("after enable = %+v, want up with checks", st)
	}
	if got := hits(t, front, "x", "/", 6); got["s1"] != 3 || got["d1"] != 3 {
		t.Fatalf("after enable: %v, want s1 and d1 in turn", got)
	}

	// Refusals, each quoting HAProxy.
	refusals := []struct {
		name string
		call func() error
		want string
	}{
		{"static algorithm", func() error { return rt.AddServer(ctx, "be_src", "d1", d1.addr(), "") }, "Backend must use a dynamic load balancing to support dynamic servers."},
		{"duplicate", func() error { return rt.AddServer(ctx, "be_a", "d1", d1.addr(), "") }, "Already exists a server with the same name in backend."},
		{"cookie", func() error { return rt.AddServer(ctx, "be_a", "c1", d1.addr(), "cookie c1") }, "'cookie' option is not accepted for dynamic server"},
		{"no backend", func() error { return rt.AddServer(ctx, "nope", "c1", d1.addr(), "") }, "No such backend."},
		{"health without check", func() error { return rt.EnableHealth(ctx, "be_a", "bare") }, "Health check was not configured on this server, cannot enable."},
		{"agent without agent-check", func() error { return rt.EnableAgent(ctx, "be_a", "d1") }, "Agent was not configured on this server, cannot enable."},
		{"no server", func() error { return rt.EnableServer(ctx, "be_a", "nope") }, "No such server."},
		{"delete while up", func() error { return rt.DelServer(ctx, "be_a", "d1") }, "Only servers in maintenance mode can be deleted."},
	}
	for _, r := range refusals {
		err := r.call()
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Answer != r.want {
			t.Errorf("%s: err = %v, want CommandError %q", r.name, err, r.want)
		}
	}

	// Drain: no new traffic, still deletable only from maintenance.
	if err := rt.SetServerState(ctx, "be_a", "d1", StateDrain); err != nil {
		t.Fatal(err)
	}
	if st := serverState(t, rt, "be_a", "d1"); !st.Drain() || st.Maint() {
		t.Errorf("after drain = %+v", st)
	}
	if got := hits(t, front, "x", "/", 4); got["s1"] != 4 {
		t.Fatalf("draining: %v, want only s1", got)
	}
	if err := rt.DelServer(ctx, "be_a", "d1"); err == nil {
		t.Fatal("deleted a draining server")
	}
	for _, name := range []string{"d1", "bare"} {
		if err := rt.SetServerState(ctx, "be_a", name, StateMaint); err != nil {
			t.Fatal(err)
		}
		if err := rt.DelServer(ctx, "be_a", name); err != nil {
			t.Fatal(err)
		}
	}
	all, err := rt.ShowServersState(ctx, "be_a")
	if err != nil || len(all) != 1 || all[0].Name != "s1" {
		t.Fatalf("after delete: %+v, %v", all, err)
	}
	backends, err := rt.ShowBackends(ctx)
	if err != nil || strings.Join(backends, ",") != "be_a,be_src" {
		t.Errorf("backends = %v, %v", backends, err)
	}
}

// A server with a session in flight cannot be deleted; once the session
// ended it can. ServerSessions shows the count in between.
func TestDrainAndDelete(t *testing.T) {
	s1, d1 := newBackend(t, "s1"), newBackend(t, "d1")
	front := freeAddr(t)
	dir := t.TempDir()
	in := startHAProxy(t, dir, serversConfig(dir, front, s1), nil)
	ctx := context.Background()
	rt := in.client

	if err := rt.AddServer(ctx, "be_a", "d1", d1.addr(), ""); err != nil {
		t.Fatal(err)
	}
	// Only d1 takes traffic: s1 into maintenance.
	if err := rt.SetServerState(ctx, "be_a", "s1", StateMaint); err != nil {
		t.Fatal(err)
	}
	if err := rt.EnableServer(ctx, "be_a", "d1"); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		code, body, err := getURL(front, "/hold")
		if err == nil && (code != 200 || !strings.HasPrefix(body, "name=d1")) {
			err = fmt.Errorf("held request: %d %q", code, body)
		}
		held <- err
	}()
	eventually(t, 5*time.Second, "d1 has a session", func() error {
		n, err := rt.ServerSessions(ctx, "be_a")
		if err != nil {
			return err
		}
		if n["d1"] != 1 || n["s1"] != 0 {
			return fmt.Errorf("sessions %v", n)
		}
		return nil
	})
	if err := rt.SetServerState(ctx, "be_a", "d1", StateMaint); err != nil {
		t.Fatal(err)
	}
	err := rt.DelServer(ctx, "be_a", "d1")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Answer != "Server still has connections attached to it, cannot remove it." {
		t.Fatalf("delete with a session: %v", err)
	}
	d1.release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "delete after the session", func() error { return rt.DelServer(ctx, "be_a", "d1") })
}

// "shutdown sessions server" cuts a drained server's last session, after
// which it can be deleted at once.
func TestShutdownSessions(t *testing.T) {
	s1, d1 := newBackend(t, "s1"), newBackend(t, "d1")
	defer d1.release()
	front := freeAddr(t)
	dir := t.TempDir()
	in := startHAProxy(t, dir, serversConfig(dir, front, s1), nil)
	ctx := context.Background()
	rt := in.client
	for _, step := range []func() error{
		func() error { return rt.AddServer(ctx, "be_a", "d1", d1.addr(), "") },
		func() error { return rt.SetServerState(ctx, "be_a", "s1", StateMaint) },
		func() error { return rt.EnableServer(ctx, "be_a", "d1") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	held := make(chan error, 1)
	go func() {
		code, body, err := getURL(front, "/hold")
		if err == nil && code == 200 {
			err = fmt.Errorf("answered by the server: %q", body)
		}
		held <- err
	}()
	eventually(t, 5*time.Second, "d1 has a session", func() error {
		if n, err := rt.ServerSessions(ctx, "be_a"); err != nil || n["d1"] != 1 {
			return fmt.Errorf("sessions %v %v", n, err)
		}
		return nil
	})
	if err := rt.SetServerState(ctx, "be_a", "d1", StateMaint); err != nil {
		t.Fatal(err)
	}
	if err := rt.ShutdownSessions(ctx, "be_a", "d1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-held:
		if err != nil && strings.HasPrefix(err.Error(), "answered") {
			t.Errorf("held request: %v, want its session cut", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request still runs after shutdown sessions")
	}
	eventually(t, 5*time.Second, "delete after shutdown", func() error { return rt.DelServer(ctx, "be_a", "d1") })
}

// "set server addr" moves traffic and health checks to the new address.
func TestSetServerAddr(t *testing.T) {
	s1, other := newBackend(t, "s1"), newBackend(t, "other")
	front := freeAddr(t)
	dir := t.TempDir()
	in := startHAProxy(t, dir, serversConfig(dir, front, s1), nil)
	ctx := context.Background()
	rt := in.client

	if err := rt.SetServerAddr(ctx, "be_a", "s1", "127.0.0.1", other.port); err != nil {
		t.Fatal(err)
	}
	if got := hits(t, front, "x", "/", 3); got["other"] != 3 {
		t.Fatalf("after set addr: %v, want other", got)
	}
	st := serverState(t, rt, "be_a", "s1")
	if st.Addr != "127.0.0.1" || st.Port != other.port {
		t.Errorf("state after set addr = %s:%d", st.Addr, st.Port)
	}
	// Same address again: HAProxy says "no need to change", still success.
	if err := rt.SetServerAddr(ctx, "be_a", "s1", "127.0.0.1", other.port); err != nil {
		t.Errorf("unchanged address: %v", err)
	}

	// A dynamic server with fast checks on a dead port goes DOWN; moving it
	// to a live port brings it UP: checks follow the address.
	dead := proxytest.FreePort(t)
	if err := rt.AddServer(ctx, "be_a", "c1", fmt.Sprintf("127.0.0.1:%d", dead), "check inter 100ms fall 1 rise 1"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(context.Context, string, string) error{rt.EnableHealth, rt.EnableServer} {
		if err := f(ctx, "be_a", "c1"); err != nil {
			t.Fatal(err)
		}
	}
	isUp := func(want bool) func() error {
		return func() error {
			if st := serverState(t, rt, "be_a", "c1"); st.Up() != want {
				return fmt.Errorf("c1 op state %d, want up=%v", st.OpState, want)
			}
			return nil
		}
	}
	eventually(t, 5*time.Second, "c1 down on a dead port", isUp(false))
	if err := rt.SetServerAddr(ctx, "be_a", "c1", "127.0.0.1", s1.port); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "c1 up after set addr", isUp(true))
}

// mapConfig routes by map_beg over "HOST:PORT/PATH" like the built-in
// template, with the map named relative to the configuration.
func mapConfig(dir, front string, backends map[string]*testBackend) string {
	cfg := globalSection(dir) + defaultsSection + fmt.Sprintf(`
frontend http
    bind %s
    http-request set-var(txn.rp_host) req.hdr(host),field(1,:),lower,regsub([.]$,)
    http-request set-var(txn.rp_port) dst_port
    http-request set-var(txn.rp_path) path
    http-request set-var(txn.rp_tail) str(:),concat(,txn.rp_port,),concat(,txn.rp_path,)
    http-request set-var(txn.rp_backend) var(txn.rp_host),field(-1,.,2),concat(,txn.rp_tail,),map_beg(http.map) if !{ var(txn.rp_backend) -m found }
    http-request set-var(txn.rp_backend) var(txn.rp_host),field(-1,.,1),concat(,txn.rp_tail,),map_beg(http.map) if !{ var(txn.rp_backend) -m found }
    use_backend %%[var(txn.rp_backend)] if { var(txn.rp_backend) -m found }
`, front)
	for _, name := range []string{"be_a", "be_api", "be_v2"} {
		cfg += fmt.Sprintf("\nbackend %s\n    balance roundrobin\n    server s1 %s\n", name, backends[name].addr())
	}
	return cfg
}

func TestMapTransaction(t *testing.T) {
	backends := map[string]*testBackend{"be_a": newBackend(t, "a"), "be_api": newBackend(t, "api"), "be_v2": newBackend(t, "v2")}
	front := freeAddr(t)
	_, port, _ := strings.Cut(front, ":")
	dir := t.TempDir()
	key := func(host, path string) string { return host + ":" + port + path }
	in := startHAProxy(t, dir, mapConfig(dir, front, backends), map[string]string{
		"http.map": "# routes\n" + key("a.example", "/") + " be_a\n",
	})
	ctx := context.Background()
	rt := in.client

	// The map is named as the configuration wrote it, not by its full path.
	maps, err := rt.ShowMaps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 1 || maps[0].File != "http.map" || maps[0].EntryCount != 1 {
		t.Fatalf("maps = %+v", maps)
	}
	if _, err := rt.ShowMap(ctx, filepath.Join(dir, "http.map")); err == nil {
		t.Error("the full path names the map too; the docs say it does not")
	}

	route := func(host, path string) string {
		t.Helper()
		got := hits(t, front, host, path, 1)
		for k := range got {
			return k
		}
		return ""
	}
	if r := route("a.example", "/api/x"); r != "a" {
		t.Fatalf("before: /api/x -> %s", r)
	}

	// A prepared version is invisible until committed.
	v, err := rt.PrepareMap(ctx, "http.map")
	if err != nil {
		t.Fatal(err)
	}
	// The shorter prefix goes in last: longest match must not depend on order.
	for _, e := range []MapEntry{{Key: key("a.example", "/api/v2"), Value: "be_v2"}, {Key: key("a.example", "/api"), Value: "be_api"}, {Key: key("a.example", "/"), Value: "be_a"}} {
		if err := rt.AddMapEntry(ctx, "http.map", v, e.Key, e.Value); err != nil {
			t.Fatal(err)
		}
	}
	if r := route("a.example", "/api/x"); r != "a" {
		t.Fatalf("uncommitted entries are visible: /api/x -> %s", r)
	}
	if err := rt.CommitMap(ctx, "http.map", v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ host, path, want string }{
		{"a.example", "/api/v2/x", "v2"},
		{"a.example", "/api/x", "api"},
		{"a.example", "/apix", "api"}, // plain string prefix, as documented
		{"a.example", "/", "a"},
		{"www.a.example", "/api/x", "api"}, // suffix lookup through field(-1,.,2)
		{"b.example", "/", "503"},
	} {
		if r := route(c.host, c.path); r != c.want {
			t.Errorf("after commit: %s%s -> %s, want %s", c.host, c.path, r, c.want)
		}
	}
	// Committing the same version twice is refused.
	var ce *CommandError
	if err := rt.CommitMap(ctx, "http.map", v); !errors.As(err, &ce) || ce.Answer != "Version number out of range." {
		t.Errorf("second commit: %v", err)
	}

	// Bulk: 1500 entries (about 50 KB, several payload commands), one commit.
	entries := []MapEntry{{Key: key("a.example", "/"), Value: "be_v2"}}
	for i := range 1500 {
		entries = append(entries, MapEntry{Key: key(fmt.Sprintf("h%04d.example", i), "/"), Value: "be_api"})
	}
	if err := ReplaceMap(ctx, rt, "http.map", entries); err != nil {
		t.Fatal(err)
	}
	got, err := rt.ShowMap(ctx, "http.map")
	if err != nil || len(got) != len(entries) {
		t.Fatalf("after bulk: %d entries, %v; want %d", len(got), err, len(entries))
	}
	if r := route("h1499.example", "/"); r != "api" {
		t.Errorf("bulk entry h1499: %s", r)
	}
	if r := route("a.example", "/api/x"); r != "v2" {
		t.Errorf("replaced map still routes /api/x to %s", r)
	}

	if err := rt.ClearMap(ctx, "http.map"); err != nil {
		t.Fatal(err)
	}
	if r := route("a.example", "/"); r != "503" {
		t.Errorf("after clear: %s", r)
	}
}

// The master CLI reports a reload's outcome: a new worker, or the old one
// kept after a broken configuration.
func TestMasterReloadReal(t *testing.T) {
	s1, d1 := newBackend(t, "s1"), newBackend(t, "d1")
	front := freeAddr(t)
	dir := t.TempDir()
	cfg := serversConfig(dir, front, s1)
	in := startHAProxy(t, dir, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	before, err := in.master.ShowProc(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Master.PID != in.proc.Cmd.Process.Pid || len(before.Workers) != 1 {
		t.Fatalf("show proc = %+v, master PID %d", before, in.proc.Cmd.Process.Pid)
	}
	info, err := in.client.ShowInfo(ctx)
	if err != nil || info.Pid != before.Workers[0].PID {
		t.Fatalf("show info Pid %d, show proc worker %d (%v)", info.Pid, before.Workers[0].PID, err)
	}

	// New config: d1 in be_a. Reload through the master CLI.
	in.write(t, strings.Replace(cfg, "    server s1 "+s1.addr()+"\n", "    server s1 "+s1.addr()+"\n    server d1 "+d1.addr()+"\n", 1), nil)
	after, err := in.master.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Workers[0].PID == before.Workers[0].PID || after.Master.Reloads != before.Master.Reloads+1 || after.FailedReloads != 0 {
		t.Fatalf("after reload = %+v, before %+v", after, before)
	}
	if got := hits(t, front, "x", "/", 4); got["d1"] != 2 {
		t.Fatalf("after reload: %v, want d1 served", got)
	}

	// A broken config: the master keeps the worker and says so.
	in.write(t, cfg+"    no-such-keyword\n", nil)
	failed, err := in.master.Reload(ctx)
	if !errors.Is(err, ErrReloadFailed) {
		t.Fatalf("broken reload: %v", err)
	}
	if failed.Workers[0].PID != after.Workers[0].PID || failed.FailedReloads != 1 {
		t.Errorf("after failed reload = %+v", failed)
	}
	if got := hits(t, front, "x", "/", 2); got["d1"] != 1 {
		t.Errorf("old worker stopped serving after a failed reload: %v", got)
	}

	// SIGUSR2 reloads too; WaitReload tells the outcome.
	in.write(t, cfg, nil)
	before, err = in.master.ShowProc(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.proc.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	fixed, err := in.master.WaitReload(ctx, before)
	if err != nil || fixed.FailedReloads != 0 || fixed.Workers[0].PID == after.Workers[0].PID {
		t.Fatalf("reload after fix: %+v, %v", fixed, err)
	}
}

// A Session is bound to the worker that accepted it: after a reload it
// still talks to the old, stopping worker. A Client reaches the new one.
func TestSessionStaysOnOldWorker(t *testing.T) {
	s1 := newBackend(t, "s1")
	front := freeAddr(t)
	dir := t.TempDir()
	in := startHAProxy(t, dir, serversConfig(dir, front, s1), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := in.client.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, err := s.ShowInfo(ctx)
	if err != nil || old.Stopping {
		t.Fatalf("before reload: %+v, %v", old, err)
	}
	if _, err := in.master.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	stale, err := s.ShowInfo(ctx)
	if err != nil {
		t.Fatalf("session after reload: %v", err)
	}
	if stale.Pid != old.Pid || !stale.Stopping {
		t.Errorf("session after reload: Pid %d Stopping %v; want the old worker %d, stopping", stale.Pid, stale.Stopping, old.Pid)
	}
	fresh, err := in.client.ShowInfo(ctx)
	if err != nil || fresh.Pid == old.Pid || fresh.Stopping {
		t.Errorf("client after reload: %+v, %v; want a new worker", fresh, err)
	}
}

// With server-state-file, a state dump just before the reload carries
// maintenance, drain and DOWN over to the new worker, by backend and server
// name, dynamic servers included once they are in the file.
func TestServerStateAcrossReload(t *testing.T) {
	s1, s2, d1 := newBackend(t, "s1"), newBackend(t, "s2"), newBackend(t, "d1")
	dead := proxytest.FreePort(t)
	front := freeAddr(t)
	dir := t.TempDir()
	base := globalSection(dir) + defaultsSection + fmt.Sprintf(`
frontend http
    bind %s
    default_backend be_a

backend be_a
    balance roundrobin
    default-server inter 200ms fall 1 rise 1
    server s1 %s
    server s2 %s
    server dn 127.0.0.1:%d
`, front, s1.addr(), s2.addr(), dead)
	in := startHAProxy(t, dir, base, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt := in.client
	eventually(t, 5*time.Second, "dn down by checks", func() error {
		if serverState(t, rt, "be_a", "dn").OpState != OpStopped {
			return errors.New("dn not down yet")
		}
		return nil
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rt.SetServerState(ctx, "be_a", "s1", StateMaint))
	must(rt.SetServerState(ctx, "be_a", "s2", StateDrain))
	must(rt.AddServer(ctx, "be_a", "d1", d1.addr(), "check inter 200ms fall 1 rise 1"))
	must(rt.EnableHealth(ctx, "be_a", "d1"))
	must(rt.EnableServer(ctx, "be_a", "d1"))
	must(rt.AddServer(ctx, "be_a", "d2", d1.addr(), "check inter 200ms fall 1 rise 1")) // left in maintenance

	// Dump the state, then reload with d1 and d2 in the file.
	dump, err := rt.Do(ctx, "show servers state")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state"), []byte(dump+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.write(t, base+fmt.Sprintf("    server d1 %s\n    server d2 %s\n", d1.addr(), d1.addr()), nil)
	if _, err := in.master.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s1": "maint", "s2": "drain", "dn": "down", "d1": "up", "d2": "maint"}
	for name, w := range want {
		st := serverState(t, rt, "be_a", name)
		got := "up"
		switch {
		case st.Maint():
			got = "maint"
		case st.Drain():
			got = "drain"
		case st.OpState == OpStopped:
			got = "down"
		}
		if got != w {
			t.Errorf("%s after reload: %s (%+v), want %s", name, got, st, w)
		}
	}
	if got := hits(t, front, "x", "/", 4); got["d1"] != 4 {
		t.Errorf("after reload: %v, want only d1 (s1 maint, s2 drain, dn down, d2 maint)", got)
	}
}

// getURL sends GET path to addr with Host x and returns the answer.
func getURL(addr, path string) (int, string, error) {
	return proxytest.Get(addr, "x", path)
}

// TestFakeMatchesHAProxy runs one scenario on the real HAProxy and on the
// Fake and compares every outcome: the Fake is only worth its tests while
// it answers like HAProxy 2.6.
func TestFakeMatchesHAProxy(t *testing.T) {
	s1, d1, other := newBackend(t, "s1"), newBackend(t, "d1"), newBackend(t, "other")
	front := freeAddr(t)
	dir := t.TempDir()
	cfg := serversConfig(dir, front, s1) + `
frontend maps
    bind ` + freeAddr(t) + `
    use_backend %[path,map_beg(http.map)]
`
	in := startHAProxy(t, dir, cfg, map[string]string{"http.map": "/ be_a\n"})

	fake := NewFake()
	fake.AddBackend("be_a", true, FakeServer{Name: "s1", Addr: "127.0.0.1", Port: s1.port})
	fake.AddBackend("be_src", false, FakeServer{Name: "s1", Addr: "127.0.0.1", Port: s1.port})
	fake.AddMap("http.map", MapEntry{Key: "/", Value: "be_a"})

	real := scenario(t, in.client, d1, other)
	faked := scenario(t, fake, d1, other)
	if len(real) != len(faked) {
		t.Fatalf("%d steps on HAProxy, %d on the fake", len(real), len(faked))
	}
	t.Logf("%d steps compared", len(real))
	for i := range real {
		if real[i] != faked[i] {
			t.Errorf("step %d differs:\n haproxy: %s\n    fake: %s", i, real[i], faked[i])
		}
	}
}

// scenario runs the steps of TestFakeMatchesHAProxy on rt and describes
// each outcome in one line.
func scenario(t *testing.T, rt Runtime, d1, other *testBackend) []string {
	ctx := context.Background()
	var out []string
	outcome := func(step string, err error, result string) {
		var ce *CommandError
		switch {
		case errors.As(err, &ce):
			result = "refused: " + ce.Answer
		case err != nil:
			t.Fatalf("%s: transport error %v", step, err)
		}
		out = append(out, step+" -> "+result)
	}
	servers := func(step, backend string) {
		all, err := rt.ShowServersState(ctx, backend)
		var parts []string
		for _, s := range all {
			parts = append(parts, fmt.Sprintf("%s=%s,%s:%d,checks=%v", s.Name, s.Condition(), s.Addr, s.Port, s.ChecksEnabled()))
		}
		outcome(step, err, strings.Join(parts, " "))
	}
	do := func(step string, err error) { outcome(step, err, "ok") }

	do("add d1", rt.AddServer(ctx, "be_a", "d1", d1.addr(), "check inter 2s fall 3 rise 2"))
	servers("state after add", "be_a")
	do("add to balance source", rt.AddServer(ctx, "be_src", "d1", d1.addr(), ""))
	do("add duplicate", rt.AddServer(ctx, "be_a", "d1", d1.addr(), ""))
	do("add with cookie", rt.AddServer(ctx, "be_a", "c1", d1.addr(), "cookie c1"))
	do("add to missing backend", rt.AddServer(ctx, "nope", "d1", d1.addr(), ""))
	do("enable health", rt.EnableHealth(ctx, "be_a", "d1"))
	do("enable agent", rt.EnableAgent(ctx, "be_a", "d1"))
	do("enable server", rt.EnableServer(ctx, "be_a", "d1"))
	servers("state after enable", "be_a")
	do("delete while up", rt.DelServer(ctx, "be_a", "d1"))
	do("drain", rt.SetServerState(ctx, "be_a", "d1", StateDrain))
	servers("state after drain", "be_a")
	do("maint", rt.SetServerState(ctx, "be_a", "d1", StateMaint))
	servers("state after maint", "be_a")
	do("delete", rt.DelServer(ctx, "be_a", "d1"))
	do("add d2", rt.AddServer(ctx, "be_a", "d2", d1.addr(), ""))
	do("drain d2 from maintenance", rt.SetServerState(ctx, "be_a", "d2", StateDrain))
	servers("state after drain from maintenance", "be_a")
	do("d2 back to maint", rt.SetServerState(ctx, "be_a", "d2", StateMaint))
	do("delete d2", rt.DelServer(ctx, "be_a", "d2"))
	do("add d3 enabled", rt.AddServer(ctx, "be_a", "d3", d1.addr(), "enabled"))
	servers("state after add enabled", "be_a")
	do("d3 to maint", rt.SetServerState(ctx, "be_a", "d3", StateMaint))
	do("delete d3", rt.DelServer(ctx, "be_a", "d3"))
	do("delete again", rt.DelServer(ctx, "be_a", "d1"))
	do("enable missing server", rt.EnableServer(ctx, "be_a", "d1"))
	do("enable in missing backend", rt.EnableServer(ctx, "nope", "d1"))
	do("set addr", rt.SetServerAddr(ctx, "be_a", "s1", "127.0.0.1", other.port))
	do("set same addr", rt.SetServerAddr(ctx, "be_a", "s1", "127.0.0.1", other.port))
	servers("state after set addr", "be_a")
	do("set addr missing server", rt.SetServerAddr(ctx, "be_a", "nope", "127.0.0.1", other.port))
	do("shutdown sessions", rt.ShutdownSessions(ctx, "be_a", "s1"))
	do("shutdown sessions of missing server", rt.ShutdownSessions(ctx, "be_a", "nope"))
	_, err := rt.ShowServersState(ctx, "nope")
	do("servers state of missing backend", err)
	_, err = rt.ShowStat(ctx, "nope")
	do("stat of missing backend", err)
	sessions, err := rt.ServerSessions(ctx, "be_a")
	outcome("sessions", err, fmt.Sprint(sessions))
	backends, err := rt.ShowBackends(ctx)
	outcome("backends", err, strings.Join(backends, ","))

	v, err := rt.PrepareMap(ctx, "http.map")
	outcome("prepare map", err, fmt.Sprint("version ", v))
	do("add map entry", rt.AddMapEntry(ctx, "http.map", v, "/api", "be_src"))
	do("add map entries", rt.AddMapEntries(ctx, "http.map", v, []MapEntry{{Key: "/", Value: "be_a"}, {Key: "/x;y", Value: "be_a"}}))
	do("add to future version", rt.AddMapEntry(ctx, "http.map", v+5, "/f", "be_a"))
	do("commit", rt.CommitMap(ctx, "http.map", v))
	do("commit again", rt.CommitMap(ctx, "http.map", v))
	entries, err := rt.ShowMap(ctx, "http.map")
	var kv []string
	for _, e := range entries {
		kv = append(kv, e.Key+"="+e.Value)
	}
	outcome("show map", err, strings.Join(kv, " "))
	maps, err := rt.ShowMaps(ctx)
	var names []string
	for _, m := range maps {
		names = append(names, fmt.Sprintf("%s curr=%d next=%d", m.File, m.CurrVer, m.NextVer))
	}
	outcome("show maps", err, strings.Join(names, ","))
	_, err = rt.PrepareMap(ctx, "nope.map")
	do("prepare missing map", err)
	do("clear map", rt.ClearMap(ctx, "http.map"))
	entries, err = rt.ShowMap(ctx, "http.map")
	outcome("show map after clear", err, fmt.Sprint(len(entries), " entries"))
	return out
}

// hard-stop-after bounds how long an old worker lives after a reload: a
// long-lived TCP tunnel keeps it alive until the bound, then it is cut.
func TestHardStopAfterEndsTunnels(t *testing.T) {
	// An echo server: a tunnel that stays open as long as the client wants.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	front := freeAddr(t)
	dir := t.TempDir()
	cfg := strings.Replace(globalSection(dir), "global\n", "global\n    hard-stop-after 2s\n", 1) + fmt.Sprintf(`
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h

frontend tcp
    bind %s
    default_backend echo

backend echo
    server e1 %s
`, front, l.Addr())
	in := startHAProxy(t, dir, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tunnel, err := net.Dial("tcp", front)
	if err != nil {
		t.Fatal(err)
	}
	defer tunnel.Close()
	r := bufio.NewReader(tunnel)
	echo := func(s string) error {
		tunnel.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.WriteString(tunnel, s+"\n"); err != nil {
			return err
		}
		got, err := r.ReadString('\n')
		if err == nil && got != s+"\n" {
			err = fmt.Errorf("echo %q, want %q", got, s)
		}
		return err
	}
	if err := echo("before"); err != nil {
		t.Fatal(err)
	}
	before, err := in.master.ShowProc(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := in.master.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Right after the reload the old worker still carries the tunnel.
	if err := echo("during"); err != nil {
		t.Fatalf("tunnel cut at once by the reload: %v", err)
	}
	if len(after.OldWorkers) != 1 || after.OldWorkers[0].PID != before.Workers[0].PID {
		t.Errorf("old workers after reload = %+v, want %d", after.OldWorkers, before.Workers[0].PID)
	}
	// Within the bound (plus slack) the old worker is gone and the tunnel cut.
	eventually(t, 10*time.Second, "tunnel cut by hard-stop-after", func() error {
		if err := echo("after"); err == nil {
			return errors.New("tunnel still open")
		}
		return nil
	})
	eventually(t, 5*time.Second, "old worker gone", func() error {
		p, err := in.master.ShowProc(ctx)
		if err == nil && len(p.OldWorkers) != 0 {
			err = fmt.Errorf("old workers %+v", p.OldWorkers)
		}
		return err
	})
}

// The Runtime API over TCP ("stats socket ipv4@HOST:PORT") works the same.
func TestTCPSocket(t *testing.T) {
	s1 := newBackend(t, "s1")
	front, api := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := strings.Replace(serversConfig(dir, front, s1), "    stats timeout 1m\n",
		"    stats timeout 1m\n    stats socket ipv4@"+api+" level admin\n", 1)
	startHAProxy(t, dir, cfg, nil)
	c, err := New("ipv4@" + api)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.SetServerState(ctx, "be_a", "s1", StateDrain); err != nil {
		t.Fatal(err)
	}
	if st := serverState(t, c, "be_a", "s1"); !st.Drain() {
		t.Errorf("s1 after drain over TCP = %+v", st)
	}
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if info, err := s.ShowInfo(ctx); err != nil || info.Pid == 0 {
		t.Errorf("show info over a TCP session: %+v, %v", info, err)
	}
}
