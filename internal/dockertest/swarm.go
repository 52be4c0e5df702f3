package dockertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// Swarm helpers. A Swarm is only ever made of daemons of one test (a
// PrivateDaemon as manager, NetnsDaemons as workers), never of the shared
// daemon.

const (
	gwPrefix     = "rpggw"   // docker_gwbridge of a PrivateDaemon: rpggw<N> beside rpgbr<N>
	nsPrefix     = "rpg-ns-" // NetnsDaemon directories and network namespaces
	vethPrefix   = "rpgvh"   // host end of a NetnsDaemon's veth pair
	vethNSPrefix = "rpgvn"   // its end in the namespace
)

// InitSwarm makes the daemon the manager of a new single-manager Swarm that
// listens and advertises on ip (port 2377), e.g. "127.0.0.1" for a
// single-node Swarm, or a NetnsDaemon's HostAddr for one with workers. It
// first creates Swarm's docker_gwbridge network on a bridge rpggw<N> named
// after the daemon's rpgbr<N> (subnet 10.217.<N>.0/24, no masquerading),
// so nothing of it is confused with another daemon's, and removes it when
// the test ends; leftovers of killed runs are removed here. It returns the
// manager's node ID.
func (d *Daemon) InitSwarm(t testing.TB, ip string) string {
	t.Helper()
	removeStaleGateways(t)
	n := strings.TrimPrefix(d.bridge, bridgePrefix)
	gw := gwPrefix + n
	cli := d.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// rpgbr<N> is this daemon's, so an rpggw<N> left by a killed run on an
	// earlier rpgbr<N> is no one else's.
	if runIP("link", "del", gw) == nil {
		t.Logf("dockertest: removed stale Swarm gateway bridge %s", gw)
	}
	t.Cleanup(func() { runIP("link", "del", gw) })
	_, err := cli.NetworkCreate(ctx, "docker_gwbridge", network.CreateOptions{
		Driver: "bridge",
		IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: "10.217." + n + ".0/24", Gateway: "10.217." + n + ".1"}}},
		Options: map[string]string{
			"com.docker.network.bridge.name":                 gw,
			"com.docker.network.bridge.enable_icc":           "false",
			"com.docker.network.bridge.enable_ip_masquerade": "false",
		},
	})
	if err != nil {
		t.Fatalf("creating docker_gwbridge on %s: %v", d.Host(), err)
	}
	id, err := cli.SwarmInit(ctx, swarm.InitRequest{ListenAddr: ip + ":2377", AdvertiseAddr: ip})
	if err != nil {
		t.Fatalf("swarm init on %s: %v; log:\n%s", d.Host(), err, logTail(filepath.Join(d.dir, "dockerd.log"), 20))
	}
	return id
}

// removeStaleGateways deletes rpggw<N> bridges whose rpgbr<N> is gone (its
// daemon's test was killed; removeStalePrivate removed the bridge).
func removeStaleGateways(t testing.TB) {
	out, _ := exec.Command("ip", "-o", "link", "show", "type", "bridge").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], gwPrefix) {
			continue
		}
		gw := strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
		if runIP("link", "show", bridgePrefix+strings.TrimPrefix(gw, gwPrefix)) == nil {
			continue // its daemon's bridge exists: in use
		}
		if runIP("link", "del", gw) == nil {
			t.Logf("dockertest: removed stale Swarm gateway bridge %s", gw)
		}
	}
}

// NetnsDaemon is a dockerd of one test in its own network namespace, a
// second host for a Swarm: the namespace rpg-ns-XXXX is joined to the host
// by a veth pair rpgvh<N> (host end, 10.214.<N>.1/24) and rpgvn<N> (in the
// namespace, 10.214.<N>.2/24). Its files live in /tmp/rpg-ns-XXXX. It is
// started with nsenter --net (ip netns exec cannot be used here: it
// remounts /sys). Everything, including the namespace and the veth pair,
// is removed when the test ends, and leftovers of a killed run at the next
// start.
type NetnsDaemon struct {
	t       testing.TB
	dockerd string
	dir     string
	ns      string
	n       int // the veth pair's number; -1 before it exists
	pid     int
	done    chan struct{}
}

