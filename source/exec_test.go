package source

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/shell"
)

// TestExec runs commands through the exec API of the fake Engine: a real
// daemon would need an image with the commands in it; what is tested here is
// the client side (create, attach, demultiplex, exit code).
func TestExec(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithExec(func(c container.InspectResponse, cmd []string) (string, int) {
		switch cmd[0] {
		case "echo":
			return strings.Join(cmd[1:], " ") + "\n", 0
		case "fail":
			return "bad thing\n", 3
		case "big":
			return strings.Repeat("x", 100<<10), 0
		}
		return "", 127
	}))
	e.Add(fakedocker.ContainerSpec{Name: "haproxy"})
	e.Add(fakedocker.ContainerSpec{Name: "stopped", State: "exited"})
	d := NewDocker(e.Client(t), quietLog())
	ctx := context.Background()

	out, code, err := d.Exec(ctx, "haproxy", []string{"echo", "a b", "c"})
	if err != nil || code != 0 || string(out) != "a b c\n" {
		t.Errorf("echo: %q, %d, %v", out, code, err)
	}
	out, code, err = d.Exec(ctx, "haproxy", []string{"fail"})
	if err != nil || code != 3 || string(out) != "bad thing\n" {
		t.Errorf("fail: %q, %d, %v", out, code, err)
	}
	out, _, err = d.Exec(ctx, "haproxy", []string{"big"})
	if err != nil || len(out) != maxExecOutput {
		t.Errorf("big: %d bytes kept, %v; want %d", len(out), err, maxExecOutput)
	}
	if _, _, err := d.Exec(ctx, "stopped", []string{"echo"}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("exec in a stopped container: %v", err)
	}
	if _, _, err := d.Exec(ctx, "nosuch", []string{"echo"}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("exec in a missing container: %v", err)
	}
}

