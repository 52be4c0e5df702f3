package pipeline

// These tests run the pipeline with a real live.Applier on
// haproxyapi.Fake, an in-memory HAProxy Runtime API (held to the real one
// by the haproxyapi tests): they show which renders the pipeline applies
// live and which it notifies, in milliseconds.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/live"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/shell"
)

// backendsTmpl is a tiny HAProxy config: one backend per route.
const backendsTmpl = `global
    maxconn 10
{{- range routes . }}
backend {{ .Backend }}
    balance roundrobin
{{- range .Servers }}
    server {{ .Name }} {{ listen .Address .Port }} check
{{- end }}
{{- end }}
`

// syncBuffer is a log buffer the Applier's background work may write to
// while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// recorder counts what the pipeline reports, by kind.
type recorder struct {
	mu     sync.Mutex
	counts map[string]int
}

func (r *recorder) inc(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[k]++
}
func (r *recorder) get(k string) int { r.mu.Lock(); defer r.mu.Unlock(); return r.counts[k] }
func (r *recorder) Rendered(_ string, err error) {
	r.inc("renders")
	if err != nil {
		r.inc("render failures")
	}
}
func (r *recorder) CheckFailed(string)     { r.inc("check failures") }
func (r *recorder) RuntimeApplied(string)  { r.inc("runtime applies") }
func (r *recorder) RuntimeFallback(string) { r.inc("runtime fallbacks") }
func (r *recorder) RuntimeBridged(_ string, n int) {
	for range n {
		r.inc("bridged routes")
	}
}
func (r *recorder) Reloaded(string)            { r.inc("reloads") }
func (r *recorder) DockerReconnected()         { r.inc("reconnects") }
func (r *recorder) EventApplied(time.Duration) { r.inc("events") }
func (r *recorder) Applied(time.Time)          { r.inc("applied") }
func (r *recorder) Containers(int)             {}
func (r *recorder) Routes(n int)               { r.inc("routes set") }

func TestApplyLive(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.cfg")
	notified := filepath.Join(dir, "notified")
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cmd, _ := notify.ParseCommand("echo {{.File}} >> " + shell.Quote(notified))
	fake := haproxyapi.NewFake()
	var (
		mu       sync.Mutex
		failNext error
		pid      = 1
	)
	set := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	applier, err := live.New(live.Config{
		Dial: func(ctx context.Context) (live.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			if failNext != nil {
				return nil, failNext
			}
			return haproxyapi.FakeWorker{Fake: fake, PID: pid}, nil
		},
		Dest: dest, Poll: time.Millisecond, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer applier.Close(context.Background())
	rec := &recorder{}
	refuse := false
	checks := 0
	check := func(ctx context.Context, file, dir string) error {
		checks++
		if refuse {
			return errors.New("refused")
		}
		return nil
	}
	p := New(Config{Outputs: []*Output{{Template: tmpl(t, backendsTmpl), Dest: dest, Notify: cmd, Live: applier, Check: check}},
		Notifier: notify.New(notify.Config{Log: log}), Metrics: rec, Log: log})
	ctx := context.Background()
	notifies := func() int {
		b, _ := os.ReadFile(notified)
		return strings.Count(string(b), "\n")
	}
	apply := func(what string, m *model.Model) Result {
		t.Helper()
		rep, err := p.Apply(ctx, m, what)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return rep.Results[0]
	}

	// First render: nothing known runs, so it is a reload.
	one := testModel("a1", "http://a.example.com")
	if r := apply("start", one); !r.Changed || r.Live || notifies() != 1 {
		t.Fatalf("start: %+v, %d notifies", r, notifies())
	}
	be := one.HTTP[0].Routes[0].Backend
	fake.AddBackend(be, true, haproxyapi.FakeServer{Name: "a1", Addr: "10.0.0.2", Port: 80})
	set(func() { pid++ }) // the reload took effect

	// A replica more: live, no notify, and no check (its server line has
	// the settings of one the check passed).
	two := testModel("a1", "http://a.example.com", "a2", "http://a.example.com")
	checked := checks
	if r := apply("replica", two); !r.Changed || !r.Live || r.Err != nil || notifies() != 1 {
		t.Fatalf("replica: %+v, %d notifies", r, notifies())
	}
	if checks != checked {
		t.Errorf("the replica change ran the check")
	}
	if !strings.Contains(strings.Join(fake.Calls(), "\n"), "add server "+be+"/a2 10.0.0.3:80 check") {
		t.Errorf("calls %v", fake.Calls())
	}
	if !strings.Contains(logs.String(), "applied_live=["+dest+"]") || !strings.Contains(logs.String(), `msg="applied live, without a reload"`) {
		t.Errorf("live apply not logged:\n%s", logs)
	}

	// The same again: unchanged, nothing applied, nothing notified.
	if r := apply("same", two); r.Changed || r.Live || notifies() != 1 {
		t.Fatalf("same: %+v, %d notifies", r, notifies())
	}

	// A new route is a new backend: reload.
	three := testModel("a1", "http://a.example.com", "a2", "http://a.example.com", "b1", "http://b.example.com")
	checked = checks
	if r := apply("route", three); !r.Changed || r.Live || notifies() != 2 {
		t.Fatalf("route: %+v, %d notifies", r, notifies())
	}
	if checks != checked+1 {
		t.Errorf("the new route was not checked")
	}
	if !strings.Contains(logs.String(), `msg=reloading`) {
		t.Errorf("reload reason not logged:\n%s", logs)
	}

	// The socket breaks: the replica change falls back to a reload.
	set(func() { failNext = errors.New("connection refused") })
	four := testModel("a1", "http://a.example.com", "b1", "http://b.example.com")
	if r := apply("socket down", four); !r.Changed || r.Live || notifies() != 3 {
		t.Fatalf("socket down: %+v, %d notifies", r, notifies())
	}
	if !strings.Contains(logs.String(), "applying live failed; reloading instead") {
		t.Errorf("fallback not logged:\n%s", logs)
	}

	// A refused check: nothing applied, nothing notified.
	set(func() { failNext = nil })
	refuse = true
	r := apply("refused", testModel("a1", "http://a.example.com"))
	if r.Err == nil || !errors.Is(r.Err, install.ErrCheck) || r.Live || notifies() != 3 {
		t.Fatalf("refused: %+v, %d notifies", r, notifies())
	}

	for k, want := range map[string]int{"renders": 6, "render failures": 1, "check failures": 1, "runtime applies": 1,
		"runtime fallbacks": 1, "reloads": 3, "applied": 5, "routes set": 6} {
		if got := rec.get(k); got != want {
			t.Errorf("metrics: %s = %d, want %d", k, got, want)
		}
	}
}