// StartNetnsDaemon starts a NetnsDaemon for this test. It needs root,
// dockerd, ip and nsenter; without them the test is skipped (or fails with
// CI=true). With -short the test is skipped.
func StartNetnsDaemon(t testing.TB) *NetnsDaemon {
	t.Helper()
	if testing.Short() {
		t.Skip("real Docker test: skipped with -short")
	}
	dockerd, err := dockerdPath()
	if err != nil {
		unavailable(t, "cannot start a dockerd: "+err.Error())
	}
	for _, bin := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, "cannot start a dockerd in a network namespace: "+bin+" not found (Debian packages iproute2, util-linux)")
		}
	}
	removeStaleNetns(t)
	dir, err := os.MkdirTemp("/tmp", nsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	d := &NetnsDaemon{t: t, dockerd: dockerd, dir: dir, ns: filepath.Base(dir), n: -1}
	t.Cleanup(d.cleanup)
	if out, err := exec.Command("ip", "netns", "add", d.ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", d.ns, err, out)
	}
	d.makeVeth()
	d.start()
	return d
}

// makeVeth creates the veth pair on a free 10.214.<N>.0/24.
func (d *NetnsDaemon) makeVeth() {
	t := d.t
	t.Helper()
	for n := 0; n < 250; n++ {
		host, inner := vethPrefix+strconv.Itoa(n), vethNSPrefix+strconv.Itoa(n)
		if subnetUsed(fmt.Sprintf("10.214.%d.", n)) {
			continue
		}
		if runIP("link", "add", host, "type", "veth", "peer", "name", inner) != nil {
			continue // taken by another test
		}
		d.n = n
		nsIP := []string{"nsenter", "--net=/var/run/netns/" + d.ns, "ip"}
		for _, args := range [][]string{
			{"ip", "link", "set", "dev", host, "alias", "rpg-ns " + d.dir},
			{"ip", "link", "set", inner, "netns", d.ns},
			{"ip", "addr", "add", d.HostAddr() + "/24", "dev", host},
			{"ip", "link", "set", host, "up"},
			append(nsIP, "addr", "add", d.Addr()+"/24", "dev", inner),
			append(nsIP, "link", "set", inner, "up"),
			append(nsIP, "link", "set", "lo", "up"),
		} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return
	}
	t.Fatal("no free rpgvh<N> veth with a free 10.214.<N>.0/24 subnet")
}

// HostAddr is the host's address on the veth pair, which the daemon reaches.
func (d *NetnsDaemon) HostAddr() string { return fmt.Sprintf("10.214.%d.1", d.n) }

// Addr is the daemon's own address, in its namespace.
func (d *NetnsDaemon) Addr() string { return fmt.Sprintf("10.214.%d.2", d.n) }

// Host is the daemon's socket address for DOCKER_HOST or client.WithHost.
func (d *NetnsDaemon) Host() string { return "unix://" + filepath.Join(d.dir, "docker.sock") }

// Client returns a new client for this daemon, closed when the test ends.
func (d *NetnsDaemon) Client(t testing.TB) *client.Client {
	t.Helper()
	return clientFor(t, d.Host())
}

func (d *NetnsDaemon) start() {
	d.t.Helper()
	logPath := filepath.Join(d.dir, "dockerd.log")
	cmd, done, err := startDockerd("nsenter", logPath, []string{
		"--net=/var/run/netns/" + d.ns, d.dockerd,
		"--host", d.Host(),
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"),
		"--iptables=false",
		"--ip-masq=false",
		"--containerd-namespace", d.ns,
		"--containerd-plugins-namespace", d.ns + "-plugins",
		"--shutdown-timeout", "5",
	})
	if err != nil {
		d.t.Fatalf("starting dockerd in %s: %v", d.ns, err)
	}
	d.pid, d.done = cmd.Process.Pid, done
	if err := waitDaemon(d.Host(), done, 90*time.Second); err != nil {
		d.t.Fatalf("dockerd in %s: %v; log:\n%s", d.ns, err, logTail(logPath, 30))
	}
}

