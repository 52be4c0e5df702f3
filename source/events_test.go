package source

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
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
