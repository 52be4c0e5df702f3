package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// buildSidecarImage builds the repository's Dockerfile (the rproxy-gen
// sidecar image, FROM scratch) with the binary under test, as make image
// does, tagged tag; it is removed when the test ends.
func buildSidecarImage(t *testing.T, cli *client.Client, tag string) {
	t.Helper()
	read := func(path string) []byte {
		b, err := os.ReadFile(filepath.Join("..", path))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = dockertest.BuildImage(ctx, cli, tag, map[string]string{dockertest.OwnerLabel: dockertest.Owner()}, []dockertest.File{
		{Name: "Dockerfile", Mode: 0o644, Data: read("Dockerfile")},
		{Name: ".dockerignore", Mode: 0o644, Data: read(".dockerignore")},
		{Name: "bin/rproxy-gen", Mode: 0o755, Data: bin},
		{Name: "examples/config-dir/README", Mode: 0o644, Data: read("examples/config-dir/README")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dockertest.RemoveImage(t, cli, tag) })
}

// socketOf returns the path and group of the daemon's unix socket.
func socketOf(t *testing.T, cli *client.Client) (string, int) {
	t.Helper()
	sock := strings.TrimPrefix(cli.DaemonHost(), "unix://")
	var st syscall.Stat_t
	if err := syscall.Stat(sock, &st); err != nil {
		t.Fatalf("the sidecar needs the daemon's local unix socket: %v", err)
	}
	return sock, int(st.Gid)
}

// compose runs Debian's docker-compose (v1) on examples/compose.yaml.
type compose struct {
	t       *testing.T
	bin     string
	project string
	env     []string
}

func (c *compose) run(args ...string) (string, error) {
	cmd := exec.Command(c.bin, append([]string{"--ansi", "never", "-p", c.project, "-f", "../examples/compose.yaml"}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *compose) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestComposeExample runs examples/compose.yaml as a user would, with
// Debian's docker-compose 1.29 against the test daemon: the rproxy-gen
// image built from the Dockerfile and a stand-in for the official
// haproxy:2.6 image (no image can be pulled here; the file's images are
// variables whose defaults are those two names, and the test names its own
// builds). It proves: the file is accepted by Compose v1; an app container
// started on the apps network is served through HAProxy's published port;
// every config was checked in the haproxy container (docker exec) before
// it was installed; each reload was confirmed through the master CLI
// socket in the shared volume; a stop and a start are followed; and
// docker-compose down removes the containers, the network and the volume.
func TestComposeExample(t *testing.T) {
	bin := proxytest.Need(t, "docker-compose", "docker-compose")
	cli := setup(t)
	start := time.Now()
	id := dockertest.UniqueName("compose")
	sidecarImage, haproxyImage := "rproxy-gen:"+id, "haproxy:2.6-"+id
	buildSidecarImage(t, cli, sidecarImage)
	dockertest.BuildHAProxyImage(t, cli, haproxyImage)
	sock, gid := socketOf(t, cli)
	c := &compose{t: t, bin: bin, project: strings.ReplaceAll(id, "-", ""), env: []string{
		"DOCKER_HOST=" + cli.DaemonHost(),
		"DOCKER_SOCKET=" + sock,
		"DOCKER_GID=" + strconv.Itoa(gid),
		"RPROXY_GEN_IMAGE=" + sidecarImage,
		"HAPROXY_IMAGE=" + haproxyImage,
		"HAPROXY_CONTAINER=" + id + "-haproxy",
		"APPS_NETWORK=" + id + "-apps",
		// Loopback, on ports Docker picks ("127.0.0.1::80"): no race for a
		// free port with other tests.
		"HTTP_PORT=127.0.0.1:",
		"HTTPS_PORT=127.0.0.1:",
	}}

	// Without the variables, the file names the images users have.
	cfg := exec.Command(bin, "-f", "../examples/compose.yaml", "config")
	cfg.Env = append(os.Environ(), "DOCKER_GID=999")
	if out, err := cfg.CombinedOutput(); err != nil || !strings.Contains(string(out), "image: haproxy:2.6\n") ||
		!strings.Contains(string(out), "image: rproxy-gen\n") || !strings.Contains(string(out), "name: apps\n") {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}

	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.run("logs", "--no-color", "--tail", "60")
			t.Logf("docker-compose logs:\n%s", out)
		}
		c.run("down", "-v", "--remove-orphans", "-t", "2")
	})
	haproxyEvents := recordEvents(t, cli, id+"-haproxy")
	c.must("up", "-d", "--no-build")
	// HAProxy restarts until the first config is there, on a new port each
	// time: ask for the address anew on every attempt.
	hap := id + "-haproxy"
	served := func(what, host string, want map[string]int) {
		t.Helper()
		n := 0
		for _, c := range want {
			n += c
		}
		dockertest.Poll(t, routeWait, what, func() error {
			if got := names(publishedAddr(t, cli, hap, "80/tcp"), host, n); !maps.Equal(got, want) {
				return fmt.Errorf("answers %v, want %v", got, want)
			}
			return nil
		})
	}

	apps := id + "-apps"
	app1 := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app1", Network: apps, Env: []string{"RPROXY=http://compose.test", "NAME=app1"}})
	app2 := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app2", Network: apps, Env: []string{"RPROXY=http://compose.test", "NAME=app2"}})
	served("two replicas through HAProxy", "compose.test", map[string]int{"app1": 2, "app2": 2})
	dockertest.Stop(t, cli, app1.ID)
	served("app1 stopped", "compose.test", map[string]int{"app2": 4})
	if err := cli.ContainerStart(context.Background(), app1.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	served("app1 started again", "compose.test", map[string]int{"app1": 2, "app2": 2})
	if code, _, err := proxytest.Get(publishedAddr(t, cli, hap, "80/tcp"), "nobody.test", "/"); err != nil || code != 503 {
		t.Errorf("an unknown host: %d, %v; want 503 from HAProxy", code, err)
	}

	// Every install was checked in the haproxy container first: its exec
	// events name haproxy -c on a staged file in the shared volume.
	// (A render while HAProxy restarts, at the start, installs unchecked,
	// and renders close together may share one reload: at least the
	// renders after the start are checked.)
	checks := haproxyEvents.execs()
	if len(checks) < 2 {
		t.Errorf("%d checks ran in the haproxy container, want one per change after the start (>= 2): %q", len(checks), checks)
	}
	for _, cmd := range checks {
		if !strings.HasPrefix(cmd, "haproxy -c -f /usr/local/etc/haproxy/.haproxy.cfg.stage-") {
			t.Errorf("check run in the haproxy container: %q", cmd)
		}
	}
	logs := dockertest.Logs(t, cli, c.containerID(cli, "rproxy-gen"))
	if n := strings.Count(logs, "reload confirmed"); n < 2 {
		t.Errorf("%d reloads confirmed through the master CLI, want >= 2; rproxy-gen logs:\n%s", n, logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("rproxy-gen logged errors:\n%s", logs)
	}

	// down cleans up: apps leave the network first (it is the project's).
	for _, a := range []dockertest.Container{app1, app2} {
		if err := cli.ContainerRemove(context.Background(), a.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	c.must("down", "-v", "-t", "2")
	ctx := context.Background()
	left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+c.project))})
	if err != nil || len(left) != 0 {
		t.Errorf("containers left after down: %d (%v)", len(left), err)
	}
	if nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", apps))}); err != nil || len(nets) != 0 {
		t.Errorf("network %s left after down: %v (%v)", apps, nets, err)
	}
	if vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+c.project))}); err != nil || len(vols.Volumes) != 0 {
		t.Errorf("volumes left after down -v: %v (%v)", vols.Volumes, err)
	}
	t.Logf("compose example: up, 2 replicas, stop, start, down in %v", time.Since(start).Round(time.Millisecond))
}

