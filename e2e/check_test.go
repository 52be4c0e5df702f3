package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/templates"
)

// TestWatchFailedCheckKeepsLastGoodConfig edits a template file (watched
// with fsnotify) so that it renders a config HAProxy refuses: the check
// fails, the last good file stays byte for byte, notify does not run and
// HAProxy keeps serving. Fixing the template renders again and notifies.
func TestWatchFailedCheckKeepsLastGoodConfig(t *testing.T) {
	cli := setup(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	tmpl := filepath.Join(dir, "my-haproxy.tmpl")
	good, err := templates.Builtin("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	port, statsPort := proxytest.FreePort(t), proxytest.FreePort(t)
	hp := strconv.Itoa(port)
	front := "127.0.0.1:" + hp
	pidfile := filepath.Join(dir, "haproxy.pid")
	notified := filepath.Join(dir, "notified")
	w := startWatch(t, nil, "-t", tmpl+":"+cfg, "--bind", "127.0.0.1", "--stats-addr", "127.0.0.1:"+strconv.Itoa(statsPort),
		"--check", "haproxy -c -q -f {{.File}}",
		"--notify", "echo reload >> "+notified+"; "+proxytest.ReloadCommand(pidfile))
	waitFile(t, cfg, "listen stats")
	proxytest.StartHAProxy(t, cfg, pidfile)

	run := func(name string) {
		dockertest.Run(t, cli, dockertest.RunOptions{Name: name, Env: []string{"NAME=" + name, "RPROXY=http://check.test:" + hp, "HTTP_PORTS=" + hp}})
	}
	run("one")
	waitServed(t, "one served", front, "check.test", map[string]int{"one": 1})
	lastGood, _ := os.ReadFile(cfg)
	reloads := countLines(t, notified)

	// Break the template: valid text/template, invalid HAProxy.
	broken := strings.Replace(good, "balance roundrobin", "balance no-such-algorithm", 1)
	if broken == good {
		t.Fatal("the built-in template has no 'balance roundrobin' to break")
	}
	if err := os.WriteFile(tmpl, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	w.waitLog("template change noticed and check failed", "template file changed", "check failed")
	// A new container while the template is broken: still refused.
	run("two")
	dockertest.Poll(t, routeWait, "second refusal", func() error {
		if n := strings.Count(w.Logs.String(), "output not updated"); n < 2 {
			return fmt.Errorf("%d refusals logged", n)
		}
		return nil
	})
	if now, _ := os.ReadFile(cfg); !bytes.Equal(now, lastGood) {
		t.Errorf("a refused config replaced the last good file")
	}
	if n := countLines(t, notified); n != reloads {
		t.Errorf("notify ran %d times after failed checks", n-reloads)
	}
	if got := names(front, "check.test", 4); got["one"] != 4 {
		t.Errorf("HAProxy stopped serving the last good config: %v", got)
	}
	// A render may still be under way (staging exists while it runs): a
	// staging directory left behind is one that never goes away.
	dockertest.Poll(t, 10*time.Second, "no staging directory left behind", func() error {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".stage-") {
				return fmt.Errorf("staging left behind: %s", e.Name())
			}
		}
		return nil
	})

	// Fix the template: both containers are rendered, checked, swapped in,
	// HAProxy is reloaded and serves both.
	if err := os.WriteFile(tmpl, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	waitServed(t, "both served after the fix", front, "check.test", map[string]int{"one": 2, "two": 2})
	if n := countLines(t, notified); n != reloads+1 {
		t.Errorf("notify ran %d times after the fix, want once", n-reloads)
	}
}

// countLines returns the number of lines in path (0 when it is missing).
func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}
