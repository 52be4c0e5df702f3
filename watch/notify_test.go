package watch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/compile"
)

// recordSignals is a Signaler that records what it was asked to send and
// can be told to fail; the real Docker delivery is tested in e2e.
type recordSignals struct {
	sent []string
	fail bool
}

func (r *recordSignals) Signal(_ context.Context, c, sig string) error {
	if r.fail {
		return errors.New("container not found")
	}
	r.sent = append(r.sent, c+" "+sig)
	return nil
}

// TestNotifier runs real shell commands: per-output then global then the
// container signal, only for changed file outputs, and a failed notify is
// retried on the next Run even when nothing changed.
func TestNotifier(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "log")
	var logs bytes.Buffer
	sig := &recordSignals{}
	failFlag := filepath.Join(dir, "fail")
	n := &Notifier{
		Command:   "test ! -e " + compile.ShellQuote(failFlag) + " && echo global >> " + compile.ShellQuote(logf),
		Container: "haproxy", Signal: "HUP", Signaler: sig,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	tmpl, err := compile.Parse("t", "x")
	if err != nil {
		t.Fatal(err)
	}
	out := func(dest string, changed bool, err error) compile.Result {
		return compile.Result{Output: compile.Output{Template: tmpl, Dest: dest,
			Notify: "echo out {{.File}} >> " + compile.ShellQuote(logf)}, Changed: changed, Err: err}
	}
	read := func() string {
		b, _ := os.ReadFile(logf)
		os.Remove(logf)
		return string(b)
	}

	// Nothing changed: nothing runs.
	if err := n.Run(context.Background(), []compile.Result{out("/a.cfg", false, nil)}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "" || len(sig.sent) != 0 {
		t.Fatalf("ran %q %v with nothing changed", got, sig.sent)
	}
	// A changed file, an unchanged one, a failed one and stdout.
	err = n.Run(context.Background(), []compile.Result{
		out("/b.cfg", true, nil), out("/a.cfg", false, nil), out("/c.cfg", true, errors.New("check failed")), out("", true, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := read(), "out /b.cfg\nglobal\n"; got != want {
		t.Errorf("commands ran %q, want %q", got, want)
	}
	if want := []string{"haproxy HUP"}; strings.Join(sig.sent, ",") != strings.Join(want, ",") {
		t.Errorf("signals %v, want %v", sig.sent, want)
	}
	// An output with its own container to signal: that signal, then the global one.
	sig.sent = nil
	own := out("/d.cfg", true, nil)
	own.Output.NotifyContainer, own.Output.NotifySignal = "nginx", "SIGHUP"
	if err := n.Run(context.Background(), []compile.Result{own}); err != nil {
		t.Fatal(err)
	}
	read()
	if want := []string{"nginx SIGHUP", "haproxy HUP"}; strings.Join(sig.sent, ",") != strings.Join(want, ",") {
		t.Errorf("signals %v, want %v", sig.sent, want)
	}
	// The global command and the signal fail: both stay pending.
	os.WriteFile(failFlag, nil, 0o644)
	sig.fail = true
	if err := n.Run(context.Background(), []compile.Result{out("/b.cfg", true, nil)}); err == nil {
		t.Fatal("want an error from the failing notify")
	}
	read()
	if !n.Pending() || !strings.Contains(logs.String(), "notify failed") {
		t.Fatalf("failure not pending or not logged: %s", logs.String())
	}
	// Next run with nothing changed retries them.
	os.Remove(failFlag)
	sig.fail = false
	if err := n.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "global\n" {
		t.Errorf("retry ran %q, want the global command", got)
	}
	if len(sig.sent) != 3 || n.Pending() {
		t.Errorf("retry: signals %v, pending %v", sig.sent, n.Pending())
	}
}
