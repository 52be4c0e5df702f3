package fakedocker

import (
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

func args(kv ...string) filters.Args {
	f := filters.NewArgs()
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

func serviceNames(list []swarm.Service) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Spec.Name)
	}
	slices.Sort(out)
	return out
}

func TestSwarmListsAndFilters(t *testing.T) {
	ctx := ctxT(t)
	e := New(t, WithSwarm())
	cli := e.Client(t)
	w2 := e.AddNode(NodeSpec{Hostname: "worker2", Labels: map[string]string{"zone": "b"}, EngineLabels: map[string]string{"disk": "ssd"}})
	web := e.AddService(ServiceSpec{Name: "web", Replicas: 3, Networks: []string{"front"}, Labels: map[string]string{"rproxy": "http://web.example"},
		Ports: []swarm.PortConfig{{TargetPort: 80}}})
	e.AddService(ServiceSpec{Name: "api", Networks: []string{"front", "back"}, Labels: map[string]string{"tier": "api"}})
	e.AddService(ServiceSpec{Name: "agent", Global: true})

	svcTests := []struct {
		name string
		f    filters.Args
		want []string
	}{
		{"all", args(), []string{"agent", "api", "web"}},
		{"name prefix", args("name", "we"), []string{"web"}},
		{"label key", args("label", "tier"), []string{"api"}},
		{"label value", args("label", "rproxy=http://web.example"), []string{"web"}},
		{"mode global", args("mode", "global"), []string{"agent"}},
		{"id prefix", args("id", web.ID[:5]), []string{"web"}},
	}
	for _, tt := range svcTests {
		list, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: tt.f})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := serviceNames(list); !slices.Equal(got, tt.want) {
			t.Errorf("services %s = %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: args("colour", "x")}); !cerrdefs.IsInvalidArgument(err) {
		t.Errorf("unknown service filter = %v", err)
	}
	list, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true, Filters: args("name", "web")})
	if err != nil || len(list) != 1 || list[0].ServiceStatus == nil || list[0].ServiceStatus.RunningTasks != 3 || list[0].ServiceStatus.DesiredTasks != 3 {
		t.Errorf("service status = %+v, %v", list, err)
	}

	svc, _, err := cli.ServiceInspectWithRaw(ctx, "web", swarm.ServiceInspectOptions{})
	if err != nil || svc.ID != web.ID || *svc.Spec.Mode.Replicated.Replicas != 3 || len(svc.Endpoint.VirtualIPs) != 2 || svc.Endpoint.Ports[0].PublishedPort == 0 {
		t.Errorf("service inspect = %+v, %v", svc, err)
	}
	if _, _, err := cli.ServiceInspectWithRaw(ctx, "nope", swarm.ServiceInspectOptions{}); !cerrdefs.IsNotFound(err) || !strings.Contains(err.Error(), "service nope not found") {
		t.Errorf("missing service = %v", err)
	}

	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("service", "web", "desired-state", "running")})
	if err != nil || len(tasks) != 3 {
		t.Fatalf("web tasks = %d, %v", len(tasks), err)
	}
	slots := map[int]bool{}
	for _, tk := range tasks {
		slots[tk.Slot] = true
		if tk.ServiceID != web.ID || tk.Status.State != swarm.TaskStateRunning || tk.Status.ContainerStatus == nil || tk.NodeID == "" {
			t.Errorf("task %+v", tk)
		}
		if len(tk.NetworksAttachments) != 2 || tk.NetworksAttachments[0].Network.Spec.Name != "ingress" ||
			tk.NetworksAttachments[1].Network.Spec.Name != "front" || !strings.HasPrefix(tk.NetworksAttachments[1].Addresses[0], "10.1.") {
			t.Errorf("task networks %+v", tk.NetworksAttachments)
		}
	}
	if len(slots) != 3 {
		t.Errorf("slots %v", slots)
	}
	taskTests := []struct {
		name string
		f    filters.Args
		want int
	}{
		{"all", args(), 6}, // 3 web, 1 api, 2 agent (one per node)
		{"global service", args("service", "agent"), 2},
		{"node by hostname", args("node", "worker2"), 2}, // round robin from the oldest node: web.2 and agent
		{"id prefix", args("id", tasks[0].ID[:8]), 1},
		{"name prefix", args("name", "web.2."), 1},
		{"service label", args("label", "tier=api"), 1},
		{"desired shutdown", args("desired-state", "shutdown"), 0},
	}
	for _, tt := range taskTests {
		got, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: tt.f})
		if err != nil {
			t.Fatalf("tasks %s: %v", tt.name, err)
		}
		if len(got) != tt.want {
			t.Errorf("tasks %s = %d, want %d", tt.name, len(got), tt.want)
		}
	}
	if _, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("service", "nope")}); !cerrdefs.IsNotFound(err) {
		t.Errorf("tasks of a missing service = %v, want not found", err)
	}
	if _, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("desired-state", "sleeping")}); err == nil {
		t.Error("bad desired-state accepted")
	}
	if tk, _, err := cli.TaskInspectWithRaw(ctx, tasks[0].ID); err != nil || tk.ID != tasks[0].ID {
		t.Errorf("task inspect: %v", err)
	}

	nodeTests := []struct {
		name string
		f    filters.Args
		want int
	}{
		{"all", args(), 2},
		{"role manager", args("role", "manager"), 1},
		{"role worker", args("role", "worker"), 1},
		{"name", args("name", "worker"), 1},
		{"node label", args("node.label", "zone=b"), 1},
		{"engine label", args("label", "disk"), 1},
	}
	for _, tt := range nodeTests {
		got, err := cli.NodeList(ctx, swarm.NodeListOptions{Filters: tt.f})
		if err != nil || len(got) != tt.want {
			t.Errorf("nodes %s = %d, %v; want %d", tt.name, len(got), err, tt.want)
		}
	}
	if n, _, err := cli.NodeInspectWithRaw(ctx, "worker2"); err != nil || n.ID != w2 || n.Status.State != swarm.NodeStateReady {
		t.Errorf("node inspect = %+v, %v", n, err)
	}
	if self, _, err := cli.NodeInspectWithRaw(ctx, e.NodeID()); err != nil || self.ManagerStatus == nil || !self.ManagerStatus.Leader {
		t.Errorf("self node = %+v, %v", self, err)
	}
}

