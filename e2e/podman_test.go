package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// podmanConf is the containers.conf of the test's Podman. The default
// ulimits are the ones this machine allows: rootful Podman 4.3 otherwise
// raises nofile and nproc above the hard limit, which a container (or a CI
// runner) without CAP_SYS_RESOURCE refuses ("error setting rlimit type 7").
// No systemd and no journald here: cgroupfs and a file for events.
const podmanConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
`

// podman is a rootful Podman of the test's own: its storage, run and
// network directories and its API socket live in one directory, so it
// shares nothing with any other Podman on the machine.
type podman struct {
	t    *testing.T
	bin  string
	dir  string
	env  []string
	sock string
}

// args are the global flags that keep every podman command in dir.
func (p *podman) args() []string {
	return []string{"--root", filepath.Join(p.dir, "root"), "--runroot", filepath.Join(p.dir, "run"),
		"--tmpdir", filepath.Join(p.dir, "tmp"), "--network-config-dir", filepath.Join(p.dir, "net"),
		"--storage-driver", "vfs"}
}

func (p *podman) run(args ...string) (string, error) {
	cmd := exec.Command(p.bin, append(p.args(), args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (p *podman) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// startPodman starts `podman system service` on a socket of the test's own
// and returns the Podman; everything it made is removed when the test ends.
func startPodman(t *testing.T) *podman {
	t.Helper()
	bin := proxytest.Need(t, "podman", "podman")
	if os.Geteuid() != 0 {
		proxytest.Missing(t, "the Podman test runs rootful Podman: run it as root")
	}
	dir, err := os.MkdirTemp("", "rpg-podman-")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(podmanConf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &podman{t: t, bin: bin, dir: dir, env: []string{"CONTAINERS_CONF=" + conf}, sock: filepath.Join(dir, "podman.sock")}
	t.Cleanup(func() {
		p.run("rm", "--all", "--force", "--time", "0")
		p.run("system", "reset", "--force")
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing %s: %v", dir, err)
		}
	})
	svc := proxytest.Start(t, dir, p.env, bin, append(p.args(), "system", "service", "--time=0", "unix://"+p.sock)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podman system service:\n%s", svc.Logs.String())
		}
	})
	dockertest.Poll(t, 30*time.Second, "the Podman socket", func() error {
		_, err := os.Stat(p.sock)
		return err
	})
	return p
}

// TestPodman runs rproxy-gen against Podman's Docker-compatible API (Debian
// 12's Podman 4.3, rootful, on a socket of the test's own): --watch follows
// a container's start, podman stop (reported as "died" in 4.3's own event
// names, which the event filter must ask for), a start again and podman
// rm; the live render equals the render of `rproxy-gen snapshot`; and the
// containers answer on the addresses rendered.
func TestPodman(t *testing.T) {
	p := startPodman(t)
	var b [4]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])

	// The test backend image, built by podman build FROM scratch.
	ctx := filepath.Join(p.dir, "context")
	os.MkdirAll(ctx, 0o755)
	os.WriteFile(filepath.Join(ctx, "testbackend"), dockertest.TestBackendBinary(t), 0o755)
	os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte("FROM scratch\nCOPY testbackend /testbackend\nENTRYPOINT [\"/testbackend\"]\n"), 0o644)
	img := "localhost/rpg-testbackend:" + id
	p.must("build", "--quiet", "-t", img, ctx)

	// A network of its own, on a subnet no other Podman here uses (the
	// bridge is named after the first free podmanN interface).
	netName := "rpg-" + id
	p.must("network", "create", "--subnet", fmt.Sprintf("10.89.%d.0/24", b[0]), netName)

	env := []string{"DOCKER_HOST=unix://" + p.sock}
	runApp := func(name, rproxy string) {
		p.must("run", "-d", "--name", name, "--network", netName, "--label", dockertest.OwnerLabel+"="+dockertest.Owner(),
			"-e", "RPROXY="+rproxy, "-e", "NAME="+name, img)
	}
	runApp("web1-"+id, "http://podman.test")
	runApp("tcp-"+id, "tcp://pod:7000")
	runApp("proxy-"+id, "") // stands for the proxy: it records the signals it gets
	out := filepath.Join(p.dir, "haproxy.cfg")
	w := startWatch(t, env, "-o", out, "--notify-container", "proxy-"+id)
	waitFile(t, out, "server web1-"+id+" ", "server tcp-"+id+" ")
	w.waitLog("the Podman daemon named", `daemon="Podman Engine 4.`)

	// The address rendered answers.
	ip := p.must("inspect", "--format", "{{(index .NetworkSettings.Networks \""+netName+"\").IPAddress}}", "web1-"+id)
	if body := dockertest.WaitHTTP(t, "http://"+ip+"/"); field(body, "name") != "web1-"+id {
		t.Errorf("web1 at %s answers %q", ip, body)
	}
	if cfg, _ := os.ReadFile(out); !strings.Contains(string(cfg), ip+":80") {
		t.Errorf("web1's address %s is not in the config:\n%s", ip, cfg)
	}

	// Live render = render of the snapshot.
	live := oneShot(t, env)
	snap := filepath.Join(p.dir, "snap.json")
	os.WriteFile(snap, []byte(oneShot(t, env, "snapshot")), 0o644)
	if fromSnap := oneShot(t, nil, "--from", snap); fromSnap != live {
		t.Errorf("rendering the Podman snapshot differs from rendering live:\n%s\n---\n%s", fromSnap, live)
	}

	// start, stop, start, rm: each followed.
	runApp("web2-"+id, "http://podman.test")
	waitFile(t, out, "server web1-"+id+" ", "server web2-"+id+" ")
	p.must("stop", "--time", "1", "web1-"+id)
	waitGone(t, out, "server web1-"+id+" ")
	p.must("start", "web1-"+id)
	waitFile(t, out, "server web1-"+id+" ", "server web2-"+id+" ")
	p.must("rm", "--force", "--time", "0", "web2-"+id)
	waitGone(t, out, "server web2-"+id+" ")
	waitFile(t, out, "server web1-"+id+" ", "server tcp-"+id+" ")

	// --notify-container through Podman's kill API.
	proxyIP := p.must("inspect", "--format", "{{(index .NetworkSettings.Networks \""+netName+"\").IPAddress}}", "proxy-"+id)
	dockertest.Poll(t, routeWait, "the proxy container signalled", func() error {
		body := dockertest.WaitHTTP(t, "http://"+proxyIP+"/signals")
		// One per change (5), unless two changes came while a signal
		// was on its way and coalesced.
		if n := strings.Count(body, "SIGHUP"); n < 3 {
			return fmt.Errorf("%d SIGHUPs recorded, want about one per change (5)", n)
		}
		return nil
	})
}

// waitGone waits until path no longer holds sub.
func waitGone(t *testing.T, path, sub string) {
	t.Helper()
	dockertest.Poll(t, routeWait, path+" without "+sub, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), sub) {
			return fmt.Errorf("%s still holds %q", path, sub)
		}
		return nil
	})
}
