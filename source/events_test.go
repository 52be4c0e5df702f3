package source

import (
	"testing"

	"github.com/docker/docker/api/types/events"
)

// TestEventContainer: which events mark a container for re-inspection. The
// live behaviour against a real daemon is covered in e2e/.
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
