// Package dockertest holds real-Docker helpers for tests: finding or starting
// a Docker daemon, building the test backend image FROM scratch (no image can
// be pulled), running throw-away containers, and starting a separate private
// daemon for tests that must stop and restart Docker itself.
//
// Typical use in a package's tests:
//
//	func TestMain(m *testing.M) { os.Exit(dockertest.RunMain(m)) }
//
//	func TestSomething(t *testing.T) {
//		cli := dockertest.Connect(t)               // skips (or fails with CI=true) without Docker
//		img := dockertest.BuildTestImage(t, cli)
//		c := dockertest.Run(t, cli, dockertest.RunOptions{Name: "web", Image: img,
//			Env: []string{"RPROXY=http://a.example.com", "NAME=web"}})
//		body := dockertest.WaitHTTP(t, "http://"+dockertest.IP(t, cli, c.ID, "")+"/x")
//		...
//	}
//
// Connect sets the process environment variable DOCKER_HOST to the daemon it
// chose, so rproxy-gen processes spawned by a test reach the same daemon.
//
// The shared private daemon (socket /tmp/rpg-docker.sock) is started by the
// first test process that needs it and is shared by all test binaries of a
// `go test ./...` run. Every process using it holds a shared lock on
// /tmp/rpg-docker.users; RunMain of the last one stops it, but only if a
// dockertest process started it (a daemon started by scripts/test.sh or by
// hand is left alone). Set RPG_KEEP_DOCKERD=1 to keep a daemon started by
// the tests running afterwards.
package dockertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// sharedDaemon describes the shared private daemon: where it lives and the
// files that coordinate the test processes using it.
type sharedDaemon struct {
	sock, dataRoot, execRoot, pidfile, log string
	lock                                   string   // serializes starting and stopping
	users                                  string   // flock'ed shared by every process using the daemon
	marker                                 string   // pid of a daemon started by tests; only such is stopped
	args                                   []string // extra dockerd arguments
}

func (s sharedDaemon) host() string { return "unix://" + s.sock }

// theShared is the shared private daemon; scripts/test.sh uses the same paths.
var theShared = sharedDaemon{
	sock:     "/tmp/rpg-docker.sock",
	dataRoot: "/tmp/rpg-docker",
	execRoot: "/tmp/rpg-exec",
	pidfile:  "/tmp/rpg-docker.pid",
	log:      "/tmp/rpg-dockerd.log",
	lock:     "/tmp/rpg-docker.lock",
	users:    "/tmp/rpg-docker.users",
	marker:   "/tmp/rpg-docker.started-by-tests",
}

const (
	defaultSock = "/var/run/docker.sock"

	// OwnerLabel marks containers and networks created by this package with
	// "hostname/pid" of the test process, so leftovers of a crashed run can be
	// removed and tests can filter their own containers.
	OwnerLabel = "rproxy-gen.dockertest.owner"
)

// shared is the process's choice of daemon. It is package-level because it
// must outlive single tests and is undone by RunMain: unavoidable for a
// once-per-process decision.
var shared struct {
	mu      sync.Mutex
	decided bool
	host    string   // chosen daemon, "" when none
	reason  string   // why there is none
	users   *os.File // held while this process uses the shared private daemon
}

// Connect returns a client for a reachable Docker daemon, in this order:
// DOCKER_HOST, the default socket /var/run/docker.sock, the shared private
// daemon on /tmp/rpg-docker.sock, and else it starts that private daemon
// (needs root and Debian's docker.io). It sets DOCKER_HOST to the chosen
// daemon for processes the test spawns. Without any daemon the test is
// skipped, or fails when CI=true. The client is closed at the test's end.
// With -short the test is skipped.
func Connect(t testing.TB) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("real Docker test: skipped with -short")
	}
	host, reason := chooseDaemon(t)
	if host == "" {
		unavailable(t, reason)
	}
	cli, err := newClient(host)
	if err != nil {
		t.Fatalf("docker client for %s: %v", host, err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("Docker daemon %s stopped answering: %v", host, err)
	}
	return cli
}

// RunMain runs the tests and then, if this process was the last one using
// the shared private daemon started by tests, stops that daemon. Use it as
// os.Exit(dockertest.RunMain(m)) in TestMain.
func RunMain(m *testing.M) int {
	code := m.Run()
	releaseShared()
	return code
}

func newClient(host string) (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
}

// unavailable skips the test, or fails it on CI where Docker is required.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	proxytest.Missing(t, "no Docker daemon: "+reason+
		"; install Docker (Debian: apt-get install docker.io) and run as root, or set DOCKER_HOST")
}

func ping(host string, timeout time.Duration) error {
	cli, err := newClient(host)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err = cli.Ping(ctx)
	return err
}

func chooseDaemon(t testing.TB) (host, reason string) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.decided {
		return shared.host, shared.reason
	}
	shared.decided = true
	host, reason = findOrStart(t)
	shared.host, shared.reason = host, reason
	if host != "" {
		os.Setenv("DOCKER_HOST", host)
		removeLeftovers(t, host)
	}
	return host, reason
}

func findOrStart(t testing.TB) (string, string) {
	var tried []string
	if h := os.Getenv("DOCKER_HOST"); h != "" && h != theShared.host() {
		if err := ping(h, 5*time.Second); err == nil {
			return h, ""
		} else {
			t.Logf("dockertest: DOCKER_HOST=%s does not answer (%v); trying others", h, err)
			tried = append(tried, "DOCKER_HOST="+h+": "+err.Error())
		}
	}
	if err := ping("unix://"+defaultSock, 3*time.Second); err == nil {
		return "unix://" + defaultSock, ""
	} else {
		tried = append(tried, defaultSock+": "+shortErr(err))
	}

	users, _, err := theShared.attach(t)
	if err != nil {
		return "", strings.Join(tried, "; ") + "; " + err.Error()
	}
	shared.users = users
	return theShared.host(), ""
}

