package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

// TestCheckContainerAndConfirmedReload: rproxy-gen on the host writes into
// a directory that the haproxy container (the stand-in for the official
// image) bind-mounts at /usr/local/etc/haproxy. Each config is checked in
// that container (the staged file's host path translated through the bind
// mount), HAProxy is signalled, and the reload is confirmed through the
// master CLI socket that HAProxy creates in the same directory. Then
// rproxy-gen renders configs that pass haproxy -c but cannot load (--bind
// on an address the container does not have): the refusal is logged as an
// error with HAProxy's reason from the container's log, the old worker
// keeps serving, a render that changes nothing does not signal again, and
// the next change does.
func TestCheckContainerAndConfirmedReload(t *testing.T) {
	cli := setup(t)
	tag := "haproxy:2.6-" + dockertest.UniqueName("reload")
	dockertest.BuildHAProxyImage(t, cli, tag)
	net := dockertest.Network(t, cli)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	out := filepath.Join(dir, "haproxy.cfg")

	// The first config, so HAProxy can start.
	app1 := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app1", Network: net, Env: []string{"RPROXY=http://reload.test", "NAME=app1"}})
	oneShot(t, nil, "-o", out, "--network", net)
	hapName := dockertest.UniqueName("haproxy")
	hapEvents := recordEvents(t, cli, hapName)
	hap := runHAProxy(t, cli, tag, net, dir, hapName)
	addr := dockertest.IP(t, cli, hap, net) + ":80"
	waitServed(t, "HAProxy on the first config", addr, "reload.test", map[string]int{"app1": 2})

	args := []string{"-o", out, "--network", net, "--check-container", hap, "--notify-container", hap,
		"--haproxy-master-socket", filepath.Join(dir, "master.sock")}
	w := startWatch(t, nil, args...)
	app2 := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app2", Network: net, Env: []string{"RPROXY=http://reload.test", "NAME=app2"}})
	waitServed(t, "app2 after a checked, confirmed reload", addr, "reload.test", map[string]int{"app1": 2, "app2": 2})
	w.waitLog("the reload confirmed", "notified container; reload confirmed")
	checks := hapEvents.execs()
	if len(checks) == 0 || !strings.HasPrefix(checks[len(checks)-1], "haproxy -c -f /usr/local/etc/haproxy/.haproxy.cfg.stage-") {
		t.Errorf("checks in the container (the host path translated through the bind mount): %q", checks)
	}
	w.Signal(syscall.SIGTERM)
	if err := w.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Configs that pass the check but cannot load.
	w = startWatch(t, nil, append(args, "--bind", "192.0.2.1")...)
	w.waitLog("the refused reload", "refused the reload", "cannot bind socket")
	if logs := w.Logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "[ALERT]") {
		t.Errorf("the refusal is not an error with HAProxy's reason:\n%s", logs)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "192.0.2.1:80") {
		t.Errorf("the checked config was not installed")
	}
	waitServed(t, "the old worker still serving", addr, "reload.test", map[string]int{"app1": 2, "app2": 2})

	// A render that changes nothing (SIGHUP resyncs and renders) signals
	// nothing: the refusal waits for the next change.
	const refusal = `msg="the proxy refused the reload`
	kills := hapEvents.count("kill")
	w.Signal(syscall.SIGHUP)
	w.waitLog("the SIGHUP render", "reason=sighup")
	time.Sleep(500 * time.Millisecond) // a notify would run now, in the background
	if n := hapEvents.count("kill"); n != kills {
		t.Errorf("%d signals after a render that changed nothing, want %d", n, kills)
	}
	if n := strings.Count(w.Logs.String(), refusal); n != 1 {
		t.Errorf("%d refusals logged before the next change, want 1", n)
	}
	dockertest.Stop(t, cli, app1.ID)
	dockertest.Poll(t, routeWait, "the next change signalled and refused again", func() error {
		if n := strings.Count(w.Logs.String(), refusal); n < 2 {
			return fmt.Errorf("%d refusals logged", n)
		}
		if n := hapEvents.count("kill"); n != kills+1 {
			return fmt.Errorf("%d signals, want %d", n, kills+1)
		}
		return nil
	})
	_ = app2
}

// runHAProxy runs the stand-in image as the compose example runs the
// official one, with dir bind-mounted at /usr/local/etc/haproxy and the
// master CLI socket in it, named name, and returns the name.
func runHAProxy(t *testing.T, cli *client.Client, img, net, dir, name string) string {
	t.Helper()
	dockertest.StartContainer(t, cli, name,
		&container.Config{Image: img,
			Entrypoint: []string{"haproxy", "-W", "-db", "-S", "/usr/local/etc/haproxy/master.sock,mode,666"},
			Cmd:        []string{"-f", "/usr/local/etc/haproxy/haproxy.cfg"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(net),
			Mounts: []mount.Mount{{Type: mount.TypeBind, Source: dir, Target: "/usr/local/etc/haproxy"}}})
	return name
}
