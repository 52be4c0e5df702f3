package dockertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Daemon is a dockerd of one test, separate from the shared one, which the
// test may stop and start again (e.g. to test reconnects). Its files live in
// a short /tmp/rpg-pd-* directory (unix socket paths are limited to 108
// bytes) and its containers use its own Linux bridge rpgbr<N> with the
// subnet 10.213.<N>.0/24, without iptables, so it never touches docker0 or
// the shared daemon's rules. The host reaches its containers directly.
// It starts with an empty image store: call BuildTestImage with its Client.
type Daemon struct {
	t       testing.TB
	dockerd string
	dir     string // /tmp/rpg-pd-XXXX: docker.sock, docker.pid, dockerd.log, data/, exec/
	bridge  string
	subnet  string // e.g. 10.213.3.0/24
	pid     int
	done    chan struct{}
}

const (
	pdPrefix     = "rpg-pd-"
	bridgePrefix = "rpgbr"
)

// PrivateDaemon starts a new dockerd for this test and stops and removes it
// (its containers, processes, mounts, files and bridge) when the test ends.
// It needs root, dockerd and ip; without them the test is skipped (or fails
// with CI=true). With -short the test is skipped.
func PrivateDaemon(t testing.TB) *Daemon {
	t.Helper()
	if testing.Short() {
		t.Skip("real Docker test: skipped with -short")
	}
	dockerd, err := dockerdPath()
	if err != nil {
		unavailable(t, "cannot start a private dockerd: "+err.Error())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		unavailable(t, "cannot create a bridge: ip (iproute2) not found")
	}
	removeStalePrivate(t)
	dir, err := os.MkdirTemp("/tmp", pdPrefix)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	d := &Daemon{t: t, dockerd: dockerd, dir: dir}
	t.Cleanup(d.cleanup)
	d.bridge, d.subnet = makeBridge(t, dir)
	d.Start()
	return d
}

// Host is the daemon's address, unix:///tmp/rpg-pd-XXXX/docker.sock, for
// DOCKER_HOST or client.WithHost.
func (d *Daemon) Host() string { return "unix://" + filepath.Join(d.dir, "docker.sock") }

// Bridge is the name of the daemon's Linux bridge, Subnet its IPv4 subnet.
func (d *Daemon) Bridge() string { return d.bridge }

// Subnet is the IPv4 subnet of the daemon's bridge, e.g. 10.213.3.0/24.
func (d *Daemon) Subnet() string { return d.subnet }

// Dir is the directory that holds the daemon's socket, log and data.
func (d *Daemon) Dir() string { return d.dir }

// Client returns a new client for this daemon, closed when the test ends.
// It keeps working across Stop and Start.
func (d *Daemon) Client(t testing.TB) *client.Client {
	t.Helper()
	return clientFor(t, d.Host())
}

// Start starts the daemon (again, with the same directories and bridge) and
// waits until it answers.
func (d *Daemon) Start() {
	d.t.Helper()
	if d.running() {
		d.t.Fatalf("private dockerd %s: already running", d.Host())
	}
	ns := "rpg-pd-" + strings.TrimPrefix(filepath.Base(d.dir), pdPrefix)
	logPath := filepath.Join(d.dir, "dockerd.log")
	cmd, done, err := startDockerd(d.dockerd, logPath, []string{
		"--host", d.Host(),
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"),
		"--bridge", d.bridge,
		"--iptables=false",
		"--ip-masq=false",
		// Should a system containerd be running, dockerd would use it:
		// keep this daemon's containers apart from the other daemons'.
		"--containerd-namespace", ns,
		"--containerd-plugins-namespace", ns + "-plugins",
		"--shutdown-timeout", "5",
	})
	if err != nil {
		d.t.Fatalf("starting private dockerd: %v", err)
	}
	d.pid, d.done = cmd.Process.Pid, done
	if err := waitDaemon(d.Host(), done, 90*time.Second); err != nil {
		d.Stop()
		d.t.Fatalf("private dockerd: %v; log:\n%s", err, logTail(logPath, 30))
	}
}

// Stop stops the daemon (SIGTERM; it stops its containers) and waits for it
// to exit.
func (d *Daemon) Stop() {
	if !d.running() {
		return
	}
	stopPid(d.pid, d.done, 30*time.Second)
	d.pid, d.done = 0, nil
}

func (d *Daemon) running() bool { return stillRunning(d.done) }

