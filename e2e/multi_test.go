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

// TestWatchMultiOutput renders two outputs from one model in --watch mode,
// configured by a config file: HAProxy (http and tcp, on 127.0.0.1) and nginx
// stream (tcp, on 127.0.0.2 through the output's own bind). Each output has
// its own check and notify. One container start updates both files in one
// render, and both proxies serve it.
func TestWatchMultiOutput(t *testing.T) {
	cli := setup(t)
	nginx, loadModule := proxytest.NeedNginx(t)
	dir := t.TempDir()
	hcfg, scfg := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "stream.conf")
	hpid, npid := filepath.Join(dir, "haproxy.pid"), filepath.Join(dir, "nginx.pid")
	hp, tp, sp := proxytest.FreePort(t), proxytest.FreePort(t), proxytest.FreePort(t)

	wrapper := func(include string) string {
		return loadModule + "worker_processes 1;\nerror_log stderr;\n" +
			"events {}\nstream { include " + include + "; }\n"
	}
	ncfg := filepath.Join(dir, "nginx.conf")
	os.WriteFile(ncfg, []byte("daemon off;\npid "+npid+";\n"+wrapper(scfg)), 0o644)
	// A fragment cannot be checked alone: the staged copy is checked inside
	// a wrapper that includes it from a fixed place.
	checkDir := filepath.Join(dir, "check")
	os.Mkdir(checkDir, 0o755)
	os.WriteFile(filepath.Join(checkDir, "nginx.conf"), []byte(wrapper(filepath.Join(checkDir, "stream.conf"))), 0o644)
	nginxCheck := fmt.Sprintf("cp {{.File}} %[1]s/stream.conf && %[2]s -t -q -e stderr -c %[1]s/nginx.conf", checkDir, nginx)
	config := fmt.Sprintf(`# two proxies from one model
bind: 127.0.0.1
stats_addr: 127.0.0.1:%d
wait: 50ms:500ms
outputs:
  - template: haproxy
    dest: %s
    check: haproxy -c -q -f {{.File}}
    notify: %q
  - template: nginx-stream
    dest: %s
    bind: 127.0.0.2
    check: %q
    notify: test ! -s %s || kill -HUP $(cat %[6]s)
`, sp, hcfg, proxytest.ReloadCommand(hpid), scfg, nginxCheck, npid)
	cfgFile := filepath.Join(dir, "rproxy-gen.yaml")
	os.WriteFile(cfgFile, []byte(config), 0o644)

	w := startWatch(t, nil, "--config", cfgFile)
	waitFile(t, hcfg, "listen stats")
	waitFile(t, scfg, "nginx")
	proxytest.StartHAProxy(t, hcfg, hpid)
	ng := proxytest.Start(t, dir, nil, nginx, "-p", dir, "-c", ncfg)
	dockertest.Poll(t, routeWait, "nginx pid file", func() error {
		if ng.Exited() {
			t.Fatalf("nginx exited:\n%s", ng.Logs.String())
		}
		_, err := os.Stat(npid)
		return err
	})

	env := func(name string) []string {
		return []string{"NAME=" + name, fmt.Sprintf("RPROXY=http://multi.test:%d,tcp://m:%d", hp, tp),
			fmt.Sprintf("HTTP_PORTS=%d", hp), fmt.Sprintf("TCP_PORTS=%d", tp)}
	}
	dockertest.Run(t, cli, dockertest.RunOptions{Name: "m1", Env: env("m1")})
	w.waitLog("both files changed in one render", fmt.Sprintf("changed=\"[%s %s]\"", hcfg, scfg))

	haHTTP, haTCP := fmt.Sprintf("127.0.0.1:%d", hp), fmt.Sprintf("127.0.0.1:%d", tp)
	ngTCP := fmt.Sprintf("127.0.0.2:%d", tp)
	tcpNames := func(addr string, n int) map[string]int {
		seen := map[string]int{}
		for range n {
			line, err := proxytest.ReadLine(addr)
			if err != nil {
				seen["error"]++
				continue
			}
			seen[field(line, "name")]++
		}
		return seen
	}
	dockertest.Poll(t, routeWait, "m1 through both proxies", func() error {
		h, ht, nt := names(haHTTP, "multi.test", 1), tcpNames(haTCP, 1), tcpNames(ngTCP, 1)
		if h["m1"] != 1 || ht["m1"] != 1 || nt["m1"] != 1 {
			return fmt.Errorf("haproxy http %v, haproxy tcp %v, nginx tcp %v", h, ht, nt)
		}
		return nil
	})

	// A replica: both proxies balance over both.
	dockertest.Run(t, cli, dockertest.RunOptions{Name: "m2", Env: env("m2")})
	dockertest.Poll(t, routeWait, "round robin in both proxies", func() error {
		ht, nt := tcpNames(haTCP, 4), tcpNames(ngTCP, 4)
		if ht["m1"] != 2 || ht["m2"] != 2 || nt["m1"] != 2 || nt["m2"] != 2 {
			return fmt.Errorf("haproxy tcp %v, nginx tcp %v", ht, nt)
		}
		return nil
	})
	stream, _ := os.ReadFile(scfg)
	if !strings.Contains(string(stream), "http routes not rendered: 1") {
		t.Errorf("nginx output does not say the http route was left out:\n%s", stream)
	}
}