func TestSwarmUpdatesAndEvents(t *testing.T) {
	ctx := ctxT(t)
	e := New(t, WithSwarm())
	cli := e.Client(t)
	msgs, errs := cli.Events(ctx, eventsAll())
	web := e.AddService(ServiceSpec{Name: "web", Replicas: 2, Image: "nginx:1"})
	got := collect(t, msgs, errs, 1)
	if got[0].Type != events.ServiceEventType || got[0].Action != "create" || got[0].Scope != "swarm" || got[0].Actor.ID != web.ID || got[0].Actor.Attributes["name"] != "web" {
		t.Errorf("create event = %+v", got[0])
	}
	running := func() []string {
		tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("service", "web", "desired-state", "running")})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tk := range tasks {
			ids = append(ids, tk.ID)
		}
		slices.Sort(ids)
		return ids
	}
	before := running()

	// A label-only update keeps the tasks.
	e.UpdateService("web", func(s *swarm.ServiceSpec) { s.Labels["rproxy"] = "http://x" })
	got = collect(t, msgs, errs, 1)
	if got[0].Action != "update" || len(got[0].Actor.Attributes) != 1 {
		t.Errorf("label update event = %+v", got[0])
	}
	if after := running(); !slices.Equal(after, before) {
		t.Errorf("label update replaced tasks: %v → %v", before, after)
	}

	// Scaling reports replicas.old/new.
	e.ScaleService(web.ID, 4)
	got = collect(t, msgs, errs, 1)
	if a := got[0].Actor.Attributes; a["replicas.old"] != "2" || a["replicas.new"] != "4" {
		t.Errorf("scale event = %v", a)
	}
	if n := len(running()); n != 4 {
		t.Errorf("%d running tasks after scale to 4", n)
	}
	e.ScaleService("web", 1)
	collect(t, msgs, errs, 1)
	if n := len(running()); n != 1 {
		t.Errorf("%d running tasks after scale to 1", n)
	}
	all, _ := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("service", "web")})
	if len(all) != 4 {
		t.Errorf("task history has %d tasks, want 4 (3 shut down)", len(all))
	}

	// An image change rolls the tasks: two updates, new task IDs.
	before = running()
	e.UpdateService("web", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Image = "nginx:2" })
	got = collect(t, msgs, errs, 2)
	if a := got[0].Actor.Attributes; a["image.old"] != "nginx:1" || a["image.new"] != "nginx:2" || a["updatestate.new"] != "updating" {
		t.Errorf("first rolling update event = %v", a)
	}
	if a := got[1].Actor.Attributes; a["updatestate.old"] != "updating" || a["updatestate.new"] != "completed" {
		t.Errorf("second rolling update event = %v", a)
	}
	if after := running(); len(after) != 1 || after[0] == before[0] {
		t.Errorf("rolling update kept task %v", after)
	}

	// A task dying keeps its desired state until the orchestrator reacts.
	tk := running()[0]
	e.SetTaskState(tk, swarm.TaskStateFailed)
	if tasks, _ := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("id", tk)}); tasks[0].Status.State != swarm.TaskStateFailed || tasks[0].DesiredState != swarm.TaskStateRunning {
		t.Errorf("failed task = %+v", tasks[0].Status)
	}
	e.RemoveTask(tk)

	n := e.AddNode(NodeSpec{Hostname: "w2"})
	e.SetNodeState(n, swarm.NodeStateDown)
	e.RemoveService("web")
	got = collect(t, msgs, errs, 3)
	if s := summarize(got); !slices.Equal(s, []string{"node:create:w2", "node:update:w2", "service:remove:web"}) {
		t.Errorf("events = %v", s)
	}
	if a := got[1].Actor.Attributes; a["state.old"] != "ready" || a["state.new"] != "down" {
		t.Errorf("node update = %v", a)
	}
	if _, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: args("service", "web")}); !cerrdefs.IsNotFound(err) {
		t.Errorf("tasks of a removed service: %v", err)
	}
	// A manager sends no task (container) events.
	for _, m := range e.EventLog() {
		if m.Type == events.ContainerEventType {
			t.Errorf("container event without WithTaskEvents: %+v", m)
		}
	}
}

