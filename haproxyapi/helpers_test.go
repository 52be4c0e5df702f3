package haproxyapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// instance is a real HAProxy started in master-worker mode for a test, with
// its Runtime API socket (admin level) and its master CLI.
type instance struct {
	dir, cfg, pidfile string
	proc              *proxytest.Process
	client            *Client
	master            *Master
}

// globalSection is the start of every test configuration: the Runtime API
// socket as rproxy-gen will configure it, in the test's directory.
func globalSection(dir string) string {
	return fmt.Sprintf(`global
    default-path config
    stats socket %s mode 660 level admin expose-fd listeners
    stats timeout 1m
    server-state-file %s
`, filepath.Join(dir, "admin.sock"), filepath.Join(dir, "state"))
}

// defaultsSection is the defaults of the built-in template, short checks.
const defaultsSection = `defaults
    mode http
    load-server-state-from-file global
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 1s
    default-server check inter 2s fall 3 rise 2
`

// startHAProxy writes cfg (and files, named relative to its directory) to a
// new directory and starts HAProxy on it with "-W -S master.sock", waiting
// until every bind listens and the Runtime API answers.
func startHAProxy(t testing.TB, dir, cfg string, files map[string]string) *instance {
	t.Helper()
	bin := proxytest.NeedHAProxy(t)
	in := &instance{dir: dir, cfg: filepath.Join(dir, "haproxy.cfg"), pidfile: filepath.Join(dir, "haproxy.pid")}
	in.write(t, cfg, files)
	if out, err := runCheck(bin, in.cfg); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
	in.proc = proxytest.Start(t, dir, nil, bin, "-W", "-db", "-S", filepath.Join(dir, "master.sock"), "-f", in.cfg, "-p", in.pidfile)
	proxytest.WaitBinds(t, in.cfg, "bind")
	var err error
	if in.client, err = New(filepath.Join(dir, "admin.sock")); err != nil {
		t.Fatal(err)
	}
	if in.master, err = NewMaster(filepath.Join(dir, "master.sock")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := in.client.ShowInfo(context.Background())
		if err == nil {
			_, err = in.master.ShowProc(context.Background())
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime API or master CLI does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return in
}

func (in *instance) write(t testing.TB, cfg string, files map[string]string) {
	t.Helper()
	if err := os.WriteFile(in.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(in.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runCheck(bin, cfg string) ([]byte, error) {
	cmd := exec.Command(bin, "-c", "-q", "-f", cfg)
	cmd.Dir = filepath.Dir(cfg)
	return cmd.CombinedOutput()
}

// testBackend is an in-process HTTP server on 127.0.0.1 that answers
// "name=NAME"; GET /hold blocks until release is called (a session that
// stays open on the server).
type testBackend struct {
	name    string
	port    int
	release func()
}

func newBackend(t testing.TB, name string) *testBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	done := false
	b := &testBackend{name: name, port: l.Addr().(*net.TCPAddr).Port, release: func() {
		if !done {
			done = true
			close(hold)
		}
	}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		fmt.Fprintf(w, "name=%s path=%s\n", name, r.URL.Path)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { b.release(); srv.Close() })
	return b
}

// addr is the backend's "127.0.0.1:PORT".
func (b *testBackend) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// freeAddr returns "127.0.0.1:PORT" for a port free right now.
func freeAddr(t testing.TB) string {
	return fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))
}

// hits sends n requests (new connection each) and counts the answering
// backends by name; "503" counts HAProxy's refusals.
func hits(t testing.TB, front, host, path string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		code, body, err := proxytest.Get(front, host, path)
		switch {
		case err != nil:
			t.Fatalf("GET %s%s via %s: %v", host, path, front, err)
		case code == http.StatusServiceUnavailable:
			out["503"]++
		case code != http.StatusOK:
			t.Fatalf("GET %s%s: status %d: %s", host, path, code, body)
		default:
			name, _, _ := strings.Cut(strings.TrimPrefix(body, "name="), " ")
			out[name]++
		}
	}
	return out
}

// eventually retries f every 20ms until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverState returns the state of backend/server, failing the test when it
// is absent.
func serverState(t testing.TB, rt Runtime, backend, server string) ServerState {
	t.Helper()
	all, err := rt.ShowServersState(context.Background(), backend)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == server {
			return s
		}
	}
	t.Fatalf("%s/%s not in show servers state: %+v", backend, server, all)
	return ServerState{}
}
