package fakedocker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// The tests in this package check the fake itself against the real client;
// whether the fake tells the truth about a daemon is checked against a real
// dockerd in internal/dockertest.

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPingAndNegotiation(t *testing.T) {
	tests := []struct {
		name      string
		opts      []Option
		wantAPI   string
		wantSwarm *swarm.Status
	}{
		// Docker 20.10 sends no Swarm header outside Swarm mode.
		{"default 1.41", nil, "1.41", nil},
		{"old 1.20", []Option{WithAPIVersion("1.20")}, "1.20", nil},
		{"newer 1.45", []Option{WithAPIVersion("1.45")}, "1.45", nil},
		{"swarm manager", []Option{WithSwarm()}, "1.41", &swarm.Status{NodeState: swarm.LocalNodeStateActive, ControlAvailable: true}},
		{"swarm manager like 20.10", []Option{WithSwarm(), WithoutSwarmHeader()}, "1.41", nil},
		{"swarm worker", []Option{WithSwarmWorker()}, "1.41", &swarm.Status{NodeState: swarm.LocalNodeStateActive}},
		{"podman", []Option{WithPodman()}, "1.41", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(t, tt.opts...)
			cli := e.Client(t)
			ctx := ctxT(t)
			ping, err := cli.Ping(ctx)
			if err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if ping.APIVersion != tt.wantAPI || ping.OSType != "linux" {
				t.Errorf("Ping = %+v, want API %s on linux", ping, tt.wantAPI)
			}
			switch {
			case tt.wantSwarm == nil && ping.SwarmStatus != nil:
				t.Errorf("SwarmStatus = %+v, want none", ping.SwarmStatus)
			case tt.wantSwarm != nil && (ping.SwarmStatus == nil || *ping.SwarmStatus != *tt.wantSwarm):
				t.Errorf("SwarmStatus = %+v, want %+v", ping.SwarmStatus, tt.wantSwarm)
			}
			// The first versioned call negotiates.
			v, err := cli.ServerVersion(ctx)
			if err != nil {
				t.Fatalf("ServerVersion: %v", err)
			}
			if got := cli.ClientVersion(); got != tt.wantAPI {
				t.Errorf("negotiated %s, want %s", got, tt.wantAPI)
			}
			if v.APIVersion != tt.wantAPI || v.MinAPIVersion == "" || v.Version == "" || len(v.Components) != 1 {
				t.Errorf("ServerVersion = %+v", v)
			}
			if _, err := cli.ContainerList(ctx, container.ListOptions{}); err != nil {
				t.Errorf("ContainerList at the negotiated version: %v", err)
			}
		})
	}
}