// publishedAddr returns the loopback address where container name's port
// is published, once it is (a proxy that waits between restarts for its
// first config has none).
func publishedAddr(t *testing.T, cli *client.Client, name, port string) string {
	t.Helper()
	var addr string
	dockertest.Poll(t, 30*time.Second, name+" publishing "+port, func() error {
		st, err := cli.ContainerInspect(context.Background(), name)
		if err != nil {
			return err
		}
		var bindings []nat.PortBinding
		if st.NetworkSettings != nil {
			bindings = st.NetworkSettings.Ports[nat.Port(port)]
		}
		for _, b := range bindings {
			if b.HostIP == "127.0.0.1" && b.HostPort != "" {
				addr = "127.0.0.1:" + b.HostPort
				return nil
			}
		}
		return fmt.Errorf("published as %v (state %s)", bindings, st.State.Status)
	})
	return addr
}

// containerID finds the container of a service of the project.
func (c *compose) containerID(cli *client.Client, service string) string {
	c.t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.compose.project="+c.project), filters.Arg("label", "com.docker.compose.service="+service))})
	if err != nil || len(list) != 1 {
		c.t.Fatalf("container of service %s: %d found (%v)", service, len(list), err)
	}
	return list[0].ID
}

// eventLog records the container events of one container from the moment
// it is made: the daemon keeps only its last 256 events for replay, which
// tests running beside on the same daemon can flood.
type eventLog struct {
	mu      sync.Mutex
	actions []string
}

