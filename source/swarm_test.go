package source

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/model"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func testService(id, name string, labels map[string]string, env ...string) swarm.Service {
	return swarm.Service{ID: id, Meta: swarm.Meta{CreatedAt: t0}, Spec: swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Env: env}},
	}}
}

// testTask is a running task of service svc in slot (0: global, on node).
func testTask(id, svc string, slot int, node string, addrs ...string) swarm.Task {
	t := swarm.Task{ID: id, Meta: swarm.Meta{CreatedAt: t1}, ServiceID: svc, Slot: slot, NodeID: node,
		DesiredState: swarm.TaskStateRunning,
		Status:       swarm.TaskStatus{State: swarm.TaskStateRunning, ContainerStatus: &swarm.ContainerStatus{ContainerID: "c-" + id}}}
	for _, a := range addrs {
		name, cidr, _ := strings.Cut(a, "=")
		t.NetworksAttachments = append(t.NetworksAttachments, swarm.NetworkAttachment{
			Network: swarm.Network{ID: "net-" + name, Spec: swarm.NetworkSpec{Annotations: swarm.Annotations{Name: name}}}, Addresses: []string{cidr}})
	}
	return t
}

func with(t swarm.Task, fn func(*swarm.Task)) swarm.Task {
	fn(&t)
	return t
}

