package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
)

// These run the CLI against the fake Engine API (see live_test.go): what is
// tested is the wiring of the settings; e2e/ runs the real binary against
// real daemons.

const secret = "s3cret-Pa55"

// TestSnapshotRedacts: a default snapshot holds no secret from env, labels
// or the command line; rendering it gives the same bytes as rendering live;
// --full keeps everything.
func TestSnapshotRedacts(t *testing.T) {
	e := fakeDaemon(t)
	e.Add(fakedocker.ContainerSpec{Name: "shop", Cmd: []string{"serve", "--token=" + secret},
		Env:    []string{"RPROXY=http://shop.example.com,tcp://shopdb:5432", "DB_PASSWORD=" + secret},
		Labels: map[string]string{"traefik.auth": secret}, Health: "healthy"})
	e.Add(fakedocker.ContainerSpec{Name: "sick", Env: []string{"RPROXY=http://sick.example.com"}, Health: "unhealthy"})
	live, stderr, err := run(t, "")
	if err != nil || !strings.Contains(live, "shop.example.com") {
		t.Fatalf("live: %v\n%s", err, stderr)
	}
	snap, _, err := run(t, "", "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(snap, secret) {
		t.Fatalf("the default snapshot holds a secret:\n%s", snap)
	}
	if !strings.Contains(snap, `"DB_PASSWORD=<redacted>"`) {
		t.Errorf("the redacted variable's name is gone:\n%s", snap)
	}
	fromSnap, _, err := run(t, snap, "--from", "-")
	if err != nil || fromSnap != live {
		t.Errorf("rendering the redacted snapshot differs from rendering live (%v)", err)
	}
	full, _, err := run(t, "", "snapshot", "--full")
	for _, want := range []string{`"DB_PASSWORD=` + secret, `"traefik.auth": "` + secret, `"--token=` + secret} {
		if err != nil || !strings.Contains(full, want) {
			t.Errorf("--full lacks %s (%v)", want, err)
		}
	}
}

// TestFilterAndHost: -H names the daemon (DOCKER_HOST points nowhere), and
// --filter keeps only matching containers, as docker ps --filter would.
func TestFilterAndHost(t *testing.T) {
	e := fakeDaemon(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	e.Add(fakedocker.ContainerSpec{Name: "pub", Env: []string{"RPROXY=http://pub.example.com"}, Labels: map[string]string{"com.example.proxy": "public"}})
	e.Add(fakedocker.ContainerSpec{Name: "priv", Env: []string{"RPROXY=http://priv.example.com"}, Labels: map[string]string{"com.example.proxy": "internal"}})
	out, stderr, err := run(t, "", "-H", e.Host(), "--filter", "label=com.example.proxy=public")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "pub.example.com") || strings.Contains(out, "priv.example.com") {
		t.Errorf("filtered render:\n%s", out)
	}
	snap, _, err := run(t, "", "snapshot", "-H", e.Host(), "--filter", "label=com.example.proxy=internal")
	if err != nil || !strings.Contains(snap, "/priv") || strings.Contains(snap, "/pub") {
		t.Errorf("filtered snapshot: %v\n%s", err, snap)
	}
	if _, _, err := run(t, "", "--filter", "colour=blue", "-H", e.Host()); err == nil || !strings.Contains(err.Error(), `unknown key "colour"`) {
		t.Errorf("bad filter: %v", err)
	}
}

// TestNotifyContainers: --notify-container is repeatable, like
// docker-gen's; a signal that stops a proxy is warned about in words.
func TestNotifyContainers(t *testing.T) {
	e := fakeDaemon(t)
	e.Add(fakedocker.ContainerSpec{Name: "web", Env: []string{"RPROXY=http://web.example.com"}})
	a, b := e.Add(fakedocker.ContainerSpec{Name: "a"}), e.Add(fakedocker.ContainerSpec{Name: "b"})
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	_, stderr, err := run(t, "", "-o", out, "--notify-container", "a", "--notify-container", "b")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, c := range []*fakedocker.Container{a, b} {
		if got := e.Container(c.ID).Kills(); !slices.Equal(got, []string{"SIGHUP"}) {
			t.Errorf("container %s got %v, want one SIGHUP", c.Name(), got)
		}
	}
	if strings.Contains(stderr, "does not reload") {
		t.Errorf("HUP warned about:\n%s", stderr)
	}
	for sig, want := range map[string]string{"KILL": "SIGKILL kills the container's main process", "usr1": "stop signal of the official haproxy image", "9": "SIGKILL"} {
		os.Remove(out)
		_, stderr, _ := run(t, "", "-o", out, "--notify-container", "a", "--notify-signal", sig) // KILL ends the fake a too
		if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, want) || !strings.Contains(stderr, "does not reload a proxy") {
			t.Errorf("--notify-signal %s: no warning %q:\n%s", sig, want, stderr)
		}
	}
}

