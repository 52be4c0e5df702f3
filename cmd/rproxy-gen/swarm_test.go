package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// These tests run the CLI in-process against the fake Engine API
// (internal/fakedocker): it holds a Swarm with services on two nodes and
// lets a task die without an event, which a real single-node Swarm cannot
// do in milliseconds; e2e/ runs the same against real Swarms.

// swarmEngine is a fake manager with a worker, a service "web" on network
// "front" (label rproxy) and, on the manager, a plain container "plain" and
// the container of one of web's tasks, which must not count twice.
func swarmEngine(t *testing.T) (*fakedocker.Engine, *fakedocker.Service) {
	t.Helper()
	e := fakedocker.New(t, fakedocker.WithSwarm())
	t.Setenv("DOCKER_HOST", e.Host())
	t.Setenv("DOCKER_API_VERSION", "")
	e.AddNode(fakedocker.NodeSpec{Hostname: "worker1"})
	web := e.AddService(fakedocker.ServiceSpec{Name: "web", Replicas: 2, Networks: []string{"front"},
		Labels: map[string]string{"rproxy": "http://web.test"}})
	e.Add(fakedocker.ContainerSpec{Name: "plain", Env: []string{"RPROXY=http://plain.test"},
		Labels: map[string]string{"rproxy": "http://plain.test,http://plain2.test"}})
	task := web.Tasks()[0]
	e.Add(fakedocker.ContainerSpec{Name: "web.1." + task.ID, Env: []string{"RPROXY=http://web.test"},
		Labels: map[string]string{"com.docker.swarm.task.id": task.ID, "com.docker.swarm.service.name": "web"}})
	return e, web
}

func TestCLISwarmOneShot(t *testing.T) {
	swarmEngine(t)
	out, stderr, err := run(t, "", "--swarm", "model")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"name: web.1", "name: web.2", "name: plain", "host: plain2.test"} {
		if !strings.Contains(out, want) {
			t.Errorf("model lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "name: web."); n != 2 {
		t.Errorf("%d web servers, want 2 (the task's container must not count again):\n%s", n, out)
	}
	// Without --swarm, the services are not read; the task's container is a
	// plain container then.
	out, _, err = run(t, "", "model")
	if err != nil || strings.Contains(out, "name: web.2") || !strings.Contains(out, "name: web.1.") {
		t.Errorf("without --swarm: %v\n%s", err, out)
	}
}

// TestCLISwarmSnapshot: `snapshot --swarm` writes containers, services,
// tasks and nodes; rendering it offline gives the very bytes of rendering
// live.
func TestCLISwarmSnapshot(t *testing.T) {
	swarmEngine(t)
	snap, stderr, err := run(t, "", "--swarm", "snapshot")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var obj map[string][]json.RawMessage
	if err := json.Unmarshal([]byte(snap), &obj); err != nil {
		t.Fatal(err)
	}
	if len(obj["containers"]) != 2 || len(obj["services"]) != 1 || len(obj["tasks"]) != 2 || len(obj["nodes"]) != 2 {
		t.Errorf("snapshot: %d containers, %d services, %d tasks, %d nodes", len(obj["containers"]), len(obj["services"]), len(obj["tasks"]), len(obj["nodes"]))
	}
	live, _, err := run(t, "", "--swarm")
	if err != nil {
		t.Fatal(err)
	}
	offline, _, err := run(t, snap, "--from", "-")
	if err != nil || offline != live {
		t.Errorf("rendering the snapshot differs from rendering live (%v):\n--- live ---\n%s\n--- offline ---\n%s", err, live, offline)
	}
	if !strings.Contains(live, "web.1") || !strings.Contains(live, "web.2") {
		t.Errorf("no web servers:\n%s", live)
	}
	// Without --swarm the snapshot stays a docker-inspect array.
	plain, _, err := run(t, "", "snapshot")
	if err != nil || !strings.HasPrefix(plain, "[") {
		t.Errorf("plain snapshot: %v\n%.100s", err, plain)
	}
}

// TestCLISwarmWatch: --watch --swarm follows a scale through the converge
// loop and a silent task death through --resync, both into the file.
func TestCLISwarmWatch(t *testing.T) {
	e, web := swarmEngine(t)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr proxytest.Buffer
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&stderr)
		cmd.SetArgs([]string{"--watch", "--swarm", "-o", cfg, "--wait", "10ms:50ms", "--resync", "200ms", "--log-level", "debug"})
		done <- cmd.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	servers := func(what string, want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			b, _ := os.ReadFile(cfg)
			if n := strings.Count(string(b), " server web."); n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: want %d web servers in:\n%s", what, want, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	servers("start", 2)
	if err := e.WaitSubscribers(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	e.ScaleService("web", 4)
	servers("scaled to 4", 4)
	// Once the converge loop has settled, only the resync lists tasks.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), `msg="swarm service settled" service=web`) {
		if time.Now().After(deadline) {
			t.Fatalf("the converge loop did not settle:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A task dies and nothing says so; the resync takes it out.
	var victim swarm.Task
	for _, task := range web.Tasks() {
		if task.DesiredState == swarm.TaskStateRunning && task.Slot == 3 {
			victim = task
		}
	}
	e.SetTaskState(victim.ID, swarm.TaskStateFailed)
	servers("dead task removed by the resync", 3)
}
