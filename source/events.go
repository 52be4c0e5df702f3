package source

import (
	"strings"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// routingActions are the container events after which routing may differ.
// "died" and "remove" are Podman's names for "die" and "destroy": Podman 4.3
// filters its compat event stream on its own names (a filter event=die
// drops the exit of a container that `podman stop` ended; the event it then
// sends says "die"), and 4.4 and later accept both. Docker has no events of
// these names, so asking for them costs nothing there.
var routingActions = []string{
	"start", "die", "died", "stop", "kill", "pause", "unpause", "rename", "destroy", "remove", "health_status", "update",
}

// eventOptions asks the daemon for the container and network events that
// can change routing.
func eventOptions() events.ListOptions {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("type", string(events.NetworkEventType)),
	)
	for _, a := range routingActions {
		f.Add("event", a)
	}
	f.Add("event", "connect")
	f.Add("event", "disconnect")
	return events.ListOptions{Filters: f}
}

// EventContainer returns the container ID a routing-relevant event names, or
// "" when the event does not concern routing.
func EventContainer(m events.Message) string {
	switch m.Type {
	case events.ContainerEventType:
		action := string(m.Action)
		for _, a := range routingActions {
			if action == a || strings.HasPrefix(action, a+":") {
				return m.Actor.ID
			}
		}
	case events.NetworkEventType:
		if m.Action == events.ActionConnect || m.Action == events.ActionDisconnect {
			return m.Actor.Attributes["container"]
		}
	}
	return ""
}

// netKeyPrefix marks the keys of network events (see EventKey).
const netKeyPrefix = "net:"

// EventKey is what Events sends for a routing-relevant event: the container
// ID, or for a network connect or disconnect "net:" and the ID, so that
// Refresh can skip containers it does not route. During a start Docker
// connects the container to its networks before the start completes, and
// inspecting it then waits until it has (many starts at once: seconds);
// the start event that follows is what matters. "" when the event does
// not concern routing.
func EventKey(m events.Message) string {
	id := EventContainer(m)
	if id != "" && m.Type == events.NetworkEventType {
		return netKeyPrefix + id
	}
	return id
}
