package source

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/model"
)

// These tests drive the Swarm source through the fake Engine API
// (internal/fakedocker): a real single-node Swarm cannot be made to hold a
// task in "starting", kill a task on another node or list many nodes in
// milliseconds; the e2e tests cover a real one.

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// names returns the sorted names of cs, "name@health" when not healthy.
func names(cs []model.Container) []string {
	var out []string
	for _, c := range cs {
		n := c.Name
		if c.Health != "" {
			n += "@" + c.Health
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func newSwarmSource(t *testing.T, e *fakedocker.Engine) *Swarm {
	s := NewSwarm(e.Client(t), quietLog())
	s.Interval = 10 * time.Millisecond
	s.Window = 5 * time.Second
	return s
}

// follower runs a Swarm source's Events and Refreshes on every key as the
// watch loop would (without debounce).
type follower struct {
	t       *testing.T
	ctx     context.Context
	s       *Swarm
	refresh chan []string
	ended   <-chan error
}

// followedSwarm is a fake Swarm with a manager and one worker node (its
// ID), a Swarm source on it and a follower subscribed to its events.
func followedSwarm(t *testing.T) (context.Context, *fakedocker.Engine, string, *Swarm, *follower) {
	ctx := testCtx(t)
	e := fakedocker.New(t, fakedocker.WithSwarm())
	worker := e.AddNode(fakedocker.NodeSpec{Hostname: "worker1"})
	s := newSwarmSource(t, e)
	f := follow(t, ctx, s)
	if err := e.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return ctx, e, worker, s, f
}

func follow(t *testing.T, ctx context.Context, s *Swarm) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	keys, ended := s.Events(ctx, time.Time{})
	f := &follower{t: t, ctx: ctx, s: s, refresh: make(chan []string), ended: ended}
	go func() {
		for k := range keys {
			f.refresh <- []string{k}
		}
		close(f.refresh)
	}()
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// until refreshes on keys until ok holds for the source's containers; it
// fails the test when that takes longer than 3s.
func (f *follower) until(what string, ok func([]model.Container) bool) {
	f.t.Helper()
	deadline := time.After(3 * time.Second)
	for !ok(f.s.Containers()) {
		select {
		case ks, open := <-f.refresh:
			if !open {
				f.t.Fatalf("%s: event stream ended: %v", what, <-f.ended)
			}
			if err := f.s.Refresh(f.ctx, ks); err != nil {
				f.t.Fatalf("%s: refresh %v: %v", what, ks, err)
			}
		case <-deadline:
			f.t.Fatalf("%s: not reached; containers %v", what, names(f.s.Containers()))
		}
	}
}

// wait waits until the containers have the given names (see names).
func (f *follower) wait(what string, want ...string) {
	f.t.Helper()
	sort.Strings(want)
	f.until(what, func(cs []model.Container) bool { return slices.Equal(names(cs), want) })
}

func TestSwarmSyncListsServicesTasksNodes(t *testing.T) {
	ctx := testCtx(t)
	e := fakedocker.New(t, fakedocker.WithSwarm())
	worker := e.AddNode(fakedocker.NodeSpec{Hostname: "worker1"})
	e.AddService(fakedocker.ServiceSpec{Name: "web", Replicas: 3, Networks: []string{"front"},
		Labels: map[string]string{"rproxy": "http://web.test"}, Ports: []swarm.PortConfig{{TargetPort: 80}}})
	e.AddService(fakedocker.ServiceSpec{Name: "agent", Global: true, Env: []string{"RPROXY=tcp://agent:7000"}, Networks: []string{"front"}})
	e.AddService(fakedocker.ServiceSpec{Name: "plain", Replicas: 2})
	s := newSwarmSource(t, e)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cs := s.Containers()
	want := []string{"agent." + e.NodeID(), "agent." + worker, "web.1", "web.2", "web.3"}
	sort.Strings(want)
	if got := names(cs); !slices.Equal(got, want) {
		t.Fatalf("containers %v, want %v", got, want)
	}
	// Published ports put the tasks on ingress too; the address is still the
	// one on "front".
	m := model.Build(cs, model.Options{})
	if len(m.HTTP) != 1 || len(m.HTTP[0].Routes[0].Servers) != 3 || len(m.TCP) != 1 || len(m.TCP[0].Servers) != 2 {
		t.Fatalf("model %+v", m)
	}
	for _, srv := range m.HTTP[0].Routes[0].Servers {
		if !strings.HasPrefix(srv.Address, "10.") || srv.Address == "" {
			t.Errorf("server %+v", srv)
		}
		for _, task := range e.Tasks("web") {
			for _, a := range task.NetworksAttachments {
				if a.Network.Spec.Name == "ingress" && strings.HasPrefix(a.Addresses[0], srv.Address+"/") {
					t.Errorf("server %s uses its ingress address", srv.Name)
				}
			}
		}
	}
}

func TestSwarmNotAManager(t *testing.T) {
	ctx := testCtx(t)
	for _, tt := range []struct {
		opt  fakedocker.Option
		want string
	}{
		{fakedocker.WithSwarmWorker(), "is a Swarm worker"},
		{nil, "is not in a Swarm (swarm state inactive)"},
	} {
		var opts []fakedocker.Option
		if tt.opt != nil {
			opts = append(opts, tt.opt)
		}
		e := fakedocker.New(t, opts...)
		err := NewSwarm(e.Client(t), quietLog()).Sync(ctx)
		if err == nil || !strings.Contains(err.Error(), "--swarm needs a Swarm manager") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}

// TestSwarmConverge: with no task events, a service event starts the
// converge loop, which follows the tasks until they match the replicas.
func TestSwarmConverge(t *testing.T) {
	_, e, _, _, f := followedSwarm(t)

	// Created with its tasks starting (a health check not passed yet): they
	// are listed as starting, then served once running, which no event
	// reports: only the converge loop sees it.
	web := e.AddService(fakedocker.ServiceSpec{Name: "web", Replicas: 2, Networks: []string{"front"},
		Labels: map[string]string{"rproxy": "http://web.test"}, TaskState: swarm.TaskStateStarting})
	f.wait("created, starting", "web.1@starting", "web.2@starting")
	for _, task := range web.Tasks() {
		e.SetTaskState(task.ID, swarm.TaskStateRunning)
	}
	f.wait("running without an event", "web.1", "web.2")

	// Scale up: the new tasks start, then run (no event says so), then down.
	e.ScaleService("web", 5)
	f.wait("scaled to 5", "web.1", "web.2", "web.3@starting", "web.4@starting", "web.5@starting")
	for _, task := range web.Tasks() {
		if task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateStarting {
			e.SetTaskState(task.ID, swarm.TaskStateRunning)
		}
	}
	f.wait("scaled to 5, running", "web.1", "web.2", "web.3", "web.4", "web.5")
	e.ScaleService("web", 2)
	f.wait("scaled to 2", "web.1", "web.2")

	// A label-only update changes the entries and keeps the tasks.
	before := web.Tasks()
	e.UpdateService("web", func(spec *swarm.ServiceSpec) { spec.Labels["rproxy"] = "http://web.test,http://www.test" })
	f.until("label update", func(cs []model.Container) bool {
		return len(cs) == 2 && cs[0].RProxy == "http://web.test,http://www.test" && cs[1].RProxy == cs[0].RProxy
	})
	if after := web.Tasks(); len(after) != len(before) || after[0].ID != before[0].ID {
		t.Errorf("a label-only update replaced tasks")
	}

	// Removed: nothing left.
	e.RemoveService("web")
	f.wait("removed")
}

// TestSwarmConvergeStops: once a service matches its replicas, the loop
// stops listing it; a task that then dies silently is only seen by a full
// resync (Sync), as a dead task on another node is.
func TestSwarmConvergeStops(t *testing.T) {
	ctx, e, worker, s, f := followedSwarm(t)
	web := e.AddService(fakedocker.ServiceSpec{Name: "web", Replicas: 2, Networks: []string{"front"}, Env: []string{"RPROXY=http://web.test"}})
	f.wait("created", "web.1", "web.2")
	// Settled: the task list requests stop.
	time.Sleep(100 * time.Millisecond)
	n := e.Requests(fakedocker.RouteTaskList)
	time.Sleep(100 * time.Millisecond)
	if m := e.Requests(fakedocker.RouteTaskList); m != n {
		t.Fatalf("the converge loop still lists tasks after the service settled: %d → %d requests", n, m)
	}
	var remote swarm.Task
	for _, task := range web.Tasks() {
		if task.NodeID == worker {
			remote = task
		}
	}
	if remote.ID == "" {
		t.Fatal("no task on the worker")
	}
	e.SetTaskState(remote.ID, swarm.TaskStateFailed)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := "web.1"
	if remote.Slot == 1 {
		want = "web.2"
	}
	if got := names(s.Containers()); !slices.Equal(got, []string{want}) {
		t.Errorf("after resync: %v, want [%s]", got, want)
	}
}

// TestSwarmNodeEvent: a node going down takes its tasks out (after the
// node event, every service is re-listed).
func TestSwarmNodeEvent(t *testing.T) {
	_, e, worker, _, f := followedSwarm(t)
	e.AddService(fakedocker.ServiceSpec{Name: "agent", Global: true, Labels: map[string]string{"rproxy": "tcp://agent:7000"}})
	f.wait("global service on two nodes", "agent."+e.NodeID(), "agent."+worker)
	e.SetNodeState(worker, swarm.NodeStateDown)
	f.wait("worker down", "agent."+e.NodeID())
}