// stillRunning reports whether the process whose end closes done still runs (a nil
// done: never started).
func stillRunning(done chan struct{}) bool {
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// emptyDaemon removes every container of the daemon at host (after leaving
// its Swarm, if leave), so no shim or network namespace outlives dockerd.
func emptyDaemon(host string, leave bool) {
	cli, err := newClient(host)
	if err != nil {
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if leave {
		cli.SwarmLeave(ctx, true) // its tasks stop with it
	}
	if cs, err := cli.ContainerList(ctx, container.ListOptions{All: true}); err == nil {
		for _, c := range cs {
			cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	}
}

func (d *Daemon) cleanup() {
	if d.running() {
		emptyDaemon(d.Host(), false)
		d.Stop()
	}
	killUnder(d.dir)
	if d.bridge != "" {
		runIP("link", "del", d.bridge)
	}
	if err := removeTree(d.dir); err != nil {
		d.t.Logf("dockertest: removing %s: %v", d.dir, err)
	}
}

// makeBridge creates bridge rpgbr<N> with 10.213.<N>.1/24 where both the
// name and the subnet are free, and records the owner dir in its alias.
func makeBridge(t testing.TB, dir string) (name, subnet string) {
	t.Helper()
	for n := 0; n < 250; n++ {
		name := bridgePrefix + strconv.Itoa(n)
		subnet := fmt.Sprintf("10.213.%d.0/24", n)
		if subnetUsed(fmt.Sprintf("10.213.%d.", n)) {
			continue
		}
		if err := runIP("link", "add", name, "type", "bridge"); err != nil {
			continue // exists: another test's
		}
		for _, args := range [][]string{
			{"link", "set", "dev", name, "alias", "rpg-pd " + dir},
			{"addr", "add", fmt.Sprintf("10.213.%d.1/24", n), "dev", name},
			{"link", "set", "dev", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				runIP("link", "del", name)
				t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return name, subnet
	}
	t.Fatal("no free rpgbr<N> bridge with a free 10.213.<N>.0/24 subnet")
	return "", ""
}

// subnetUsed reports whether any address or route mentions prefix.
func subnetUsed(prefix string) bool {
	for _, args := range [][]string{{"-4", "-o", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
		out, _ := exec.Command("ip", args...).Output()
		if strings.Contains(string(out), " "+prefix) || strings.Contains(string(out), "\n"+prefix) || strings.HasPrefix(string(out), prefix) {
			return true
		}
	}
	return false
}

// removeStalePrivate cleans up after private daemons of test processes that
// died without their cleanup: processes, mounts, directories and bridges.
func removeStalePrivate(t testing.TB) {
	dirs, _ := filepath.Glob("/tmp/" + pdPrefix + "*")
	stale := map[string]bool{}
	for _, dir := range dirs {
		pid := readPid(filepath.Join(dir, "owner"))
		if pid == os.Getpid() || alive(pid) {
			continue
		}
		if fi, err := os.Stat(dir); pid == 0 && (err != nil || time.Since(fi.ModTime()) < time.Minute) {
			continue // just made by another test, owner not written yet
		}
		stale[dir] = true
	}
	for dir := range stale {
		// A graceful stop lets dockerd stop its containers.
		if pid := readPid(filepath.Join(dir, "docker.pid")); isDockerd(pid) {
			stopPid(pid, nil, 20*time.Second)
		}
		killUnder(dir)
		if err := removeTree(dir); err == nil {
			t.Logf("dockertest: removed stale private daemon dir %s", dir)
		}
	}
	removeStaleLinks(t, "bridge", bridgePrefix, "rpg-pd")
}

// removeStaleLinks deletes the network links of a type whose names start
// with prefix and whose alias "ALIAS DIR" names a directory that is gone
// (their test ended without cleaning up): "N: NAME[@PEER]: <...> ... alias
// ALIAS DIR" in ip -o link show.
func removeStaleLinks(t testing.TB, kind, prefix, alias string) {
	out, _ := exec.Command("ip", "-o", "link", "show", "type", kind).Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		i := strings.Index(line, "alias "+alias+" ")
		if len(f) < 2 || i < 0 || !strings.HasPrefix(f[1], prefix) {
			continue
		}
		link := strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
		dir := strings.Fields(line[i+len("alias "+alias+" "):])[0]
		if _, err := os.Stat(dir); err == nil {
			continue // its directory exists: in use
		}
		if runIP("link", "del", link) == nil {
			t.Logf("dockertest: removed stale %s %s (%s)", kind, link, dir)
		}
	}
}

func runIP(args ...string) error { return exec.Command("ip", args...).Run() }

// clientFor returns a new client for the daemon at host, closed when the
// test ends.
func clientFor(t testing.TB, host string) *client.Client {
	t.Helper()
	cli, err := newClient(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
