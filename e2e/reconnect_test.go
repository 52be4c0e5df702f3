package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

// TestWatchSurvivesDockerRestart stops the Docker daemon under a running
// watcher and starts it again: the watcher keeps the last config while the
// daemon is away, logs each retry, reconnects with no restart of its own,
// resyncs fully (the containers the daemon stopped leave the config) and
// follows new events. It uses a private dockerd so no other test's daemon is
// disturbed.
func TestWatchSurvivesDockerRestart(t *testing.T) {
	setup(t)
	d := dockertest.PrivateDaemon(t)
	cli := d.Client(t)
	dockertest.BuildTestImage(t, cli)
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	env := []string{"DOCKER_HOST=" + d.Host()}

	before := dockertest.Run(t, cli, dockertest.RunOptions{Name: "before", Env: []string{"RPROXY=http://before.test"}})
	w := startWatch(t, env, "-o", out)
	pid := w.Cmd.Process.Pid
	waitFile(t, out, "server "+before.Name+" ")

	d.Stop()
	w.waitLog("daemon loss noticed", "source unavailable; keeping the last config", "retry_in=")
	// The daemon stops its containers as it shuts down, and the watcher may
	// see that before the stream ends; from then on, the file must not
	// change while the daemon is away, retry after retry.
	kept, _ := os.ReadFile(out)
	w.waitLog("retries", "attempt=3")
	if b, _ := os.ReadFile(out); string(b) != string(kept) || !strings.Contains(string(b), "listen stats") {
		t.Fatalf("the config changed while Docker was away:\n%s", b)
	}
	if w.Exited() {
		t.Fatalf("the watcher exited when Docker went away")
	}

	d.Start()
	w.waitLog("reconnect logged", "reconnected; resynced fully")
	// The daemon stopped "before" when it shut down: the resync drops it.
	content := waitFile(t, out, "# http ports: 0")
	if strings.Contains(content, before.Name) {
		t.Errorf("resync kept a container the restart stopped:\n%s", content)
	}
	after := dockertest.Run(t, cli, dockertest.RunOptions{Name: "after", Env: []string{"RPROXY=http://after.test"}})
	waitFile(t, out, "server "+after.Name+" ")
	if w.Cmd.Process.Pid != pid || w.Exited() {
		t.Error("the watcher was restarted")
	}
	// Still answers signals: SIGHUP forces a resync and render.
	w.Signal(syscall.SIGHUP)
	w.waitLog("SIGHUP handled", "SIGHUP: reloading templates and resyncing", "reason=sighup")
}
