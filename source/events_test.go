package source

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/model"
)

// TestEventContainer: which events mark a container for re-inspection. The
// live behaviour against a real daemon is covered in e2e/.
func TestEventOptionsAskForPodmanNames(t *testing.T) {
	f := eventOptions().Filters
	for _, want := range []string{"die", "died", "destroy", "remove", "start", "stop", "connect", "disconnect"} {
		if !f.ExactMatch("event", want) {
			t.Errorf("the event filter lacks %q: %v", want, f.Get("event"))
		}
	}
}

func TestEventContainer(t *testing.T) {
	ctr := func(action string) events.Message {
		return events.Message{Type: events.ContainerEventType, Action: events.Action(action), Actor: events.Actor{ID: "abc"}}
	}
	netw := func(action, container string) events.Message {
		return events.Message{Type: events.NetworkEventType, Action: events.Action(action),
			Actor: events.Actor{ID: "net1", Attributes: map[string]string{"container": container}}}
	}
	tests := []struct {
		name string
		msg  events.Message
		want string
	}{
		{"start", ctr("start"), "abc"},
		{"die", ctr("die"), "abc"},
		{"stop", ctr("stop"), "abc"},
		{"kill", ctr("kill"), "abc"},
		{"pause", ctr("pause"), "abc"},
		{"unpause", ctr("unpause"), "abc"},
		{"rename", ctr("rename"), "abc"},
		{"destroy", ctr("destroy"), "abc"},
		{"Podman's died", ctr("died"), "abc"},
		{"Podman's remove", ctr("remove"), "abc"},
		{"health status with its value", ctr("health_status: unhealthy"), "abc"},
		{"exec is not routing", ctr("exec_start: sh"), ""},
		{"create is not routing (start follows)", ctr("create"), ""},
		{"attach is not routing", ctr("attach"), ""},
		{"a prefix is not an action", ctr("started"), ""},
		{"network connect names its container", netw("connect", "def"), "def"},
		{"network disconnect", netw("disconnect", "def"), "def"},
		{"network create has no container", netw("create", ""), ""},
		{"image events are ignored", events.Message{Type: events.ImageEventType, Action: "pull", Actor: events.Actor{ID: "x"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventContainer(tt.msg); got != tt.want {
				t.Errorf("EventContainer = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPodmanDiedPassesTheFilter: Podman 4.3 filters its event stream on its
// own action names, so an exit reaches rproxy-gen only if the filter asks
// for "died". The fake Engine's Podman flavour reports the exit as "died";
// this checks the subscription rproxy-gen makes lets it through and marks
// the container (the real Podman is in e2e/podman_test.go).
func TestPodmanDiedPassesTheFilter(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithPodman())
	c := e.Add(fakedocker.ContainerSpec{Name: "web"})
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, errs := cli.Events(ctx, eventOptions())
	if err := e.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.Die(c.ID, 0)
	for {
		select {
		case m := <-msgs:
			if m.Type == events.ContainerEventType && m.Action == "died" {
				if EventContainer(m) != c.ID {
					t.Errorf("died event not routed: %+v", m)
				}
				return
			}
		case err := <-errs:
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatal("no died event passed the filter")
		}
	}
}

// TestEventKey: network events are marked, so Refresh can tell them apart.
func TestEventKey(t *testing.T) {
	start := events.Message{Type: events.ContainerEventType, Action: "start", Actor: events.Actor{ID: "abc"}}
	connect := events.Message{Type: events.NetworkEventType, Action: "connect",
		Actor: events.Actor{ID: "net1", Attributes: map[string]string{"container": "def"}}}
	create := events.Message{Type: events.ContainerEventType, Action: "create", Actor: events.Actor{ID: "abc"}}
	for msg, want := range map[*events.Message]string{&start: "abc", &connect: "net:def", &create: ""} {
		if got := EventKey(*msg); got != want {
			t.Errorf("EventKey(%s %s) = %q, want %q", msg.Type, msg.Action, got, want)
		}
	}
}

// inspectCounter is a Client whose ContainerInspect answers from a table and
// records what it was asked; a stub rather than the fake Engine API because
// the test is about which containers Refresh inspects, not about Docker.
type inspectCounter struct {
	Client
	running map[string]bool
	asked   []string
}

func (c *inspectCounter) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	c.asked = append(c.asked, id)
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + id,
		State: &container.State{Running: c.running[id]}}}, nil
}

// TestRefreshSkipsNetworkEventsOfStoppedContainers: a network event about a
// container that is not running is not inspected (during a start that
// inspect would wait for the start to finish; the start event follows),
// unless another event names it; one about a running container is.
func TestRefreshSkipsNetworkEventsOfStoppedContainers(t *testing.T) {
	cli := &inspectCounter{running: map[string]bool{"up": true, "starting": true, "started": true}}
	d := NewDocker(cli, slog.New(slog.DiscardHandler))
	d.concurrency = 1 // the order of asked is the order of keys
	d.cache["up"] = model.Container{ID: "up", Running: true}
	if err := d.Refresh(context.Background(), []string{"net:up", "net:starting", "net:started", "started"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"up", "started"}; !slices.Equal(cli.asked, want) {
		t.Errorf("inspected %v, want %v", cli.asked, want)
	}
	if _, ok := d.cache["starting"]; ok {
		t.Error("a container known only from a network event was cached")
	}
	if _, ok := d.cache["started"]; !ok {
		t.Error("the started container is not cached")
	}
}
