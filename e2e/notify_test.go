package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// TestNotifyContainerSignals is the sidecar case: after each change the
// watcher sends --notify-signal to the --notify-container through the
// Docker API. The test backend records the signals it receives.
func TestNotifyContainerSignals(t *testing.T) {
	cli := setup(t)
	proxy := dockertest.Run(t, cli, dockertest.RunOptions{Name: "proxy", Env: []string{"NAME=proxy"}})
	proxyAddr := dockertest.IP(t, cli, proxy.ID, "") + ":80"
	dockertest.WaitHTTP(t, "http://"+proxyAddr+"/")
	signals := func() int {
		_, body, err := proxytest.Get(proxyAddr, "x", "/signals")
		if err != nil {
			return -1
		}
		return strings.Count(body, "SIGUSR2")
	}

	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	startWatch(t, nil, "-o", out, "--notify-container", proxy.Name, "--notify-signal", "USR2")
	waitFile(t, out, "listen stats")
	// The first render wrote the file: one signal.
	first := 0
	dockertest.Poll(t, routeWait, "signal after the first render", func() error {
		if first = signals(); first < 1 {
			return fmt.Errorf("%d SIGUSR2 received", first)
		}
		return nil
	})
	app := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app", Env: []string{"RPROXY=http://signal.test"}})
	waitFile(t, out, "server "+app.Name+" ")
	dockertest.Poll(t, routeWait, "signal after the change", func() error {
		if n := signals(); n <= first {
			return fmt.Errorf("%d SIGUSR2 received, want more than %d", n, first)
		}
		return nil
	})
}
