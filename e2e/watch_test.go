package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// routeWait bounds how long a change may take to reach traffic in tests
// (the benchmark measures the real figure; this only catches "never").
const routeWait = 30 * time.Second

// TestWatchRoutesLiveContainers drives rproxy-gen --watch with real HAProxy
// reloaded by --notify: containers come, scale, stop, turn unhealthy and
// healthy again, and one has a bad RPROXY; traffic follows each change.
func TestWatchRoutesLiveContainers(t *testing.T) {
	cli := setup(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	httpPort, tcpPort, statsPort := proxytest.FreePort(t), proxytest.FreePort(t), proxytest.FreePort(t)
	hp := strconv.Itoa(httpPort)
	front := "127.0.0.1:" + hp
	pidfile := filepath.Join(dir, "haproxy.pid")

	w := startWatch(t, nil, "-o", cfg, "--bind", "127.0.0.1", "--stats-addr", "127.0.0.1:"+strconv.Itoa(statsPort),
		"--check", "haproxy -c -q -f {{.File}}",
		"--notify", proxytest.ReloadCommand(pidfile))
	waitFile(t, cfg, "listen stats")
	proxytest.StartHAProxy(t, cfg, pidfile)

	app := "app.test"
	run := func(name, rproxy string, extra ...string) dockertest.Container {
		env := append([]string{"NAME=" + name, "RPROXY=" + rproxy, "HTTP_PORTS=" + hp, "TCP_PORTS=" + strconv.Itoa(tcpPort)}, extra...)
		return dockertest.Run(t, cli, dockertest.RunOptions{Name: name, Env: env})
	}

	// One container: reached within a bounded wait.
	run("web1", "http://"+app+":"+hp)
	waitServed(t, "web1 through HAProxy", front, app, map[string]int{"web1": 1})

	// Two more replicas: round robin reaches all three.
	web2 := run("web2", "http://"+app+":"+hp)
	run("web3", "http://"+app+":"+hp)
	waitServed(t, "round robin over web1..3", front, app, map[string]int{"web1": 3, "web2": 3, "web3": 3})

	// Stop one: it gets no more traffic, the others serve every request.
	dockertest.Stop(t, cli, web2.ID)
	waitServed(t, "web2 out of rotation", front, app, map[string]int{"web1": 4, "web3": 4})

	// A health-checked container drops out when unhealthy, comes back when
	// healthy. The check runs every 300ms inside the container.
	sick := "health.test"
	hc := dockertest.Run(t, cli, dockertest.RunOptions{Name: "hc", Env: []string{"NAME=hc", "RPROXY=http://" + sick + ":" + hp, "HTTP_PORTS=" + hp},
		Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/testbackend", "-health"},
			Interval: 300 * time.Millisecond, Timeout: time.Second, Retries: 1}})
	waitServed(t, "healthy container served", front, sick, map[string]int{"hc": 1})
	hcAddr := dockertest.IP(t, cli, hc.ID, "") + ":" + hp
	if code, _, err := proxytest.Get(hcAddr, "x", "/sick"); err != nil || code != 200 {
		t.Fatalf("/sick: %d %v", code, err)
	}
	waitServed(t, "unhealthy container dropped", front, sick, map[string]int{"503": 1})
	w.waitLog("unhealthy container listed", "container not routed")
	if code, _, err := proxytest.Get(hcAddr, "x", "/well"); err != nil || code != 200 {
		t.Fatalf("/well: %d %v", code, err)
	}
	waitServed(t, "healthy again, served again", front, sick, map[string]int{"hc": 1})

	// A bad RPROXY is logged with the container's name and ignored; its good
	// entry and everyone else keep working.
	bad := run("bad", "http://bad_host!:"+hp+",tcp://game:"+strconv.Itoa(tcpPort))
	w.waitLog("bad entry logged", "RPROXY entry skipped", "container="+bad.Name, "bad_host!")
	tcpFront := "127.0.0.1:" + strconv.Itoa(tcpPort)
	dockertest.Poll(t, routeWait, "tcp entry of the bad container served", func() error {
		line, err := proxytest.ReadLine(tcpFront)
		if err != nil || field(line, "name") != "bad" {
			return fmt.Errorf("tcp answer %q, %v", line, err)
		}
		return nil
	})
	if got := names(front, app, 4); got["web1"] != 2 || got["web3"] != 2 {
		t.Errorf("after the bad container: answers %v, want web1 and web3 2 each", got)
	}
	// Unknown hosts get 503, never a wrong backend.
	if got := names(front, "nobody.test", 2); got["503"] != 2 {
		t.Errorf("unknown host: answers %v, want 503s", got)
	}
	if strings.Count(w.Logs.String(), "entry=http://bad_host!") != 1 {
		t.Errorf("the bad entry should be logged once, not on every render:\n%s", w.Logs.String())
	}
}
