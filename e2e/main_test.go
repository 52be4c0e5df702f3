// Package e2e tests rproxy-gen as users run it: the real binary against a
// real Docker daemon, with real HAProxy and nginx reloaded by its notify
// hooks, and real HTTP and TCP traffic through them to real containers.
package e2e

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// binary is the rproxy-gen binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test here needs real Docker: all skip
	}
	dir, err := os.MkdirTemp("", "rpg-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "rproxy-gen")
	build := exec.Command("go", "build", "-o", binary, "../cmd/rproxy-gen")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build rproxy-gen: %v\n%s", err, out)
		return 1
	}
	return dockertest.RunMain(m)
}

// setup connects to Docker and makes sure the test image exists.
func setup(t *testing.T) *client.Client {
	t.Helper()
	proxytest.NeedHAProxy(t)
	cli := dockertest.Connect(t)
	dockertest.BuildTestImage(t, cli)
	return cli
}

// oneShot runs rproxy-gen to completion and returns its stdout.
func oneShot(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rproxy-gen %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// watcher is a running `rproxy-gen --watch`.
type watcher struct {
	*proxytest.Process
	t *testing.T
}

// startWatch starts rproxy-gen --watch with args (plus env, e.g. a
// DOCKER_HOST) and stops it with SIGTERM at the end of the test, checking
// that it exits cleanly. On the shared daemon (no env) it sees only the
// containers of this test process (--filter on dockertest's owner label):
// other test processes come and go there with RPROXY containers of their
// own.
func startWatch(t *testing.T, env []string, args ...string) *watcher {
	t.Helper()
	if len(env) == 0 {
		args = append([]string{"--filter", "label=" + dockertest.OwnerLabel + "=" + dockertest.Owner()}, args...)
	}
	args = append([]string{"--watch", "--wait", "50ms:500ms", "--log-level", "debug"}, args...)
	w := &watcher{Process: proxytest.Start(t, t.TempDir(), env, binary, args...), t: t}
	t.Cleanup(func() {
		if w.Exited() {
			return
		}
		w.Signal(syscall.SIGTERM)
		if err := w.Wait(10 * time.Second); err != nil {
			t.Errorf("rproxy-gen --watch did not exit cleanly on SIGTERM: %v", err)
		}
	})
	return w
}

// waitLog waits until the watcher's log holds every one of subs.
func (w *watcher) waitLog(what string, subs ...string) {
	w.t.Helper()
	dockertest.Poll(w.t, 60*time.Second, what, func() error {
		logs := w.Logs.String()
		for _, s := range subs {
			if !strings.Contains(logs, s) {
				return fmt.Errorf("log lacks %q", s)
			}
		}
		return nil
	})
}

// waitFile waits until path exists and holds every one of subs; it returns
// the content.
func waitFile(t testing.TB, path string, subs ...string) string {
	t.Helper()
	var content string
	dockertest.Poll(t, 60*time.Second, path+" content", func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		content = string(b)
		for _, s := range subs {
			if !strings.Contains(content, s) {
				return fmt.Errorf("%s lacks %q", path, s)
			}
		}
		return nil
	})
	return content
}

// names sends n requests with Host host to addr and counts the backend
// names answering; any non-200 answer is counted under its status.
func names(addr, host string, n int) map[string]int {
	seen := map[string]int{}
	for range n {
		code, body, err := proxytest.Get(addr, host, "/")
		switch {
		case err != nil:
			seen["error"]++
		case code != 200:
			seen[fmt.Sprint(code)]++
		default:
			seen[field(body, "name")]++
		}
	}
	return seen
}

// waitServed polls until requests with Host host to addr are answered
// exactly as want says (backend name or status → count), within routeWait.
func waitServed(t testing.TB, what, addr, host string, want map[string]int) {
	t.Helper()
	n := 0
	for _, c := range want {
		n += c
	}
	dockertest.Poll(t, routeWait, what, func() error {
		if got := names(addr, host, n); !maps.Equal(got, want) {
			return fmt.Errorf("answers %v, want %v", got, want)
		}
		return nil
	})
}

// field returns the value of key=value in a test backend answer.
func field(body, key string) string {
	for _, f := range strings.Fields(body) {
		if k, v, ok := strings.Cut(f, "="); ok && k == key {
			return v
		}
	}
	return ""
}
