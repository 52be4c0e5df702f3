package dockertest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSharedDaemonLifecycle checks the start/reuse/stop protocol of the
// shared private daemon on a daemon of its own (own paths and bridge), so it
// never disturbs the real shared one: the first user starts it, a second one
// reuses it, it runs until the last user releases it, and a daemon the tests
// did not start is never stopped.
func TestSharedDaemonLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("real Docker test: skipped with -short")
	}
	if _, err := dockerdPath(); err != nil {
		unavailable(t, "cannot start a dockerd: "+err.Error())
	}
	t.Setenv("RPG_KEEP_DOCKERD", "")
	removeStalePrivate(t)
	dir, err := os.MkdirTemp("/tmp", pdPrefix)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	bridge, _ := makeBridge(t, dir)
	s := sharedDaemon{
		sock:     filepath.Join(dir, "d.sock"),
		dataRoot: filepath.Join(dir, "data"),
		execRoot: filepath.Join(dir, "exec"),
		pidfile:  filepath.Join(dir, "d.pid"),
		log:      filepath.Join(dir, "d.log"),
		lock:     filepath.Join(dir, "lock"),
		users:    filepath.Join(dir, "users"),
		marker:   filepath.Join(dir, "marker"),
		args: []string{"--bridge", bridge, "--iptables=false", "--ip-masq=false",
			"--containerd-namespace", "rpg-sd", "--containerd-plugins-namespace", "rpg-sd-plugins"},
	}
	t.Cleanup(func() {
		if pid := readPid(s.pidfile); isDockerd(pid) {
			stopPid(pid, nil, 30*time.Second)
		}
		killUnder(dir)
		removeTree(dir)
		runIP("link", "del", bridge)
	})

	// Two test processes (flock treats two open files like two processes).
	u1, started, err := s.attach(t)
	if err != nil {
		t.Fatal(err)
	}
	if started == 0 || readPid(s.marker) != started {
		t.Fatalf("first attach: started=%d marker=%d, want a started daemon with its marker", started, readPid(s.marker))
	}
	u2, again, err := s.attach(t)
	if err != nil {
		t.Fatal(err)
	}
	if again != 0 {
		t.Fatalf("second attach started another dockerd (pid %d)", again)
	}
	if pid := s.release(u1); pid != 0 {
		t.Fatalf("released by the first user while the second still uses it: stopped %d", pid)
	}
	if err := ping(s.host(), 5*time.Second); err != nil {
		t.Fatalf("daemon gone while still in use: %v", err)
	}
	if pid := s.release(u2); pid != started {
		t.Fatalf("last release stopped %d, want %d", pid, started)
	}
	if alive(started) || ping(s.host(), time.Second) == nil {
		t.Fatal("daemon still runs after the last release")
	}
	if _, err := os.Stat(s.marker); err == nil {
		t.Error("marker left behind")
	}

	// A daemon that tests did not start (no marker) is left running.
	u3, started3, err := s.attach(t)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(s.marker)
	if pid := s.release(u3); pid != 0 {
		t.Fatalf("stopped a daemon the tests did not start (pid %d)", pid)
	}
	if !isDockerd(started3) || ping(s.host(), 5*time.Second) != nil {
		t.Fatal("daemon without marker was stopped")
	}
}