// TestMasterSocketNeedsOneContainer: the master CLI belongs to one HAProxy.
func TestMasterSocketNeedsOneContainer(t *testing.T) {
	e := fakeDaemon(t)
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	_, _, err := run(t, "", "-H", e.Host(), "-o", out, "--haproxy-master-socket", "/run/m.sock", "--notify-container", "a", "--notify-container", "b")
	if err == nil || !strings.Contains(err.Error(), "give exactly one --notify-container (2 given)") {
		t.Errorf("err = %v", err)
	}
}

// TestOneShotNotifyFailure: one-shot mode has no next change: a failed
// notify exits non-zero and promises no retry.
func TestOneShotNotifyFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	_, stderr, err := run(t, "", "--from", example, "-o", out, "--notify", "echo reload refused; false")
	if err == nil || !strings.Contains(stderr, "notify failed") || !strings.Contains(stderr, "reload refused") {
		t.Fatalf("err %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "retry") {
		t.Errorf("one-shot mode promises a retry:\n%s", stderr)
	}
}

// TestOutputIsADirectory: -o somedir/ and -o somedir say "is a directory"
// and write nothing inside it.
func TestOutputIsADirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "somedir")
	os.Mkdir(dir, 0o755)
	for _, o := range []string{dir, dir + "/"} {
		_, stderr, err := run(t, "", "--from", example, "-o", o)
		if err == nil || !strings.Contains(err.Error()+stderr, o+" is a directory") && !strings.Contains(err.Error(), `"`+o+`" is a directory`) {
			t.Errorf("-o %s: %v\n%s", o, err, stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("somedir holds %d files", len(entries))
	}
}

// TestCheckContainerCLI: --check-container runs the default check
// (haproxy -c -f FILE) in the named container through the exec API, on the
// staged file, and a refusal keeps the old file and exits non-zero.
func TestCheckContainerCLI(t *testing.T) {
	e := fakeDaemon(t)
	dir := t.TempDir()
	var ran [][]string
	refuse := false
	e.SetExec(func(_ container.InspectResponse, cmd []string) (string, int) {
		ran = append(ran, cmd)
		if refuse {
			return "[ALERT] config : parsing [x:1] : unknown keyword", 1
		}
		return "Configuration file is valid", 0
	})
	e.Add(fakedocker.ContainerSpec{Name: "web", Env: []string{"RPROXY=http://web.example.com"}})
	e.Add(fakedocker.ContainerSpec{Name: "hap"})
	e.Update("hap", func(c *container.InspectResponse) {
		c.Mounts = []container.MountPoint{{Type: "volume", Source: "/var/lib/docker/volumes/cfg/_data", Destination: dir}}
	})
	out := filepath.Join(dir, "haproxy.cfg")
	if _, stderr, err := run(t, "", "-o", out, "--check-container", "hap"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if len(ran) != 1 || len(ran[0]) != 4 || strings.Join(ran[0][:3], " ") != "haproxy -c -f" || !strings.HasPrefix(ran[0][3], filepath.Join(dir, ".haproxy.cfg.stage-")) {
		t.Fatalf("commands run in the container: %q", ran)
	}
	before, _ := os.ReadFile(out)
	refuse = true
	e.Add(fakedocker.ContainerSpec{Name: "web2", Env: []string{"RPROXY=http://web2.example.com"}})
	_, stderr, err := run(t, "", "-o", out, "--check-container", "hap")
	if err == nil || !strings.Contains(stderr, "in container hap") || !strings.Contains(stderr, "unknown keyword") {
		t.Errorf("refused check: %v\n%s", err, stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("a config the check container refused was installed")
	}
	if _, _, err := run(t, "", "-t", "nginx-stream:"+filepath.Join(dir, "stream.conf"), "--check-container", "hap"); err == nil ||
		!strings.Contains(err.Error(), "needs a --check") {
		t.Errorf("nginx-stream with the default (HAProxy) check: %v", err)
	}
	if _, _, err := run(t, "", "-o", out, "--check-container", "hap", "--check", "haproxy -c -f {{.File}} | tee x"); err == nil ||
		!strings.Contains(err.Error(), "needs a shell") {
		t.Errorf("a check needing a shell: %v", err)
	}
}

// TestCompletion: flag values complete from the setting declarations.
func TestCompletion(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
		{[]string{"__complete", "--log-format", "j"}, []string{"json"}},
		{[]string{"__complete", "--write-mode", ""}, []string{"rename\tswap a new file in atomically", "inplace\trewrite the file (a single-file bind mount)"}},
		{[]string{"__complete", "-t", "ng"}, []string{"nginx-stream"}},
		{[]string{"__complete", "--notify-signal", "h"}, []string{"HUP\treload (HAProxy master, nginx)"}},
		{[]string{"__complete", "model", "--filter", "net"}, []string{"network="}},
		{[]string{"__complete", "-t", "../../templates/hap"}, []string{"../../templates/haproxy.tmpl"}},
	} {
		out, _, err := run(t, "", tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		got := lines[:len(lines)-1] // the last line is the directive
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.args, got, tt.want)
		}
	}
}
