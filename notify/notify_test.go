package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/shell"
)

// recordSignals is a Signaler that records what it was asked to send and
// can be told to fail; the real Docker delivery is tested in e2e.
type recordSignals struct {
	mu   sync.Mutex
	sent []string
	fail bool
}

func (r *recordSignals) Signal(_ context.Context, c, sig string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("container not found")
	}
	r.sent = append(r.sent, c+" "+sig)
	return nil
}

func (r *recordSignals) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.sent, ",")
	r.sent = nil
	return s
}

func mustParse(t *testing.T, text string, vars ...string) *shell.Command {
	t.Helper()
	c, err := shell.Parse(text, vars...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNotify runs real shell commands: per-output then global then the
// container signal, and a failed notify is retried on the next call even
// when nothing changed.
func TestNotify(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "log")
	var logs bytes.Buffer
	sig := &recordSignals{}
	failFlag := filepath.Join(dir, "fail")
	n := New(Config{
		Command:    mustParse(t, "test ! -e "+shell.Quote(failFlag)+" && echo global >> "+shell.Quote(logf)),
		Containers: []string{"haproxy"}, Signal: "HUP", Signaler: sig,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	change := func(file string) Change {
		return Change{File: file, Command: mustParse(t, "echo out {{.File}} >> "+shell.Quote(logf), "File")}
	}
	read := func() string {
		b, _ := os.ReadFile(logf)
		os.Remove(logf)
		return string(b)
	}
	ctx := context.Background()

	if err := n.Notify(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, s := read(), sig.take(); got != "" || s != "" {
		t.Fatalf("ran %q %v with nothing changed", got, s)
	}
	if err := n.Notify(ctx, []Change{change("/b.cfg"), change("/a.cfg")}); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), "out /a.cfg\nout /b.cfg\nglobal\n"; got != want {
		t.Errorf("commands ran %q, want %q", got, want)
	}
	if s := sig.take(); s != "haproxy HUP" {
		t.Errorf("signals %v, want haproxy HUP once", s)
	}
	// An output with its own container to signal: that signal, then the global one.
	if err := n.Notify(ctx, []Change{{File: "/d.cfg", Container: "nginx", Signal: "SIGHUP"}, {File: "/e.cfg", Container: "other"}}); err != nil {
		t.Fatal(err)
	}
	read()
	if got, want := sig.take(), "nginx SIGHUP,other HUP,haproxy HUP"; got != want {
		t.Errorf("signals %v, want %v", got, want)
	}
	// The global command and the signal fail: both stay pending.
	os.WriteFile(failFlag, nil, 0o644)
	sig.fail = true
	if err := n.Notify(ctx, []Change{change("/b.cfg")}); err == nil {
		t.Fatal("want an error from the failing notify")
	}
	read()
	if !strings.Contains(logs.String(), "notify failed") || strings.Contains(logs.String(), "retry") {
		t.Fatalf("failure not logged, or a one-shot notifier promises a retry: %s", logs.String())
	}
	// The next call with nothing changed retries them, and only them.
	os.Remove(failFlag)
	sig.fail = false
	if err := n.Notify(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "global\n" {
		t.Errorf("retry ran %q, want the global command", got)
	}
	if got := sig.take(); got != "haproxy HUP" {
		t.Errorf("retry signals %v", got)
	}
	if err := n.Notify(ctx, nil); err != nil || read() != "" || sig.take() != "" {
		t.Errorf("a notify ran again after it succeeded")
	}
}

// TestRunCoalesces: in the background, a notify that hangs never blocks
// Trigger, and the triggers that come while it runs give one more run, not
// one each.
func TestRunCoalesces(t *testing.T) {
	dir := t.TempDir()
	count, gate := filepath.Join(dir, "count"), filepath.Join(dir, "gate")
	// Each run appends a line, then waits until the gate file exists.
	cmd := mustParse(t, "echo run >> "+shell.Quote(count)+"; while [ ! -e "+shell.Quote(gate)+" ]; do sleep 0.01; done")
	var logs bytes.Buffer
	n := New(Config{Command: cmd, Timeout: 10 * time.Second, Retries: true, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	lines := func() int {
		b, _ := os.ReadFile(count)
		return bytes.Count(b, []byte("\n"))
	}
	n.Trigger([]Change{{File: "/a"}})
	waitFor(t, "the first run", func() bool { return lines() == 1 })
	start := time.Now()
	for range 20 {
		n.Trigger([]Change{{File: "/a"}})
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("20 triggers took %v while a notify hung", d)
	}
	os.WriteFile(gate, nil, 0o644)
	waitFor(t, "the coalesced second run", func() bool { return lines() == 2 })
	time.Sleep(100 * time.Millisecond)
	if got := lines(); got != 2 {
		t.Errorf("%d runs for 21 triggers during one hung notify, want 2", got)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeConfirm is a Confirmer whose verdict the test sets; the real one
// (HAProxy's master CLI) is tested against HAProxy.
type fakeConfirm struct {
	mu                sync.Mutex
	beginErr, waitErr error
	begins, waits     int
}

func (f *fakeConfirm) Begin(context.Context) (func(context.Context) error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begins++
	if f.beginErr != nil {
		return nil, f.beginErr
	}
	return func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.waits++
		return f.waitErr
	}, nil
}

// TestNotifyContainers: every --notify-container is signalled once per
// change, in name order.
func TestNotifyContainers(t *testing.T) {
	sig := &recordSignals{}
	n := New(Config{Containers: []string{"nginx", "haproxy"}, Signal: "SIGHUP", Signaler: sig, Log: slog.New(slog.NewTextHandler(new(bytes.Buffer), nil))})
	if err := n.Notify(context.Background(), []Change{{File: "/a"}, {File: "/b"}}); err != nil {
		t.Fatal(err)
	}
	if got := sig.take(); got != "haproxy SIGHUP,nginx SIGHUP" {
		t.Errorf("signals %q", got)
	}
}

// TestConfirmedReload: a confirmed reload is logged as such; a refused
// one is logged as an error and not retried until the next change; one
// whose signal brought no reload at all is signalled once more at once, and
// then stays pending; a confirmer that cannot start only warns, and the
// signal is still sent.
func TestConfirmedReload(t *testing.T) {
	var logs bytes.Buffer
	sig := &recordSignals{}
	conf := &fakeConfirm{}
	n := New(Config{Signal: "SIGHUP", Signaler: sig, Retries: true, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	change := []Change{{File: "/h.cfg", Container: "haproxy", Confirm: conf}}

	if err := n.Notify(ctx, change); err != nil || sig.take() != "haproxy SIGHUP" || !strings.Contains(logs.String(), "reload confirmed") {
		t.Fatalf("confirmed: %v\n%s", err, logs.String())
	}
	conf.waitErr = fmt.Errorf("%w: [ALERT] cannot bind socket", ErrReloadRefused)
	logs.Reset()
	if err := n.Notify(ctx, change); !errors.Is(err, ErrReloadRefused) {
		t.Fatalf("refused: %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "refused the reload") || !strings.Contains(l, "cannot bind socket") ||
		!strings.Contains(l, "the next change reloads it again") || strings.Contains(l, "will retry after the next render") {
		t.Errorf("refused reload logged as:\n%s", l)
	}
	sig.take()
	if err := n.Notify(ctx, nil); err != nil || sig.take() != "" {
		t.Errorf("a refused reload was signalled again without a change: %v", err)
	}
	conf.waitErr = fmt.Errorf("%w within 10s", ErrNoReload)
	if err := n.Notify(ctx, change); !errors.Is(err, ErrNoReload) {
		t.Fatalf("an unconfirmed reload: %v", err)
	}
	if got := sig.take(); got != "haproxy SIGHUP,haproxy SIGHUP" {
		t.Errorf("a reload not seen: signals %q, want the signal and one more at once", got)
	}
	conf.waitErr = nil
	if err := n.Notify(ctx, nil); err != nil || sig.take() != "haproxy SIGHUP" {
		t.Errorf("an unconfirmed reload was not retried: %v", err)
	}
	conf.beginErr = errors.New("dial unix /x/master.sock: no such file")
	logs.Reset()
	if err := n.Notify(ctx, change); err != nil || sig.take() != "haproxy SIGHUP" || !strings.Contains(logs.String(), "cannot confirm the reload") {
		t.Errorf("confirmer down: %v\n%s", err, logs.String())
	}
}

type stoppedSignals struct{ calls int }

func (s *stoppedSignals) Signal(_ context.Context, c, _ string) error {
	s.calls++
	return fmt.Errorf("signal to %s: %w: Container abc is not running", c, ErrNotRunning)
}

// TestSignalStoppedContainer: a proxy container that is not running has
// nothing to reload: a warning, no error, no retry.
func TestSignalStoppedContainer(t *testing.T) {
	var logs bytes.Buffer
	sig := &stoppedSignals{}
	n := New(Config{Containers: []string{"haproxy"}, Signal: "SIGHUP", Signaler: sig, Retries: true, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := n.Notify(context.Background(), []Change{{File: "/a"}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), nil); err != nil || sig.calls != 1 {
		t.Errorf("retried: %v, %d calls", err, sig.calls)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "not running: nothing to reload") || strings.Contains(l, "level=ERROR") {
		t.Errorf("logs:\n%s", l)
	}
}

// TestNextBatch: the first batch runs at once, later ones wait until the
// interval has passed since the last one started (a fake clock).
func TestNextBatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	tests := []struct {
		name     string
		last     time.Time
		now      time.Duration // offset from t0
		interval time.Duration
		want     time.Duration
	}{
		{"no batch yet: at once", time.Time{}, 0, 2 * time.Second, 0},
		{"long after the last: at once", t0, 5 * time.Second, 2 * time.Second, 0},
		{"exactly the interval after: at once", t0, 2 * time.Second, 2 * time.Second, 0},
		{"soon after the last: the rest of the interval", t0, 300 * ms, 2 * time.Second, 1700 * ms},
		{"interval 0: at once", t0, 1 * ms, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextBatch(tt.last, t0.Add(tt.now), tt.interval); got != tt.want {
				t.Errorf("nextBatch = %v, want %v", got, tt.want)
			}
		})
	}
}

// timedSignals records when each signal was sent.
type timedSignals struct {
	mu sync.Mutex
	at []time.Time
}

func (r *timedSignals) Signal(context.Context, string, string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Now())
	return nil
}

func (r *timedSignals) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...)
}

// TestRunInterval: with an interval, the first trigger runs at once, and a
// burst of triggers soon after gives one more run, no sooner than the
// interval after the first (only lower bounds on time: a slow machine
// cannot fail it).
func TestRunInterval(t *testing.T) {
	sig := &timedSignals{}
	const interval = 150 * time.Millisecond
	n := New(Config{Containers: []string{"haproxy"}, Signal: "HUP", Signaler: sig, Interval: interval, Retries: true,
		Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	n.Trigger([]Change{{File: "/a"}})
	waitFor(t, "the first run", func() bool { return len(sig.times()) == 1 })
	for range 10 { // all at once: well within the interval, however slow the machine
		n.Trigger([]Change{{File: "/a"}})
	}
	waitFor(t, "the second run", func() bool { return len(sig.times()) == 2 })
	time.Sleep(2 * interval)
	at := sig.times()
	if len(at) != 2 {
		t.Fatalf("%d runs for 11 triggers, want 2 (the first at once, the rest together)", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < interval {
		t.Errorf("second run %v after the first, want at least %v", gap, interval)
	}
}
