package live

// The Applier is tested against haproxyapi.Fake, an in-memory HAProxy 2.6
// Runtime API whose answers are held to the real ones by the haproxyapi
// tests: it makes every command, failure and reload scriptable in
// milliseconds. The e2e tests run the same code against real HAProxy.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// world is a fake HAProxy that "loads" renders: each load is a new worker
// (a new Fake, a new PID), as a reload makes.
type world struct {
	mu      sync.Mutex
	fake    *haproxyapi.Fake
	pid     int
	dialErr error
}

// load starts a new worker on r, as HAProxy would load it.
func (w *world) load(r *render.Rendered) *haproxyapi.Fake {
	f := haproxyapi.NewFake()
	fs := newFiles(r)
	for _, name := range fs.cfg.order {
		b := fs.cfg.backends[name]
		var servers []haproxyapi.FakeServer
		for _, s := range sortedServers(b) {
			servers = append(servers, haproxyapi.FakeServer{Name: s.name, Addr: s.addr.Addr().String(), Port: int(s.addr.Port())})
		}
		f.AddBackend(name, b.dynamic, servers...)
	}
	for aux, name := range fs.cfg.maps {
		if data, ok := fs.aux[aux]; ok {
			f.AddMap(name, parseMap(data).entries()...)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fake = f
	w.pid++
	return f
}

func (w *world) current() *haproxyapi.Fake {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fake
}

func (w *world) dial(ctx context.Context) (Conn, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dialErr != nil {
		return nil, w.dialErr
	}
	return haproxyapi.FakeWorker{Fake: w.fake, PID: w.pid}, nil
}

// servers describes a backend's servers as the fake has them:
// "NAME=STATE@ADDR:PORT", sorted.
func servers(t *testing.T, f *haproxyapi.Fake, backend string) string {
	t.Helper()
	st, err := f.ShowServersState(context.Background(), backend)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range st {
		state := s.Condition()
		if state == "up" && !s.ChecksEnabled() {
			state = "up-nocheck"
		}
		out = append(out, fmt.Sprintf("%s=%s@%s:%d", s.Name, state, s.Addr, s.Port))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// site renders a config with backend b1 holding the given servers
// ("NAME IP:PORT") and one http map file.
func site(mapBody string, srv ...string) *render.Rendered {
	var lines []string
	for _, s := range srv {
		lines = append(lines, "    server "+s+" check inter 2s fall 3 rise 2")
	}
	cfg := cfgText("", "frontend f\n    bind :80\n    use_backend %[req.hdr(host),map_beg(out.http.map)]",
		"backend b1\n    balance roundrobin\n"+strings.Join(lines, "\n"),
		"backend b2\n    balance roundrobin\n    server z1 10.0.1.1:80 check inter 2s fall 3 rise 2")
	return rendered(cfg, map[string]string{"out.http.map": "# routes\n" + mapBody})
}

const baseMap = "a.example:80/ b1\n"

// newApplier starts an Applier on the world, knowing r as what runs.
func newApplier(t *testing.T, w *world, r *render.Rendered, cfg Config) *Applier {
	t.Helper()
	cfg.Dial = w.dial
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	if r != nil {
		a.Current(r)
	}
	return a
}

// testWriter logs through t.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls f for up to 5s.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestApplyServers(t *testing.T) {
	w := &world{}
	r0 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
	f := w.load(r0)
	a := newApplier(t, w, r0, Config{})
	ctx := context.Background()

	// s3 added, s1 moved, s2 removed: one apply, no reload.
	r1 := site(baseMap, "s1 10.0.0.9:80", "s3 10.0.0.3:8080")
	res, err := a.Apply(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changes != "added b1/s3; removed b1/s2; moved b1/s1" {
		t.Errorf("changes %q", res.Changes)
	}
	eventually(t, "s2 drained and deleted", func() error {
		if got, want := servers(t, f, "b1"), "s1=up@10.0.0.9:80 s3=up@10.0.0.3:8080"; got != want {
			return fmt.Errorf("servers %s, want %s", got, want)
		}
		return nil
	})
	// The added server has exactly its line's settings, its checks on, and
	// was added before the removed one was drained.
	calls := strings.Join(f.Calls(), "\n")
	for _, want := range []string{
		"add server b1/s3 10.0.0.3:8080 check inter 2s fall 3 rise 2\nenable health b1/s3\nenable server b1/s3",
		"set server b1/s1 addr 10.0.0.9 port 80",
		"set server b1/s2 state drain",
		"set server b1/s2 state maint\ndel server b1/s2",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls lack %q:\n%s", want, calls)
		}
	}
	if strings.Index(calls, "add server b1/s3") > strings.Index(calls, "state drain") {
		t.Errorf("a server was drained before the new one was added:\n%s", calls)
	}
	if strings.Contains(calls, "b2") {
		t.Errorf("backend b2 did not change and must not be touched:\n%s", calls)
	}
}

// A draining server is deleted once its last session ends, not before; one
// past the drain timeout has its sessions cut.
func TestDrain(t *testing.T) {
	ctx := context.Background()
	t.Run("waits for sessions", func(t *testing.T) {
		w := &world{}
		r0 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
		f := w.load(r0)
		f.SetSessions("b1", "s2", 2)
		a := newApplier(t, w, r0, Config{DrainTimeout: time.Hour})
		if _, err := a.Apply(ctx, site(baseMap, "s1 10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // ten polls
		if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80 s2=drain@10.0.0.2:80" {
			t.Fatalf("with sessions left: %s, want s2 draining", got)
		}
		if d := a.Draining(); len(d) != 1 || d[0] != "b1/s2" {
			t.Errorf("Draining() = %v", d)
		}
		f.SetSessions("b1", "s2", 0)
		eventually(t, "s2 deleted", func() error {
			if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80" {
				return fmt.Errorf("servers %s", got)
			}
			return nil
		})
		if slices.Contains(f.Calls(), "shutdown sessions server b1/s2") {
			t.Errorf("sessions were cut although they ended within the drain timeout")
		}
	})
	t.Run("timeout cuts sessions", func(t *testing.T) {
		w := &world{}
		r0 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
		f := w.load(r0)
		f.SetSessions("b1", "s2", 1)
		a := newApplier(t, w, r0, Config{DrainTimeout: 30 * time.Millisecond})
		if _, err := a.Apply(ctx, site(baseMap, "s1 10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "s2 deleted", func() error {
			if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80" {
				return fmt.Errorf("servers %s", got)
			}
			return nil
		})
		if !slices.Contains(f.Calls(), "shutdown sessions server b1/s2") {
			t.Errorf("no shutdown of the sessions left: %v", f.Calls())
		}
	})
	t.Run("comes back while draining", func(t *testing.T) {
		w := &world{}
		r0 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
		f := w.load(r0)
		f.SetSessions("b1", "s2", 1)
		a := newApplier(t, w, r0, Config{DrainTimeout: time.Hour})
		if _, err := a.Apply(ctx, site(baseMap, "s1 10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
		// The container restarts with another address before the drain ended.
		if _, err := a.Apply(ctx, site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.7:80")); err != nil {
			t.Fatal(err)
		}
		if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80 s2=up@10.0.0.7:80" {
			t.Errorf("servers %s, want s2 back in service at its new address", got)
		}
		if d := a.Draining(); len(d) != 0 {
			t.Errorf("still draining %v", d)
		}
		f.SetSessions("b1", "s2", 0)
		time.Sleep(30 * time.Millisecond)
		if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80 s2=up@10.0.0.7:80" {
			t.Errorf("servers %s: the cancelled drain went on", got)
		}
	})
}

func TestApplyMaps(t *testing.T) {
	w := &world{}
	r0 := site(baseMap, "s1 10.0.0.1:80")
	f := w.load(r0)
	a := newApplier(t, w, r0, Config{})
	res, err := a.Apply(context.Background(), site(baseMap+"b.example:80/ b2\n", "s1 10.0.0.1:80"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changes != "maps out.http.map" {
		t.Errorf("changes %q", res.Changes)
	}
	if v, ok := f.Lookup("out.http.map", "b.example:80/x"); !ok || v != "b2" {
		t.Errorf("lookup after the apply: %q %v", v, ok)
	}
	calls := strings.Join(f.Calls(), "\n")
	if !strings.Contains(calls, "prepare map out.http.map\nadd map @1 out.http.map\ncommit map @1 out.http.map") {
		t.Errorf("want one transaction:\n%s", calls)
	}
}

// Anything beyond servers and map entries, or any failure, is a reload.
func TestApplyNeedsReload(t *testing.T) {
	ctx := context.Background()
	r0 := site(baseMap, "s1 10.0.0.1:80")
	tests := []struct {
		name   string
		setup  func(w *world)
		next   *render.Rendered
		reason string
	}{
		{"structural", nil, rendered(strings.Replace(string(r0.Main), "bind :80", "bind :81", 1), map[string]string{"out.http.map": "# routes\n" + baseMap}), "beyond server lines"},
		{"socket unreachable", func(w *world) { w.dialErr = errors.New("connection refused") }, site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80"), "connection refused"},
		{"command refused", func(w *world) {
			w.current().FailOn(func(cmd string) error {
				if strings.HasPrefix(cmd, "enable server") {
					return errors.New("broken pipe")
				}
				return nil
			})
		}, site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80"), "broken pipe"},
		{"backend missing in HAProxy", func(w *world) {
			w.load(rendered(strings.Replace(string(r0.Main), "backend b1", "backend zz", 1), nil))
		}, site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80"), "No such backend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{}
			w.load(r0)
			a := newApplier(t, w, r0, Config{})
			if tt.setup != nil {
				tt.setup(w)
			}
			_, err := a.Apply(ctx, tt.next)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Apply = %v, want an error mentioning %q", err, tt.reason)
			}
		})
	}
	t.Run("nothing known", func(t *testing.T) {
		w := &world{}
		w.load(r0)
		a := newApplier(t, w, nil, Config{})
		if _, err := a.Apply(ctx, r0); err == nil || !strings.Contains(err.Error(), "not known") {
			t.Fatalf("Apply with no earlier config = %v", err)
		}
	})
}

// The first apply, and the first after a new worker, compares everything
// with HAProxy, so that what differs from the files is fixed too.
func TestApplyFirstComparesAll(t *testing.T) {
	w := &world{}
	r0 := site(baseMap, "s1 10.0.0.1:80")
	// HAProxy runs an older state than the file: b2 lacks z1's address, the
	// map an entry.
	f := w.load(rendered(strings.Replace(string(r0.Main), "10.0.1.1:80", "10.0.1.9:80", 1), map[string]string{"out.http.map": "# old\n"}))
	a := newApplier(t, w, r0, Config{})
	if _, err := a.Apply(context.Background(), site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")); err != nil {
		t.Fatal(err)
	}
	if got := servers(t, f, "b2"); got != "z1=up@10.0.1.1:80" {
		t.Errorf("b2 %s, want z1 at its file address", got)
	}
	if v, ok := f.Lookup("out.http.map", "a.example:80/"); !ok || v != "b1" {
		t.Errorf("map not brought to the file: %q %v", v, ok)
	}
	n := len(f.Calls())
	if _, err := a.Apply(context.Background(), site(baseMap, "s1 10.0.0.1:80")); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Calls()[n:] {
		if strings.Contains(c, "b2") || strings.Contains(c, "show map") || c == "show servers state" {
			t.Errorf("the second apply on the same worker looked beyond what changed: %q", c)
		}
	}
}

// Before a reload the states are written, without the servers whose
// address changed; until the new worker answers, changes the old worker
// cannot take need reloads; the new worker is then brought to the current
// files.
func TestReload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	state := filepath.Join(dir, "out.state")
	w := &world{}
	r0 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
	w.load(r0)
	stale := filepath.Join(dir, ".out.state.stage-killed")
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	a := newApplier(t, w, r0, Config{StateFile: state})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale staging directory of the state file is left: %v", err)
	}

	// A structural change: the caller reloads with s2 at another address.
	r1 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.8:80")
	r1.Main = append(r1.Main, []byte("\nfrontend f2\n    bind :81\n")...)
	if _, err := a.Apply(ctx, r1); err == nil || !Structural(err) {
		t.Fatalf("a new frontend applied live: %v", err)
	}
	a.Reload(ctx, r1)
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.HasPrefix(text, "1\n# be_id be_name") || !strings.Contains(text, " b1 1 s1 10.0.0.1 ") || !strings.Contains(text, " z1 ") {
		t.Errorf("state file lacks the header or the kept servers:\n%s", text)
	}
	if strings.Contains(text, " s2 ") {
		t.Errorf("state file keeps s2, whose address changed:\n%s", text)
	}

	// The reload has not happened yet: the old worker lacks the frontend,
	// so a replica change must reload too.
	r2 := append([]byte{}, r1.Main...)
	r2b := rendered(strings.Replace(string(r2), "server s1 10.0.0.1:80", "server s1 10.0.0.5:80", 1), map[string]string{"out.http.map": "# routes\n" + baseMap})
	if _, err := a.Apply(ctx, r2b); err == nil || !Structural(err) {
		t.Fatalf("Apply during a pending reload = %v", err)
	}
	a.Reload(ctx, r2b)
	// The new worker parsed r1 (the reload started before r2b was
	// installed): the background watch finds it and brings it to r2b.
	f := w.load(r1)
	eventually(t, "new worker brought to the current files", func() error {
		if got := servers(t, f, "b1"); got != "s1=up@10.0.0.5:80 s2=up@10.0.0.8:80" {
			return fmt.Errorf("servers %s", got)
		}
		return nil
	})
	// Now replica changes go live again.
	r3 := rendered(strings.Replace(string(r2b.Main), "server s2 10.0.0.8:80", "server s2 10.0.0.9:80", 1), map[string]string{"out.http.map": "# routes\n" + baseMap})
	if _, err := a.Apply(ctx, r3); err != nil {
		t.Fatalf("Apply after the reload took effect: %v", err)
	}
	if got := servers(t, f, "b1"); got != "s1=up@10.0.0.5:80 s2=up@10.0.0.9:80" {
		t.Errorf("servers %s", got)
	}
}

// Unreachable before a reload: the state file is removed, not left stale.
func TestReloadUnreachable(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "out.state")
	if err := os.WriteFile(state, []byte("1\n# stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &world{}
	r0 := site(baseMap, "s1 10.0.0.1:80")
	w.load(r0)
	a := newApplier(t, w, r0, Config{StateFile: state})
	// A first apply makes the Applier know the worker.
	r1 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
	if _, err := a.Apply(context.Background(), r1); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.dialErr = errors.New("no such file")
	w.mu.Unlock()
	a.Reload(context.Background(), r1)
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("stale state file still there: %v", err)
	}
	// The reload takes effect (a new worker) and the socket is back: the
	// worker that answered last tells it, so changes are live again at once.
	w.mu.Lock()
	w.dialErr = nil
	w.mu.Unlock()
	f := w.load(r1)
	if _, err := a.Apply(context.Background(), site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80", "s3 10.0.0.3:80")); err != nil {
		t.Fatalf("Apply after the reload: %v", err)
	}
	if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80 s2=up@10.0.0.2:80 s3=up@10.0.0.3:80" {
		t.Errorf("servers %s", got)
	}
}

// New reads what is on disk as what HAProxy runs.
func TestNewReadsDisk(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.cfg")
	r0 := site(baseMap, "s1 10.0.0.1:80")
	os.WriteFile(dest, r0.Main, 0o644)
	os.WriteFile(filepath.Join(dir, "out.http.map"), r0.Files[0].Data, 0o644)
	os.WriteFile(filepath.Join(dir, "out.state"), []byte("1\n"), 0o644) // not the template's
	w := &world{}
	f := w.load(r0)
	a := newApplier(t, w, nil, Config{Dest: dest})
	if _, err := a.Apply(context.Background(), site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")); err != nil {
		t.Fatal(err)
	}
	if got := servers(t, f, "b1"); got != "s1=up@10.0.0.1:80 s2=up@10.0.0.2:80" {
		t.Errorf("servers %s", got)
	}
}

func TestFilterState(t *testing.T) {
	c := parseConfig([]byte(cfgText("", "backend b\n    server a 10.0.0.1:80\n    server v6 [fd00::1]:80\n    server moved 10.0.0.3:80")))
	raw := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_port\n" +
		"3 b 1 a 10.0.0.1 2 0 80\n" +
		"3 b 2 v6 fd00::1 0 1 80\n" +
		"3 b 3 moved 10.0.0.2 0 1 80\n" +
		"3 b 4 gone 10.0.0.4 2 0 80\n" +
		"4 other 1 x 10.0.0.5 2 0 80\n"
	out, kept, dropped, err := filterState(raw, c)
	if err != nil {
		t.Fatal(err)
	}
	want := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_port\n3 b 1 a 10.0.0.1 2 0 80\n3 b 2 v6 fd00::1 0 1 80\n"
	if out != want || kept != 2 || dropped != 3 {
		t.Errorf("filterState = %q (%d kept, %d dropped), want %q", out, kept, dropped, want)
	}
	if _, _, _, err := filterState("Unknown command", c); err == nil {
		t.Error("a bad dump was accepted")
	}
}

// statConn answers "show stat" with fixed lines.
type statConn struct {
	haproxyapi.FakeWorker
	stats []haproxyapi.Stat
}

func (c statConn) ShowStat(ctx context.Context, backend string) ([]haproxyapi.Stat, error) {
	return c.stats, nil
}

// A server with no session but a connection in use (a request still
// connecting to it) or a queued request is busy.
func TestBusy(t *testing.T) {
	srv := func(name string, scur, qcur int, used string) haproxyapi.Stat {
		return haproxyapi.Stat{Proxy: "b", Name: name, Type: haproxyapi.StatServer, SCur: scur, QCur: qcur,
			Fields: map[string]string{"used_conn_cur": used}}
	}
	c := statConn{stats: []haproxyapi.Stat{
		srv("idle", 0, 0, "0"), srv("session", 1, 0, "1"), srv("connecting", 0, 0, "1"), srv("queued", 0, 2, ""),
		{Proxy: "b", Name: "BACKEND", Type: haproxyapi.StatBackend, SCur: 4},
	}}
	got, err := busy(context.Background(), c, "b")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"idle": 0, "session": 2, "connecting": 1, "queued": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("busy = %v, want %v", got, want)
	}
}

