package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/docker/docker/pkg/stdcopy"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// RunOptions describe a container for Run.
type RunOptions struct {
	// Name is the readable part of the container name; Run prefixes it with
	// "rpg-<random>-" so parallel tests and packages never collide.
	Name string
	// Image defaults to TestImage (build it first with BuildTestImage).
	Image string
	// Env, e.g. "RPROXY=http://a.example.com", "NAME=a", "HTTP_PORTS=80,8080".
	Env []string
	// Network is the network to attach to (HostConfig.NetworkMode);
	// empty means Docker's default bridge.
	Network string
	// Healthcheck, e.g. {Test: []string{"CMD", "/testbackend", "-health"},
	// Interval: 500 * time.Millisecond, Retries: 1}.
	Healthcheck *container.HealthConfig
	// Labels are added to OwnerLabel.
	Labels map[string]string
	// Cmd: arguments to the image's entrypoint (/testbackend), e.g. "-tcp", "4".
	Cmd []string
}

// Container is a running container made by Run.
type Container struct {
	ID   string
	Name string // full name, without a leading slash
}

// Run creates and starts a container of the test image (or o.Image) with
// StartContainer and waits until it is running.
func Run(t testing.TB, cli *client.Client, o RunOptions) Container {
	t.Helper()
	name := UniqueName(o.Name)
	img := o.Image
	if img == "" {
		img = TestImage
	}
	stopTimeout := 2
	cfg := &container.Config{
		Image:       img,
		Env:         o.Env,
		Cmd:         o.Cmd,
		Labels:      o.Labels,
		Healthcheck: o.Healthcheck,
		StopTimeout: &stopTimeout,
	}
	hcfg := &container.HostConfig{}
	if o.Network != "" {
		hcfg.NetworkMode = container.NetworkMode(o.Network)
	}
	id := StartContainer(t, cli, name, cfg, hcfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	Poll(t, 30*time.Second, "container "+name+" running", func() error {
		st, err := cli.ContainerInspect(ctx, id)
		if err != nil {
			return err
		}
		if st.State.Running {
			return nil
		}
		if st.State.Status == "exited" || st.State.Status == "dead" {
			t.Fatalf("container %s exited (code %d, %s)", name, st.State.ExitCode, st.State.Error) // its logs follow
		}
		return fmt.Errorf("status %s", st.State.Status)
	})
	return Container{ID: id, Name: name}
}

// StartContainer creates the container name from cfg and hcfg, with
// OwnerLabel added to cfg's labels, starts it and returns its ID. When the
// test ends the container is removed (forced, with its anonymous volumes),
// after its logs are written to the test log if the test failed. For a
// container of the test image, Run is shorter.
func StartContainer(t testing.TB, cli *client.Client, name string, cfg *container.Config, hcfg *container.HostConfig) string {
	t.Helper()
	labels := map[string]string{OwnerLabel: owner()}
	maps.Copy(labels, cfg.Labels)
	cfg.Labels = labels
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := cli.ContainerCreate(ctx, cfg, hcfg, nil, nil, name)
	if err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}
	id := created.ID
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of container %s:\n%s", name, Logs(t, cli, id))
		}
		remove(t, cli, id)
	})
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatalf("starting container %s: %v", name, err)
	}
	return id
}

func remove(t testing.TB, cli *client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		t.Logf("dockertest: removing container %.12s: %v", id, err)
	}
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// UniqueName returns "rpg-<8 random hex>-name" (or "rpg-<hex>" for an
// empty name), a valid Docker object name no other test uses.
func UniqueName(name string) string {
	var b [4]byte
	rand.Read(b[:])
	n := "rpg-" + hex.EncodeToString(b[:])
	if name = nameUnsafe.ReplaceAllString(name, "-"); name != "" {
		n += "-" + name
	}
	return n
}

// IP returns the container's IPv4 address on network; an empty network
// means its only network, else the default "bridge".
func IP(t testing.TB, cli *client.Client, id, netName string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatalf("inspecting container %.12s: %v", id, err)
	}
	if st.NetworkSettings == nil {
		t.Fatalf("container %.12s has no network settings", id)
	}
	nets := st.NetworkSettings.Networks
	if netName == "" {
		netName = "bridge"
		if len(nets) == 1 {
			for n := range nets {
				netName = n
			}
		}
	}
	ep, ok := nets[netName]
	if !ok || ep == nil || ep.IPAddress == "" {
		var have []string
		for n, ep := range nets {
			have = append(have, n+"="+ep.IPAddress)
		}
		t.Fatalf("container %.12s has no IP on network %q (networks: %v)", id, netName, have)
	}
	return ep.IPAddress
}

// Stop stops the container (SIGTERM, then SIGKILL after 2s).
func Stop(t testing.TB, cli *client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	timeout := 2
	if err := cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatalf("stopping container %.12s: %v", id, err)
	}
}

// Network creates a user bridge network with a unique name, removed when
// the test ends (after the containers the test ran on it), and returns the name.
func Network(t testing.TB, cli *client.Client) string {
	t.Helper()
	name := UniqueName("net")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{OwnerLabel: owner()},
	})
	if err != nil {
		t.Fatalf("creating network %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cli.NetworkRemove(ctx, resp.ID); err != nil && !isNotFound(err) {
			t.Logf("dockertest: removing network %s: %v", name, err)
		}
	})
	return name
}

// WaitHealth waits up to 30s until the container's health status is want
// ("healthy", "unhealthy" or "starting").
func WaitHealth(t testing.TB, cli *client.Client, id, want string) {
	t.Helper()
	Poll(t, 30*time.Second, fmt.Sprintf("container %.12s %s", id, want), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := cli.ContainerInspect(ctx, id)
		if err != nil {
			return err
		}
		if st.State.Health == nil {
			return fmt.Errorf("no health check")
		}
		if st.State.Health.Status != want {
			return fmt.Errorf("health %s", st.State.Health.Status)
		}
		return nil
	})
}

// Logs returns the container's stdout and stderr so far.
func Logs(t testing.TB, cli *client.Client, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "(logs: " + err.Error() + ")"
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		fmt.Fprintf(&out, "(logs: %v)", err)
	}
	return out.String()
}

// Poll calls f until it returns nil, for at most timeout, with a short
// growing pause; on timeout the test fails with what and f's last error.
func Poll(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := 20 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %v", timeout, what, err)
		}
		time.Sleep(pause)
		if pause < 500*time.Millisecond {
			pause *= 2
		}
	}
}

// Get does one GET and returns the status code and body, reaching
// containers directly (see proxytest.Client).
func Get(url string) (int, string, error) {
	resp, err := proxytest.Client().Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// WaitHTTP GETs url until it answers 200 (up to 30s; a container's server
// may need a moment after start) and returns the body.
func WaitHTTP(t testing.TB, url string) string {
	t.Helper()
	var body string
	Poll(t, 30*time.Second, "GET "+url, func() error {
		code, b, err := Get(url)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("status %d: %s", code, strings.TrimSpace(b))
		}
		body = b
		return nil
	})
	return body
}

// WaitTCP connects to addr until it succeeds (up to 30s) and returns all
// the server sends before closing.
func WaitTCP(t testing.TB, addr string) string {
	t.Helper()
	var got string
	Poll(t, 30*time.Second, "TCP "+addr, func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		got = string(b)
		return nil
	})
	return got
}
