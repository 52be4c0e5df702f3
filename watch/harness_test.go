package watch_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/source"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// The watch tests run the real loop, source and pipeline against the fake
// Engine API (internal/fakedocker): the loop's reactions (subscribe before
// listing, refresh only what an event names, debounce, reconnect and
// resync, SIGHUP, strict, notify retries) are the subject, and the fake
// makes them fast and lets a test break the event stream at will. e2e/ runs
// the same loop against a real dockerd.

// serversTmpl prints each backend with its servers, one per line.
const serversTmpl = "{{range backends .}}{{.Name}}:{{range .Servers}} {{.Name}}{{end}}\n{{end}}"

// harness is a running watch loop over a fake engine, writing one output.
type harness struct {
	t      testing.TB
	e      *fakedocker.Engine
	dest   string
	logs   *proxytest.Buffer
	hup    chan os.Signal
	cancel context.CancelFunc
	done   chan error
}

// options change a harness before it starts.
type options struct {
	wait     watch.Debounce
	resync   time.Duration
	strict   bool
	tmplPath string
	notify   string
	check    func(ctx context.Context, file, dir string) error
	metrics  metrics.Recorder
}

func start(t *testing.T, e *fakedocker.Engine, o options) *harness {
	t.Helper()
	return startTB(t, e, o)
}

func startTB(t testing.TB, e *fakedocker.Engine, o options) *harness {
	t.Helper()
	h := &harness{t: t, e: e, dest: filepath.Join(t.TempDir(), "out.cfg"), logs: &proxytest.Buffer{}, hup: make(chan os.Signal, 1), done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var tmpl *render.Template
	var err error
	if o.tmplPath != "" {
		tmpl, err = render.Load(o.tmplPath)
	} else {
		tmpl, err = render.Parse("servers", serversTmpl)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	out := &pipeline.Output{Template: tmpl, Dest: h.dest, Check: o.check}
	var n *notify.Notifier
	if o.notify != "" {
		if out.Notify, err = notify.ParseCommand(o.notify); err != nil {
			t.Fatal(err)
		}
		n = notify.New(notify.Config{Retries: true, Timeout: 10 * time.Second, Log: log})
		go n.Run(ctx)
	}
	p := pipeline.New(pipeline.Config{Outputs: []*pipeline.Output{out}, Strict: o.strict, Notifier: n, Watch: true, Log: log})
	d := source.NewDocker(e.Client(t), log)
	go func() {
		h.done <- watch.Run(ctx, watch.Config{
			Source:   d,
			Build:    func(_ context.Context, cs []model.Container) *model.Model { return model.Build(cs, model.Options{}) },
			Pipeline: p,
			Wait:     o.wait,
			Resync:   o.resync,
			Backoff:  watch.Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond},
			Hangup:   h.hup,
			Metrics:  o.metrics,
			Log:      log,
		})
	}()
	t.Cleanup(h.stop)
	return h
}

// stop cancels the loop and checks that it ends cleanly.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("watch.Run returned %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Error("watch.Run did not return after cancel")
	}
}

// eventually polls ok for up to 5 s.
func (h *harness) eventually(what string, ok func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s\nfile:\n%s\nlog:\n%s", what, h.file(), h.logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) file() string {
	b, _ := os.ReadFile(h.dest)
	return string(b)
}

// waitFile waits until the output is exactly want.
func (h *harness) waitFile(want string) {
	h.t.Helper()
	h.eventually("output "+strings.ReplaceAll(want, "\n", `\n`), func() bool { return h.file() == want })
}

// renders counts the "rendered" log lines whose reason starts with prefix.
func (h *harness) renders(prefix string) int {
	return strings.Count(h.logs.String(), "msg=rendered reason=\""+prefix) + strings.Count(h.logs.String(), "msg=rendered reason="+prefix)
}