// recordEvents subscribes to the events of container name (which need not
// exist yet) until the test ends.
func recordEvents(t *testing.T, cli *client.Client, name string) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// Since now: events between this call and the daemon's registering the
	// subscription are replayed, not lost.
	msgs, errs := cli.Events(ctx, events.ListOptions{Since: fmt.Sprint(time.Now().Unix()),
		Filters: filters.NewArgs(filters.Arg("container", name), filters.Arg("type", "container")),
	})
	l := &eventLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case m := <-msgs:
				l.mu.Lock()
				l.actions = append(l.actions, string(m.Action))
				l.mu.Unlock()
			case <-errs:
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// execs returns the commands exec'd so far.
func (l *eventLog) execs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range l.actions {
		if cmd, ok := strings.CutPrefix(a, "exec_start: "); ok {
			out = append(out, cmd)
		}
	}
	return out
}

// count returns how many events with this action were seen so far.
func (l *eventLog) count(action string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.actions {
		if a == action {
			n++
		}
	}
	return n
}

// TestSidecarWithoutSocketGroup runs the sidecar image as compose would
// without group_add: the Docker socket refuses its user. The log must say
// so once, naming the socket's group and how to add it, while the retries
// go on in short lines; and nothing may name the client's own newest API
// version as if it were the daemon's.
func TestSidecarWithoutSocketGroup(t *testing.T) {
	cli := setup(t)
	tag := "rproxy-gen:" + dockertest.UniqueName("nogroup")
	buildSidecarImage(t, cli, tag)
	sock, gid := socketOf(t, cli)
	id := dockertest.StartContainer(t, cli, dockertest.UniqueName("nogroup"),
		&container.Config{Image: tag},
		&container.HostConfig{Binds: []string{sock + ":/var/run/docker.sock:ro"}})
	var logs string
	dockertest.Poll(t, 30*time.Second, "three retries logged", func() error {
		logs = dockertest.Logs(t, cli, id)
		if n := strings.Count(logs, "source unavailable; keeping the last config and retrying"); n < 3 {
			return fmt.Errorf("%d retries so far", n)
		}
		return nil
	})
	g := strconv.Itoa(gid)
	if n := strings.Count(logs, "--group-add "+g); n != 1 {
		t.Errorf("the advice (--group-add %s) appears %d times, want once:\n%s", g, n, logs)
	}
	for _, want := range []string{"level=ERROR msg=\"source unavailable: permission denied on the Docker socket /var/run/docker.sock", "group " + g, `group_add: [\"` + g + `\"]`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "/v1.") {
		t.Errorf("the log names an API version from a URL:\n%s", logs)
	}
}