// TestExecCheck: the check command runs in the named container through the
// fake Engine's exec API, with the staged paths as the container sees them,
// without a shell; a failure carries the command's output and keeps the
// old file (install.Write). The fake stands in for a haproxy container: its
// exec handler checks the staged file's content as haproxy -c would.
func TestExecCheck(t *testing.T) {
	shared := t.TempDir() // the volume as this process sees it
	var mu sync.Mutex
	var got [][]string
	e := fakedocker.New(t, fakedocker.WithExec(func(c container.InspectResponse, cmd []string) (string, int) {
		mu.Lock()
		got = append(got, cmd)
		mu.Unlock()
		if len(cmd) != 4 || cmd[0] != "haproxy" || cmd[1] != "-c" || cmd[2] != "-f" {
			return "unexpected command", 99
		}
		// The container sees the volume at /usr/local/etc/haproxy.
		rel, ok := strings.CutPrefix(cmd[3], "/usr/local/etc/haproxy/")
		if !ok {
			return "[ALERT] cannot open " + cmd[3], 1
		}
		b, err := os.ReadFile(filepath.Join(shared, rel))
		if err != nil {
			return "[ALERT] " + err.Error(), 1
		}
		if strings.Contains(string(b), "bogus") {
			return "[ALERT] config : parsing [" + cmd[3] + ":1] : unknown keyword 'bogus'", 1
		}
		return "Configuration file is valid\n", 0
	}))
	hap := e.Add(fakedocker.ContainerSpec{Name: "rproxy-haproxy"})
	// rproxy-gen on the host, the volume bind-mounted from there.
	e.Update("rproxy-haproxy", func(c *container.InspectResponse) {
		c.Mounts = []container.MountPoint{{Type: "bind", Source: shared, Destination: "/usr/local/etc/haproxy"}}
	})
	d := NewDocker(e.Client(t), quietLog())
	cmd, err := install.ParseCheck("haproxy -c -f {{.File}}")
	if err != nil {
		t.Fatal(err)
	}
	check := d.ExecCheck("rproxy-haproxy", cmd, 10*time.Second)
	dest := filepath.Join(shared, "haproxy.cfg")
	ctx := context.Background()

	if _, err := install.Write(ctx, dest, []byte("global\n"), nil, install.Options{Check: check}); err != nil {
		t.Fatalf("good config: %v", err)
	}
	changed, err := install.Write(ctx, dest, []byte("bogus\n"), nil, install.Options{Check: check})
	var xe *ExecError
	if changed || !errors.Is(err, install.ErrCheck) || !errors.As(err, &xe) || xe.ExitCode != 1 ||
		!strings.Contains(err.Error(), "unknown keyword 'bogus'") || !strings.Contains(err.Error(), "in container rproxy-haproxy") {
		t.Fatalf("bad config: changed %v, err %v", changed, err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "global\n" {
		t.Errorf("the refused config replaced the good one: %q", b)
	}
	mu.Lock()
	if len(got) != 2 || !strings.HasPrefix(got[0][3], "/usr/local/etc/haproxy/.haproxy.cfg.stage-") {
		t.Errorf("commands run: %q", got)
	}
	mu.Unlock()

	// A stopped (or missing) check container cannot check: the file is
	// installed with a warning, since no proxy runs on the old one.
	var logs strings.Builder
	d.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.Stop(hap.ID)
	if changed, err := install.Write(ctx, dest, []byte("global2\n"), nil, install.Options{Check: check}); err != nil || !changed {
		t.Errorf("stopped container: %v, %v", changed, err)
	}
	gone := d.ExecCheck("nosuch", cmd, 10*time.Second)
	if changed, err := install.Write(ctx, dest, []byte("global3\n"), nil, install.Options{Check: gone}); err != nil || !changed {
		t.Errorf("missing container: %v, %v", changed, err)
	}
	if n := strings.Count(logs.String(), "check container not running: installing without a check"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, logs.String())
	}
	mu.Lock()
	if len(got) != 2 {
		t.Errorf("commands run in a stopped container: %q", got[2:])
	}
	mu.Unlock()
}

// TestExecCheckRestarting: a proxy that exits for want of a config waits
// between restarts in the "restarting" state, where exec fails; the file
// must be installed (unchecked, with a warning) or the proxy never gets
// one. The same holds when the container stops while the check runs. The
// fake Engine plays both states.
func TestExecCheckRestarting(t *testing.T) {
	shared := t.TempDir()
	var e *fakedocker.Engine
	var runs int
	e = fakedocker.New(t, fakedocker.WithExec(func(c container.InspectResponse, cmd []string) (string, int) {
		runs++
		e.Stop(c.ID) // the proxy dies while the check runs
		return "cannot exec in a deleted state: unknown", 126
	}))
	e.Add(fakedocker.ContainerSpec{Name: "hap"})
	e.Update("hap", func(c *container.InspectResponse) {
		c.Mounts = []container.MountPoint{{Type: "bind", Source: shared, Destination: "/usr/local/etc/haproxy"}}
		c.State.Restarting = true
	})
	var logs strings.Builder
	d := NewDocker(e.Client(t), slog.New(slog.NewTextHandler(&logs, nil)))
	cmd, _ := install.ParseCheck("haproxy -c -f {{.File}}")
	check := d.ExecCheck("hap", cmd, 10*time.Second)
	dest := filepath.Join(shared, "haproxy.cfg")
	ctx := context.Background()
	if changed, err := install.Write(ctx, dest, []byte("first\n"), nil, install.Options{Check: check}); err != nil || !changed || runs != 0 {
		t.Fatalf("restarting: %v, %v, %d checks run", changed, err, runs)
	}
	e.Update("hap", func(c *container.InspectResponse) { c.State.Restarting = false })
	if changed, err := install.Write(ctx, dest, []byte("second\n"), nil, install.Options{Check: check}); err != nil || !changed || runs != 1 {
		t.Fatalf("stopped during the check: %v, %v, %d checks run", changed, err, runs)
	}
	if n := strings.Count(logs.String(), "installing without a check"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, logs.String())
	}
}