// JoinSwarm joins the daemon to the Swarm of manager (a daemon whose
// Swarm was made with InitSwarm on managerIP) as a worker, and returns its
// node ID.
func (d *NetnsDaemon) JoinSwarm(t testing.TB, manager *client.Client, managerIP string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sw, err := manager.SwarmInspect(ctx)
	if err != nil {
		t.Fatalf("swarm inspect: %v", err)
	}
	cli := d.Client(t)
	if err := cli.SwarmJoin(ctx, swarm.JoinRequest{ListenAddr: d.Addr() + ":2377", AdvertiseAddr: d.Addr(),
		RemoteAddrs: []string{managerIP + ":2377"}, JoinToken: sw.JoinTokens.Worker}); err != nil {
		t.Fatalf("swarm join from %s: %v; log:\n%s", d.ns, err, logTail(filepath.Join(d.dir, "dockerd.log"), 20))
	}
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.Swarm.NodeID
}

func (d *NetnsDaemon) running() bool { return stillRunning(d.done) }

func (d *NetnsDaemon) cleanup() {
	if d.running() {
		emptyDaemon(d.Host(), true)
		stopPid(d.pid, d.done, 30*time.Second)
	}
	removeNetns(d.dir, d.ns)
	if d.n >= 0 {
		runIP("link", "del", vethPrefix+strconv.Itoa(d.n)) // gone with the namespace, normally
	}
	if err := removeTree(d.dir); err != nil {
		d.t.Logf("dockertest: removing %s: %v", d.dir, err)
	}
}

// removeNetns kills what runs under dir or in namespace ns and deletes the
// namespace (and with it its end of the veth pair).
func removeNetns(dir, ns string) {
	killUnder(dir)
	if ns == "" {
		return
	}
	path := "/var/run/netns/" + ns
	var target syscall.Stat_t
	if syscall.Stat(path, &target) == nil {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			var st syscall.Stat_t
			if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil && st.Dev == target.Dev && st.Ino == target.Ino {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	runIP("netns", "del", ns)
}

// removeStaleNetns cleans up after NetnsDaemons of test processes that died
// without their cleanup: daemons, processes, mounts, directories,
// namespaces and veth pairs.
func removeStaleNetns(t testing.TB) {
	dirs, _ := filepath.Glob("/tmp/" + nsPrefix + "*")
	for _, dir := range dirs {
		pid := readPid(filepath.Join(dir, "owner"))
		if pid == os.Getpid() || alive(pid) {
			continue
		}
		if fi, err := os.Stat(dir); pid == 0 && (err != nil || time.Since(fi.ModTime()) < time.Minute) {
			continue // just made by another test, owner not written yet
		}
		if dpid := readPid(filepath.Join(dir, "docker.pid")); isDockerd(dpid) {
			stopPid(dpid, nil, 20*time.Second)
		}
		removeNetns(dir, filepath.Base(dir))
		if err := removeTree(dir); err == nil {
			t.Logf("dockertest: removed stale namespaced daemon %s", dir)
		}
	}
	// Namespaces whose directory is gone.
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		if _, err := os.Stat("/tmp/" + f[0]); err == nil {
			continue
		}
		removeNetns("/tmp/"+f[0], f[0])
		t.Logf("dockertest: removed stale network namespace %s", f[0])
	}
	// Host ends of veth pairs whose directory is gone.
	removeStaleLinks(t, "veth", vethPrefix, "rpg-ns")
}