// TestFromSwarm: which tasks are servers, with which name, entries,
// creation time and networks. Pure: state in, containers out.
func TestFromSwarm(t *testing.T) {
	web := testService("s1", "web", map[string]string{"rproxy": "http://web.test"})
	api := testService("s2", "api", map[string]string{"rproxy": "http://api.test, tcp://db:5432"}, "A=1", "RPROXY=http://api.test,http://api2.test")
	quiet := testService("s3", "quiet", map[string]string{"other": "x"})
	agent := testService("s4", "agent", nil, "RPROXY=tcp://agent:9000")
	agent.Spec.TaskTemplate.ContainerSpec.Labels = map[string]string{"rproxy": "tcp://agent:9001"}
	nodes := []swarm.Node{
		{ID: "n1", Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		{ID: "n2", Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		{ID: "n3", Status: swarm.NodeStatus{State: swarm.NodeStateDown}},
	}
	running := model.Container{Running: true, Created: t0}
	ctr := func(id, name, rproxy string, nets ...model.Network) model.Container {
		c := running
		c.ID, c.Name, c.RProxy, c.Networks = id, name, rproxy, nets
		return c
	}
	tests := []struct {
		name  string
		st    SwarmState
		want  []model.Container
		names []string // only the names, when want is nil
	}{
		{
			name: "replicated tasks on two nodes: SERVICE.SLOT, the task IP of each network, container ID",
			st: SwarmState{Services: []swarm.Service{web}, Nodes: nodes, Tasks: []swarm.Task{
				testTask("t1", "s1", 1, "n1", "front=10.0.1.3/24", "ingress=10.255.0.5/16"),
				testTask("t2", "s1", 2, "n2", "front=10.0.1.4/24"),
			}},
			want: []model.Container{
				ctr("c-t1", "web.1", "http://web.test", model.Network{Name: "front", IP: "10.0.1.3"}, model.Network{Name: "ingress", IP: "10.255.0.5"}),
				ctr("c-t2", "web.2", "http://web.test", model.Network{Name: "front", IP: "10.0.1.4"}),
			},
		},
		{
			name: "service label and env merged, repeated entry once; global task named by node; container label too",
			st: SwarmState{Services: []swarm.Service{api, agent}, Tasks: []swarm.Task{
				testTask("t1", "s2", 1, "n1"), testTask("t2", "s4", 0, "n2"),
			}},
			want: []model.Container{
				ctr("c-t1", "api.1", "http://api.test,http://api2.test,tcp://db:5432"),
				ctr("c-t2", "agent.n2", "tcp://agent:9000,tcp://agent:9001"),
			},
		},
		{
			name: "starting is excluded by health; other states, shutdown desired, down nodes and no RPROXY are left out",
			st: SwarmState{Services: []swarm.Service{web, quiet}, Nodes: nodes, Tasks: []swarm.Task{
				with(testTask("t1", "s1", 1, "n1"), func(t *swarm.Task) { t.Status.State = swarm.TaskStateStarting }),
				with(testTask("t2", "s1", 2, "n1"), func(t *swarm.Task) { t.Status.State = swarm.TaskStatePreparing }),
				with(testTask("t3", "s1", 3, "n1"), func(t *swarm.Task) { t.DesiredState = swarm.TaskStateShutdown }),
				with(testTask("t4", "s1", 4, "n1"), func(t *swarm.Task) { t.Status.State = swarm.TaskStateFailed }),
				testTask("t5", "s1", 5, "n3"),
				testTask("t6", "s3", 1, "n1"),
				testTask("t7", "gone", 1, "n1"),
				with(testTask("t8", "s1", 8, "n1"), func(t *swarm.Task) { t.Status.ContainerStatus = nil; t.Status.State = swarm.TaskStateStarting }),
			}},
			want: []model.Container{
				func() model.Container { c := ctr("c-t1", "web.1", "http://web.test"); c.Health = "starting"; return c }(),
				func() model.Container { c := ctr("t8", "web.8", "http://web.test"); c.Health = "starting"; return c }(),
			},
		},
		{
			name: "two tasks in one slot (start-first update): the newer gets its task ID appended",
			st: SwarmState{Services: []swarm.Service{web}, Tasks: []swarm.Task{
				with(testTask("newtaskid0123456", "s1", 1, "n1"), func(t *swarm.Task) { t.CreatedAt = t1.Add(time.Second) }),
				testTask("oldtaskid0123456", "s1", 1, "n1"),
			}},
			names: []string{"web.1", "web.1.newtaskid012"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromSwarm(tt.st)
			if tt.names != nil {
				var names []string
				for _, c := range got {
					names = append(names, c.Name)
				}
				if !reflect.DeepEqual(names, tt.names) {
					t.Fatalf("names %v, want %v", names, tt.names)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestFromSwarmAddress: the task address follows the container rule:
// --network, else a network shared with rproxy-gen's container, else the
// first by name, never ingress unless named.
func TestFromSwarmAddress(t *testing.T) {
	st := SwarmState{Services: []swarm.Service{testService("s1", "web", map[string]string{"rproxy": "http://web.test"})},
		Tasks: []swarm.Task{testTask("t1", "s1", 1, "n1", "ingress=10.255.0.5/16", "zeta=10.0.2.3/24", "back=10.0.3.3/24")}}
	cs := FromSwarm(st)
	tests := []struct {
		opts model.Options
		want string
	}{
		{model.Options{}, "10.0.3.3"},
		{model.Options{PreferNetworks: []string{"zeta"}}, "10.0.2.3"},
		{model.Options{PreferNetworks: []string{"ingress"}}, "10.0.3.3"},
		{model.Options{Network: "ingress"}, "10.255.0.5"},
		{model.Options{Network: "zeta"}, "10.0.2.3"},
	}
	for _, tt := range tests {
		m := model.Build(cs, tt.opts)
		if len(m.HTTP) != 1 || len(m.HTTP[0].Routes[0].Servers) != 1 {
			t.Fatalf("%+v: model %+v", tt.opts, m)
		}
		s := m.HTTP[0].Routes[0].Servers[0]
		if s.Address != tt.want || s.Name != "web.1" || s.Container != "c-t1" {
			t.Errorf("%+v: server %+v, want address %s", tt.opts, s, tt.want)
		}
	}
	// No address on the network asked for: excluded, listed with the reason.
	m := model.Build(cs, model.Options{Network: "other"})
	if len(m.HTTP) != 0 || len(m.Excluded) != 1 || m.Excluded[0].Container != "web.1" {
		t.Errorf("not on --network: %+v", m)
	}
}

func TestMergeRProxy(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"", " "}, ""},
		{[]string{"http://a.test, tcp://x:1", ""}, "http://a.test, tcp://x:1"}, // one value: unchanged
		{[]string{"", "http://a.test"}, "http://a.test"},
		{[]string{"http://a.test,tcp://x:1", "tcp://x:1, http://b.test", "http://a.test"}, "http://a.test,tcp://x:1,http://b.test"},
		{[]string{"http://a.test", "http://A.test"}, "http://a.test,http://A.test"}, // model.Build counts these once
	}
	for _, tt := range tests {
		if got := MergeRProxy(tt.in...); got != tt.want {
			t.Errorf("MergeRProxy(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFromInspectLabel: a container's label rproxy is merged with its env
// RPROXY, an entry in both counting once in the model.
func TestFromInspectLabel(t *testing.T) {
	c := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "abc", Name: "/web", State: &container.State{Running: true}},
		Config: &container.Config{Env: []string{"RPROXY=http://a.test,tcp://x:1"},
			Labels: map[string]string{"rproxy": "tcp://x:1,http://b.test:8080", "RPROXY": "http://ignored.test"}},
	}
	got := FromInspect(c)
	if got.RProxy != "http://a.test,tcp://x:1,http://b.test:8080" {
		t.Fatalf("RProxy = %q", got.RProxy)
	}
	c.Config.Env = nil
	if got := FromInspect(c); got.RProxy != "tcp://x:1,http://b.test:8080" {
		t.Errorf("label alone: RProxy = %q", got.RProxy)
	}
	if IsSwarmTask(c) {
		t.Error("a plain container is no Swarm task")
	}
	c.Config.Labels[TaskLabel] = "t1"
	if !IsSwarmTask(c) {
		t.Error("a container with the task label is a Swarm task")
	}
}
