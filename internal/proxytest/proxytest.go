// Package proxytest runs real proxies for tests: it finds HAProxy and nginx
// (failing loudly under CI when they are missing), starts them on loopback,
// and speaks HTTP and raw TCP through them.
package proxytest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StreamModule is where Debian's libnginx-mod-stream puts the stream module.
const StreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

// Need returns the path of program bin. When it is missing the test is
// skipped, or fails with what to install when CI is set: under CI a missing
// dependency is an error, never a silent pass.
func Need(t testing.TB, bin, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: no real %s", bin)
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		Missing(t, fmt.Sprintf("%s not found: apt-get install -y %s (or run make test, which installs it)", bin, pkg))
	}
	return path
}

// Missing ends a test whose dependency is missing: under CI (CI=true) it
// fails with msg, which says what to install, since there a skipped test
// must never pass for a tested one; elsewhere it skips.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// NeedHAProxy returns the haproxy binary (see Need).
func NeedHAProxy(t testing.TB) string { return Need(t, "haproxy", "haproxy") }

// NeedNginx returns the nginx binary and the line that loads its stream
// module ("load_module PATH;\n", or "" when the module is built in); see
// Need for what happens when either is missing.
func NeedNginx(t testing.TB) (bin, loadModule string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no real nginx")
	}
	missing := func(why string) {
		t.Helper()
		Missing(t, why+": apt-get install -y nginx-light libnginx-mod-stream (or run make test, which installs them)")
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		missing("nginx not found")
	}
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		missing(fmt.Sprintf("nginx -V: %v", err))
	}
	switch configure := string(out); {
	case strings.Contains(configure, "--with-stream=dynamic"):
		if _, err := os.Stat(StreamModule); err != nil {
			missing("nginx stream module " + StreamModule + " not found")
		}
		return bin, "load_module " + StreamModule + ";\n"
	case regexp.MustCompile(`--with-stream(\s|$)`).MatchString(configure):
		return bin, ""
	default:
		missing("nginx has no stream module")
	}
	return "", ""
}

// FreePort returns a TCP port that is free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListen waits up to 10s until addr accepts connections.
func WaitListen(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer safe for a process writing while a test reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Process is a started program whose output is collected in Logs. It is
// killed with its process group when the test ends, and its output is shown
// when the test failed.
type Process struct {
	Cmd  *exec.Cmd
	Logs *Buffer
	done chan struct{}
	err  error
}

// Start runs name with args in dir and registers its cleanup.
func Start(t testing.TB, dir string, env []string, name string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(name, args...), Logs: &Buffer{}, done: make(chan struct{})}
	p.Cmd.Dir = dir
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), p.Logs.String())
		}
	})
	return p
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to exit and returns its error;
// it reports a timeout as an error too.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("still running after %s", timeout)
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartHAProxy starts HAProxy in master-worker mode on cfg, from cfg's
// directory (so relative map paths work), with the master's PID in pidfile,
// and waits until every "bind ADDR" line of cfg listens. Reloading it
// (SIGUSR2 or SIGHUP to the master) keeps the old workers serving when a new
// config is refused.
func StartHAProxy(t testing.TB, cfg, pidfile string) *Process {
	t.Helper()
	p := Start(t, filepath.Dir(cfg), nil, NeedHAProxy(t), "-W", "-db", "-f", cfg, "-p", pidfile)
	WaitBinds(t, cfg, "bind")
	return p
}

// ReloadCommand is a --notify command that reloads the HAProxy whose master
// PID is in pidfile, and does nothing before HAProxy has written it.
func ReloadCommand(pidfile string) string {
	return fmt.Sprintf("test ! -s %[1]s || kill -USR2 $(head -n 1 %[1]s)", pidfile)
}

// WaitBinds waits until every address of the "KEYWORD ADDR" lines in cfg
// (bind for HAProxy, listen for nginx) accepts connections.
func WaitBinds(t testing.TB, cfg, keyword string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		if len(f) >= 2 && f[0] == keyword && strings.Contains(f[1], ":") {
			addr := f[1]
			if strings.HasPrefix(addr, ":") {
				addr = "127.0.0.1" + addr
			}
			WaitListen(t, addr)
		}
	}
}

// Client is an HTTP client for tests: no proxy from the environment
// (HTTP_PROXY would capture loopback and container addresses), short
// timeouts, and a new connection for every request, as round-robin checks
// need.
func Client() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			DisableKeepAlives: true,
		},
	}
}

// Get sends GET path with the Host header host to addr and returns the
// status code and body.
func Get(addr, host, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// ReadLine connects to addr and returns the first line the server sends.
func ReadLine(addr string) (string, error) { return Exchange(addr, "") }

// Exchange connects to addr, sends req (if any) and returns the first line
// of the answer, without its line end.
func Exchange(addr, req string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
