package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// TestNotifyContainerSignals is the sidecar case: after each change the
// watcher sends a signal to a container through the Docker API, either the
// global --notify-container or an output's own notify_container from the
// config file. The test backend records the signals it receives.
func TestNotifyContainerSignals(t *testing.T) {
	cli := setup(t)
	tests := []struct {
		name, signal string
		args         func(out, proxy string) []string
	}{
		{"flags", "SIGUSR2", func(out, proxy string) []string {
			return []string{"-o", out, "--notify-container", proxy, "--notify-signal", "USR2"}
		}},
		{"per-output in the config file", "SIGUSR1", func(out, proxy string) []string {
			cfg := filepath.Join(filepath.Dir(out), "rproxy-gen.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("outputs:\n  - template: haproxy\n    dest: %s\n    notify_container: %s\n    notify_signal: usr1\n", out, proxy)), 0o644)
			return []string{"-c", cfg}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := dockertest.Run(t, cli, dockertest.RunOptions{Name: "proxy", Env: []string{"NAME=proxy"}})
			proxyAddr := dockertest.IP(t, cli, proxy.ID, "") + ":80"
			dockertest.WaitHTTP(t, "http://"+proxyAddr+"/")
			signals := func() int {
				_, body, err := proxytest.Get(proxyAddr, "x", "/signals")
				if err != nil {
					return -1
				}
				return strings.Count(body, tt.signal)
			}

			out := filepath.Join(t.TempDir(), "haproxy.cfg")
			startWatch(t, nil, tt.args(out, proxy.Name)...)
			waitFile(t, out, "listen stats")
			// The first render wrote the file: a signal.
			first := 0
			dockertest.Poll(t, routeWait, "signal after the first render", func() error {
				if first = signals(); first < 1 {
					return fmt.Errorf("%d %s received", first, tt.signal)
				}
				return nil
			})
			app := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app", Env: []string{"RPROXY=http://signal.test"}})
			waitFile(t, out, "server "+app.Name+" ")
			dockertest.Poll(t, routeWait, "signal after the change", func() error {
				if n := signals(); n <= first {
					return fmt.Errorf("%d %s received, want more than %d", n, tt.signal, first)
				}
				return nil
			})
		})
	}
}