// attach makes sure the shared daemon runs, starting it if needed, and
// returns the "user" lock file this process holds while it uses the daemon
// (release it with release) and the pid of the dockerd if this call started it.
func (s sharedDaemon) attach(t testing.TB) (users *os.File, started int, err error) {
	lock, err := lockFile(s.lock, 2*time.Minute)
	if err != nil {
		return nil, 0, err
	}
	defer lock.Close()
	if ping(s.host(), 10*time.Second) != nil {
		started, err = s.start(t)
		if err != nil {
			return nil, 0, fmt.Errorf("%s not answering; starting dockerd: %w", s.sock, err)
		}
		if os.Getenv("RPG_KEEP_DOCKERD") == "" {
			os.WriteFile(s.marker, []byte(strconv.Itoa(started)), 0o644)
		}
		t.Logf("dockertest: started a private dockerd (pid %d) on %s, log %s", started, s.host(), s.log)
	}
	f, err := openLock(s.users)
	if err != nil {
		return nil, 0, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("flock %s: %w", s.users, err)
	}
	return f, started, nil
}

// start starts the daemon; the caller holds the lock.
func (s sharedDaemon) start(t testing.TB) (int, error) {
	dockerd, err := dockerdPath()
	if err != nil {
		return 0, err
	}
	// A dockerd left over from an earlier run that no longer answers.
	if pid := readPid(s.pidfile); pid > 0 && isDockerd(pid) {
		t.Logf("dockertest: stopping an unresponsive leftover dockerd (pid %d)", pid)
		stopPid(pid, nil, 20*time.Second)
	}
	os.Remove(s.pidfile)
	os.Remove(s.marker)
	args := append([]string{
		"--host", s.host(),
		"--data-root", s.dataRoot,
		"--exec-root", s.execRoot,
		"--pidfile", s.pidfile,
	}, s.args...)
	cmd, done, err := startDockerd(dockerd, s.log, args)
	if err != nil {
		return 0, err
	}
	if err := waitDaemon(s.host(), done, 90*time.Second); err != nil {
		stopPid(cmd.Process.Pid, done, 10*time.Second)
		return 0, fmt.Errorf("%v; log %s:\n%s", err, s.log, logTail(s.log, 30))
	}
	return cmd.Process.Pid, nil
}

// releaseShared drops this process's use of the shared daemon, see release.
func releaseShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.users != nil {
		if pid := theShared.release(shared.users); pid != 0 {
			fmt.Fprintf(os.Stderr, "dockertest: stopped the private dockerd (pid %d) on %s\n", pid, theShared.host())
		}
		shared.users = nil
	}
}

// release closes the user lock file and, when no other process uses the
// daemon and tests started it, stops the daemon and returns its pid.
func (s sharedDaemon) release(users *os.File) (stopped int) {
	defer users.Close()
	lock, err := lockFile(s.lock, 2*time.Minute)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockertest:", err)
		return 0
	}
	defer lock.Close()
	if err := syscall.Flock(int(users.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return 0 // another test process still uses the daemon; the last one stops it
	}
	marker := readPid(s.marker)
	if marker == 0 || os.Getenv("RPG_KEEP_DOCKERD") != "" {
		return 0
	}
	os.Remove(s.marker)
	if pid := readPid(s.pidfile); pid != marker || !isDockerd(pid) {
		return 0 // the daemon on the socket now is not the one tests started
	}
	stopPid(marker, nil, 30*time.Second)
	killUnder(s.execRoot)
	return marker
}

// removeLeftovers removes containers and networks created by earlier test
// processes of this host that are gone (crashed or killed).
func removeLeftovers(t testing.TB, host string) {
	if !strings.HasPrefix(host, "unix://") {
		return
	}
	cli, err := newClient(host)
	if err != nil {
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stale := func(owner string) bool {
		hn, pidStr, ok := strings.Cut(owner, "/")
		me, _ := os.Hostname()
		pid, err := strconv.Atoi(pidStr)
		return ok && err == nil && hn == me && pid != os.Getpid() && !alive(pid)
	}
	f := filters.NewArgs(filters.Arg("label", OwnerLabel))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return
	}
	for _, c := range cs {
		if stale(c.Labels[OwnerLabel]) {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err == nil {
				t.Logf("dockertest: removed leftover container %s %v", c.ID[:12], c.Names)
			}
		}
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return
	}
	for _, n := range ns {
		if stale(n.Labels[OwnerLabel]) {
			if err := cli.NetworkRemove(ctx, n.ID); err == nil {
				t.Logf("dockertest: removed leftover network %s", n.Name)
			}
		}
	}
}

// Owner is the value of OwnerLabel on what this process creates,
// "hostname/pid": filter on label OwnerLabel=Owner() to see only them.
func Owner() string { return owner() }

func owner() string {
	hn, _ := os.Hostname()
	return hn + "/" + strconv.Itoa(os.Getpid())
}

// dockerdPath finds dockerd and checks that it can run here.
func dockerdPath() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("starting dockerd needs root")
	}
	if p, err := exec.LookPath("dockerd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/dockerd", "/usr/bin/dockerd", "/usr/local/bin/dockerd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("dockerd not found")
}

func shortErr(err error) string {
	if client.IsErrConnectionFailed(err) {
		return "not answering"
	}
	s := err.Error()
	if strings.Contains(s, "no such file or directory") {
		return "no socket"
	}
	if strings.Contains(s, "connection refused") {
		return "connection refused"
	}
	return s
}