func TestUnchecked(t *testing.T) {
	r0 := site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80")
	other := func(opts string) *render.Rendered {
		r := site(baseMap, "s1 10.0.0.1:80")
		r.Main = []byte(strings.Replace(string(r.Main), "    server z1", "    server s9 10.0.0.9:80 "+opts+"\n    server z1", 1))
		return r
	}
	a0 := route{"ba", "a.test", []string{"a1 10.0.0.1:80"}}
	b0 := route{"bb", "b.test", []string{"b1 10.0.0.2:80"}}
	spared := spareSite("", a0)
	ipMap := func(r *render.Rendered) *render.Rendered {
		return rendered(strings.Replace(string(r.Main), "map_beg(out.http.map)", "map_beg(out.http.map)]\n    use_backend %[src,map_ip(out.http.map)", 1),
			map[string]string{"out.http.map": string(r.Files[0].Data)})
	}
	tests := []struct {
		name       string
		base, next *render.Rendered // base nil: r0
		want       bool
	}{
		{"replica added", nil, site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80", "s3 10.0.0.3:80"), true},
		{"replica removed and moved", nil, site(baseMap, "s1 10.0.0.7:80"), true},
		{"server with settings the config has", nil, other("check inter 2s fall 3 rise 2"), true},
		{"server with new settings", nil, other("check inter 1s"), false},
		{"map entry", nil, site(baseMap+"b.example:80/ b2\n", "s1 10.0.0.1:80", "s2 10.0.0.2:80"), true},
		{"map entry that is not plain", nil, site(baseMap+"b.example:80/ \"b2\"\n", "s1 10.0.0.1:80", "s2 10.0.0.2:80"), false},
		{"map entry of a map also matched as addresses", ipMap(r0), ipMap(site(baseMap+"b.example:80/ b2\n", "s1 10.0.0.1:80", "s2 10.0.0.2:80")), false},
		{"new route like a spare", spared, spareSite("", a0, b0), true},
		{"new route with a line no spare has", spared, rendered(strings.Replace(string(spareSite("", a0, b0).Main), "backend bb\n",
			"backend bb\n    http-request set-header X 1\n", 1), map[string]string{"out.http.map": "a.test:80/ ba\nb.test:80/ bb\n"}), false},
		{"new route with new server settings", spared, spareSite(" fall 9", a0, b0), false},
		{"new route named as another", spared, rendered(strings.Replace(string(spareSite("", a0, b0).Main), "backend bb\n", "backend ba\n", 1),
			map[string]string{"out.http.map": "a.test:80/ ba\n"}), false},
		{"structural", nil, rendered(strings.Replace(string(r0.Main), "bind :80", "bind :81", 1), map[string]string{"out.http.map": "# routes\n" + baseMap}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == nil {
				base = r0
			}
			w := &world{}
			w.load(base)
			a := newApplier(t, w, base, Config{})
			if got := a.Unchecked(tt.next); got != tt.want {
				t.Errorf("Unchecked = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("nothing known", func(t *testing.T) {
		w := &world{}
		w.load(r0)
		a := newApplier(t, w, nil, Config{})
		if a.Unchecked(site(baseMap, "s1 10.0.0.1:80", "s2 10.0.0.2:80", "s3 10.0.0.3:80")) {
			t.Error("a render checked against nothing known was let through")
		}
	})
}