func TestVersionBounds(t *testing.T) {
	e := New(t)
	ctx := ctxT(t)
	tests := []struct {
		version string
		wantErr string
	}{
		{"1.51", "client version 1.51 is too new. Maximum supported API version is 1.41"},
		{"1.11", "client version 1.11 is too old"},
		{"1.41", ""},
		{"1.24", ""},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			cli, err := client.NewClientWithOpts(client.WithHost(e.Host()), client.WithVersion(tt.version))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			_, err = cli.ContainerList(ctx, container.ListOptions{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ContainerList: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !cerrdefs.IsInvalidArgument(err)):
				t.Errorf("ContainerList error = %v, want invalid argument %q", err, tt.wantErr)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	ctx := ctxT(t)
	e := New(t, WithSwarm(), WithHostname("mgr1"))
	e.Add(ContainerSpec{Name: "a"})
	e.Add(ContainerSpec{Name: "b", State: container.StateExited})
	e.Add(ContainerSpec{Name: "c", State: container.StatePaused})
	info, err := e.Client(t).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Containers != 3 || info.ContainersRunning != 1 || info.ContainersStopped != 1 || info.ContainersPaused != 1 {
		t.Errorf("container counts = %d/%d/%d/%d", info.Containers, info.ContainersRunning, info.ContainersStopped, info.ContainersPaused)
	}
	if info.Name != "mgr1" || info.ServerVersion != DefaultVersion {
		t.Errorf("Name, ServerVersion = %q, %q", info.Name, info.ServerVersion)
	}
	s := info.Swarm
	if s.LocalNodeState != swarm.LocalNodeStateActive || !s.ControlAvailable || s.NodeID == "" || s.NodeID != e.NodeID() || s.Nodes != 1 || s.Managers != 1 {
		t.Errorf("Swarm = %+v", s)
	}

	plain := New(t)
	info, err = plain.Client(t).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateInactive || info.Swarm.ControlAvailable || info.Swarm.NodeID != "" {
		t.Errorf("Swarm outside swarm mode = %+v", info.Swarm)
	}
}

func TestFaults(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	e.Add(ContainerSpec{Name: "web"})
	cli := e.Client(t)

	e.Fail("/containers/", 500)
	_, err := cli.ContainerList(ctx, container.ListOptions{})
	if err == nil || !cerrdefs.IsInternal(err) || !strings.Contains(err.Error(), "injected failure 500") {
		t.Errorf("ContainerList under Fail = %v, want an internal error", err)
	}
	if _, err := cli.ContainerInspect(ctx, "web"); err == nil {
		t.Error("ContainerInspect under Fail(/containers/) succeeded")
	}
	if _, err := cli.ServerVersion(ctx); err != nil {
		t.Errorf("ServerVersion is outside the failing prefix: %v", err)
	}
	e.Heal()
	if _, err := cli.ContainerList(ctx, container.ListOptions{}); err != nil {
		t.Errorf("ContainerList after Heal: %v", err)
	}

	// FailN fails the next n matching requests only; a method narrows it.
	e.FailN("GET /containers/json", 503, 2)
	for i, wantErr := range []bool{true, true, false} {
		_, err := cli.ContainerList(ctx, container.ListOptions{})
		if (err != nil) != wantErr || (err != nil && !cerrdefs.IsUnavailable(err)) {
			t.Errorf("list %d: err = %v, want error %v", i, err, wantErr)
		}
	}
	e.FailN("POST /containers/", 500, 1)
	if _, err := cli.ContainerInspect(ctx, "web"); err != nil {
		t.Errorf("GET inspect hit a POST fault: %v", err)
	}
	if err := cli.ContainerKill(ctx, "web", "HUP"); err == nil {
		t.Error("POST kill under FailN succeeded")
	}
	if got := e.Requests(RouteContainerKill); got != 1 {
		t.Errorf("Requests(kill) = %d, want 1 (failed requests count)", got)
	}
}

func TestLatencyAndHang(t *testing.T) {
	e := New(t, WithLatency(time.Hour))
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := cli.ServerVersion(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ServerVersion with an hour of latency = %v, want deadline exceeded", err)
	}
	e.SetLatency(0)

	e.Hang("/version")
	before := e.Requests(RouteVersion)
	done := make(chan error, 1)
	go func() {
		_, err := cli.ServerVersion(context.Background())
		done <- err
	}()
	// Heal only once the request is known to hang in the server.
	for e.Requests(RouteVersion) == before {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("hanging request returned early: %v", err)
	default:
	}
	e.Heal()
	if err := <-done; err != nil {
		t.Errorf("hanging request after Heal: %v", err)
	}
}

func TestCounters(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	a := e.Add(ContainerSpec{Name: "a"})
	b := e.Add(ContainerSpec{Name: "b"})
	cli := e.Client(t)
	for _, ref := range []string{a.ID, "a", "/a", a.ID[:10], b.ID, "missing"} {
		_, _ = cli.ContainerInspect(ctx, ref)
	}
	if got := e.Inspections("a"); got != 4 {
		t.Errorf("Inspections(a) = %d, want 4", got)
	}
	if got := e.Inspections(b.ID); got != 1 {
		t.Errorf("Inspections(b) = %d, want 1", got)
	}
	if got := e.Inspections("missing"); got != 1 {
		t.Errorf("Inspections(missing) = %d, want 1", got)
	}
	if got := e.Requests(RouteContainerInspect); got != 6 {
		t.Errorf("Requests(inspect) = %d, want 6", got)
	}
	if got := e.RequestCounts()[RoutePingHead]; got != 1 {
		t.Errorf("negotiation pings = %d, want 1", got)
	}
	_, _ = cli.ContainerList(ctx, container.ListOptions{})
	if got := e.Requests(RouteContainerList); got != 1 {
		t.Errorf("Requests(list) = %d, want 1", got)
	}
	e.ResetCounters()
	if e.Requests(RouteContainerInspect) != 0 || len(e.InspectCounts()) != 0 {
		t.Errorf("counters after reset: %v %v", e.RequestCounts(), e.InspectCounts())
	}
}

func TestCloseRemovesSocketAndEndsStreams(t *testing.T) {
	e, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := e.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if !strings.HasPrefix(e.Host(), "unix:///tmp/fde-") || len(e.SocketPath()) > 100 {
		t.Errorf("Host() = %q", e.Host())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, errs := cli.Events(ctx, eventsAll())
	e.Close()
	e.Close() // idempotent
	if err := <-errs; err == nil {
		t.Error("event stream survived Close")
	}
	if _, err := os.Stat(e.SocketPath()); !os.IsNotExist(err) {
		t.Errorf("socket after Close: %v", err)
	}
}

func TestPodmanFlavour(t *testing.T) {
	ctx := ctxT(t)
	e := New(t, WithPodman())
	cli := e.Client(t)
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Components[0].Name != "Podman Engine" || v.Version != "4.3.1" {
		t.Errorf("version = %+v", v)
	}
	c := e.Add(ContainerSpec{Name: "p"})
	msgs, errs := cli.Events(ctx, eventsFilter("type", "container"))
	e.Die(c.ID, 3)
	got := collect(t, msgs, errs, 1)
	if got[0].Action != "died" || got[0].Actor.Attributes["exitCode"] != "3" {
		t.Errorf("exit event = %+v, want Podman's died", got[0])
	}
	if _, err := cli.ServiceList(ctx, swarm.ServiceListOptions{}); !cerrdefs.IsUnavailable(err) {
		t.Errorf("ServiceList on Podman = %v, want unavailable", err)
	}
}
