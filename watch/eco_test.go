package watch_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// TestWatchLogsDaemon: the connection log names the daemon and the API
// version it speaks (the fake Engine says Docker 20.10.24, API 1.41), and
// a Podman daemon is named as such.
func TestWatchLogsDaemon(t *testing.T) {
	for _, tt := range []struct {
		opts []fakedocker.Option
		want string
	}{
		{nil, `daemon="Docker Engine 20.10.24 (API 1.41, client uses 1.41)"`},
		{[]fakedocker.Option{fakedocker.WithPodman()}, `daemon="Podman Engine 4.3.1 (API 1.41, client uses 1.41)"`},
		{[]fakedocker.Option{fakedocker.WithAPIVersion("1.40")}, `(API 1.40, client uses 1.40)`},
	} {
		e := fakedocker.New(t, tt.opts...)
		e.Add(web("a", "http://a.example.com"))
		h := start(t, e, options{})
		h.eventually("the connection logged with "+tt.want, func() bool {
			return strings.Contains(h.logs.String(), "msg=connected") && strings.Contains(h.logs.String(), tt.want)
		})
		h.stop()
	}
}

// accessError stands for source.AccessError, which a root test process
// cannot provoke from a real socket (root may open any socket).
type accessError struct{}

func (accessError) Error() string {
	return "permission denied on the Docker socket /var/run/docker.sock: " + accessError{}.Hint()
}
func (accessError) Hint() string {
	return `uid 65534 is not in the socket's group 998: add it with --group-add 998`
}

// flakySource fails its first n syncs with err, then serves no containers.
type flakySource struct {
	mu    sync.Mutex
	fails int
	err   error
}

func (f *flakySource) Events(ctx context.Context, _ time.Time) (<-chan string, <-chan error) {
	ended := make(chan error, 1)
	go func() { <-ctx.Done(); ended <- ctx.Err() }()
	return make(chan string), ended
}

func (f *flakySource) Sync(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return f.err
	}
	return nil
}

func (f *flakySource) Refresh(context.Context, []string) error { return nil }
func (f *flakySource) Containers() []model.Container           { return nil }
func (f *flakySource) String() string                          { return "unix:///var/run/docker.sock" }

// TestWatchHintsOnce: the advice of an error (the socket's missing group)
// is logged once, as an error; the retries that follow stay short and do
// not repeat it. A stub source plays the unreadable socket: the loop's
// logging is the subject.
func TestWatchHintsOnce(t *testing.T) {
	src := &flakySource{fails: 4, err: errors.Join(errors.New("list containers"), accessError{})}
	logs := &proxytest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	tmpl, _ := render.Parse("empty", "")
	p := pipeline.New(pipeline.Config{Outputs: []*pipeline.Output{{Template: tmpl}}, Stdout: io.Discard, Watch: true, Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watch.Run(ctx, watch.Config{Source: src, Pipeline: p, Log: log,
			Build:   func(context.Context, []model.Container) *model.Model { return model.Build(nil, model.Options{}) },
			Backoff: watch.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "msg=connected") {
		if time.Now().After(deadline) {
			t.Fatalf("never connected:\n%s", logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	<-done
	l := logs.String()
	if n := strings.Count(l, "--group-add 998"); n != 1 {
		t.Errorf("the advice was logged %d times, want once:\n%s", n, l)
	}
	if n := strings.Count(l, "level=WARN msg=\"source unavailable; keeping the last config and retrying\""); n != 4 {
		t.Errorf("%d retry lines, want 4:\n%s", n, l)
	}
	if !strings.Contains(l, "level=ERROR msg=\"source unavailable: permission denied on the Docker socket") {
		t.Errorf("the advice is not an error line:\n%s", l)
	}
}
