package shell

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, text string
		vars       []string
		wantErr    string
	}{
		{"check with file and dir", "haproxy -c -f {{.File}} -C {{.Dir}}", []string{"File", "Dir"}, ""},
		{"global notify has no file", "reload {{.File}}", nil, "has none"},
		{"unknown variable", "x {{.Nope}}", []string{"File"}, "{{.File}}"},
		{"syntax error", "x {{.File", []string{"File"}, "unclosed action"},
		{"no variables at all", "systemctl reload haproxy", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.text, tt.vars...)
			if tt.wantErr == "" {
				if err != nil || c.String() != tt.text {
					t.Fatalf("Parse = %v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if c, err := Parse("  "); c != nil || err != nil {
		t.Errorf("empty command: %v, %v; want nil, nil", c, err)
	}
}

func TestExpandQuotes(t *testing.T) {
	tests := []struct{ cmd, file, want string }{
		{"haproxy -c -f {{.File}}", "/etc/haproxy/h.cfg", "haproxy -c -f /etc/haproxy/h.cfg"},
		{"check {{.File}}", "/tmp/a b/x.cfg", "check '/tmp/a b/x.cfg'"},
		{"check {{.File}}", "/tmp/it's;rm", `check '/tmp/it'\''s;rm'`},
		{"check {{.File}}", "", "check ''"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.cmd, "File")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Expand(map[string]string{"File": tt.file}); err != nil || got != tt.want {
			t.Errorf("Expand(%q, %q) = %q, %v; want %q", tt.cmd, tt.file, got, err, tt.want)
		}
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	out, err := Run(ctx, "echo hello; echo oops >&2", time.Second)
	if err != nil || !strings.Contains(string(out), "hello") || !strings.Contains(string(out), "oops") {
		t.Fatalf("out %q, err %v", out, err)
	}
	_, err = Run(ctx, "echo partial; exit 3", time.Second)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Error(), "partial") || !strings.Contains(e.Error(), "exit status 3") {
		t.Fatalf("err = %v, want an Error with the output and status", err)
	}
}

// TestRunBackgroundChild: a command that leaves a child running in the
// background succeeds at once (it is not waited for), and the child lives on.
func TestRunBackgroundChild(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	out, err := Run(context.Background(), "sleep 30 & echo $! > "+Quote(pidfile)+"; echo started", 10*time.Second)
	if err != nil || !strings.Contains(string(out), "started") {
		t.Fatalf("out %q, err %v", out, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run waited %v for the background child", d)
	}
	pid := readPid(t, pidfile)
	defer syscall.Kill(pid, syscall.SIGKILL)
	if !alive(pid) {
		t.Errorf("the background child was killed")
	}
}

// TestRunTimeoutKillsGroup: on time-out the shell and its children die.
func TestRunTimeoutKillsGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	_, err := Run(context.Background(), "sleep 30 & echo $! > "+Quote(pidfile)+"; sleep 30", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a time-out", err)
	}
	pid := readPid(t, pidfile)
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatal("the background child survived the time-out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := Run(ctx, "sleep 30", 10*time.Second); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

// alive reports whether pid runs: it exists and is not a zombie waiting to
// be reaped by init.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	for range 100 {
		b, _ := os.ReadFile(path)
		if s := strings.TrimSpace(string(b)); s != "" {
			for _, c := range s {
				pid = pid*10 + int(c-'0')
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no pid written")
	return 0
}

// quoteSeeds are values that have broken shell quoting somewhere.
var quoteSeeds = []string{"", "a b", "it's", "$(reboot)", "`id`", "a\nb", "\\", "'\"", "-e", "*", "~root", "a;b&c|d", "''", "'\\''", "\t x"}

// TestQuoteThroughShell: each seed, and 300 random values, expanded into a
// command and run by sh, reach the program as exactly one argument, byte
// for byte.
func TestQuoteThroughShell(t *testing.T) {
	c, err := Parse("printf '%s' {{.File}}", "File")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	values := append([]string{}, quoteSeeds...)
	for range 300 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(1 + rng.IntN(255)) // no NUL: no argv holds one
		}
		values = append(values, string(b))
	}
	for _, s := range values {
		cmd, err := c.Expand(map[string]string{"File": s})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Run(context.Background(), cmd, 5*time.Second)
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		if string(out) != s {
			t.Fatalf("%q printed %q, want %q", cmd, out, s)
		}
	}
}

// FuzzQuote: whatever a value holds, its quoted form is one shell word that
// is the value again (read by Split, sh's simple-command word splitting;
// TestQuoteThroughShell checks Split and Quote against the real sh).
func FuzzQuote(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\x00\n\r") {
			return // no argv holds NUL; Split refuses line breaks, which sh takes
		}
		words, err := Split("printf " + Quote(s))
		if err != nil {
			t.Fatalf("Quote(%q) = %s: %v", s, Quote(s), err)
		}
		if len(words) != 2 || words[1] != s {
			t.Fatalf("Quote(%q) = %s reads back as %q", s, Quote(s), words[1:])
		}
	})
}