func TestExecCheckTimeout(t *testing.T) {
	release := make(chan struct{})
	e := fakedocker.New(t, fakedocker.WithExec(func(container.InspectResponse, []string) (string, int) {
		<-release
		return "", 0
	}))
	defer close(release)
	e.Add(fakedocker.ContainerSpec{Name: "slow"})
	e.Update("slow", func(c *container.InspectResponse) {
		c.Mounts = []container.MountPoint{{Type: "volume", Source: "/var/lib/docker/volumes/v/_data", Destination: "/"}}
	})
	d := NewDocker(e.Client(t), quietLog())
	cmd, _ := shell.Parse("haproxy -c -f {{.File}}", "File", "Dir")
	err := d.ExecCheck("slow", cmd, 100*time.Millisecond)(context.Background(), "/x/haproxy.cfg", "/x")
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") {
		t.Errorf("err = %v", err)
	}
}

func TestExecCheckNeedsNoShell(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithExec(func(_ container.InspectResponse, cmd []string) (string, int) { return "", 0 }))
	e.Add(fakedocker.ContainerSpec{Name: "h"})
	e.Update("h", func(c *container.InspectResponse) {
		c.Mounts = []container.MountPoint{{Destination: "/etc/haproxy"}}
	})
	d := NewDocker(e.Client(t), quietLog())
	cmd, _ := shell.Parse("haproxy -c -f {{.File}} && echo ok", "File", "Dir")
	err := d.ExecCheck("h", cmd, time.Second)(context.Background(), "/etc/haproxy/s/haproxy.cfg", "/etc/haproxy/s")
	if err == nil || !strings.Contains(err.Error(), "needs a shell") {
		t.Errorf("err = %v", err)
	}
}

func TestContainerPath(t *testing.T) {
	c := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{Name: "/hap"},
		Mounts: []container.MountPoint{
			{Type: "volume", Source: "/var/lib/docker/volumes/cfg/_data", Destination: "/usr/local/etc/haproxy"},
			{Type: "bind", Source: "/srv/haproxy", Destination: "/etc/haproxy"},
			{Type: "bind", Source: "/srv/haproxy/certs", Destination: "/certs"},
		},
	}
	tests := []struct{ in, want, err string }{
		{"/usr/local/etc/haproxy/.haproxy.cfg.stage-1/haproxy.cfg", "/usr/local/etc/haproxy/.haproxy.cfg.stage-1/haproxy.cfg", ""},
		{"/etc/haproxy/.x/haproxy.cfg", "/etc/haproxy/.x/haproxy.cfg", ""},
		{"/srv/haproxy/.x/haproxy.cfg", "/etc/haproxy/.x/haproxy.cfg", ""},
		{"/srv/haproxy/certs/a.pem", "/certs/a.pem", ""}, // the longest source wins
		{"/var/lib/docker/volumes/cfg/_data/.s/haproxy.cfg", "/usr/local/etc/haproxy/.s/haproxy.cfg", ""},
		{"/srv/haproxyX/haproxy.cfg", "", "cannot see /srv/haproxyX"},
		{"/tmp/out/haproxy.cfg", "", "check container hap cannot see /tmp/out: mount"},
	}
	for _, tt := range tests {
		got, err := ContainerPath(c, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := ContainerPath(container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{Name: "/x"}}, "/a/b"); err == nil {
		t.Error("a container without mounts sees the file")
	}
}

func TestCheckRunsWithoutShell(t *testing.T) {
	for text, ok := range map[string]bool{
		"haproxy -c -f {{.File}}":                true,
		"haproxy -c -f {{.File}} | grep -v WARN": false,
		"haproxy -c -f {{.File}} && echo ok":     false,
		"sh -c 'haproxy -c -f {{.File}} | cat'":  true,
		"haproxy -c -f $HOME/x":                  false,
	} {
		c, err := install.ParseCheck(text)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckRunsWithoutShell(c); (err == nil) != ok {
			t.Errorf("%q: err = %v, want ok=%v", text, err, ok)
		}
	}
}