func TestSwarmTaskEvents(t *testing.T) {
	ctx := ctxT(t)
	e := New(t, WithSwarm(), WithTaskEvents())
	cli := e.Client(t)
	msgs, errs := cli.Events(ctx, eventsFilter("type", "container"))
	s := e.AddService(ServiceSpec{Name: "web", ContainerLabels: map[string]string{"x": "y"}})
	got := collect(t, msgs, errs, 2)
	tk := s.Tasks()[0]
	a := got[1].Actor.Attributes
	if got[1].Action != "start" || got[1].Actor.ID != tk.Status.ContainerStatus.ContainerID ||
		a["com.docker.swarm.service.name"] != "web" || a["com.docker.swarm.task.id"] != tk.ID || a["x"] != "y" || a["name"] != "web.1."+tk.ID {
		t.Errorf("task start event = %+v", got[1])
	}
	e.SetTaskState(tk.ID, swarm.TaskStateFailed)
	if got := collect(t, msgs, errs, 1); got[0].Action != "die" || got[0].Actor.Attributes["exitCode"] != "1" {
		t.Errorf("task die event = %+v", got[0])
	}
}

func TestSwarmUnavailable(t *testing.T) {
	ctx := ctxT(t)
	for _, tt := range []struct {
		name string
		opts []Option
		msg  string
	}{
		{"no swarm", nil, `docker swarm init`},
		{"worker", []Option{WithSwarmWorker()}, "Worker nodes can't be used"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cli := New(t, tt.opts...).Client(t)
			_, err := cli.ServiceList(ctx, swarm.ServiceListOptions{})
			if !cerrdefs.IsUnavailable(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ServiceList = %v", err)
			}
			if _, err := cli.TaskList(ctx, swarm.TaskListOptions{}); !cerrdefs.IsUnavailable(err) {
				t.Errorf("TaskList = %v", err)
			}
			if _, err := cli.NodeList(ctx, swarm.NodeListOptions{}); !cerrdefs.IsUnavailable(err) {
				t.Errorf("NodeList = %v", err)
			}
		})
	}
}
