package fakedocker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

func eventsAll() events.ListOptions { return events.ListOptions{} }

// eventsFilter builds ListOptions from key, value pairs.
func eventsFilter(kv ...string) events.ListOptions {
	f := filters.NewArgs()
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return events.ListOptions{Filters: f}
}

// collect reads n events, failing on a stream error or after 5 s (a
// deadlock guard, not a speed assertion).
func collect(t *testing.T, msgs <-chan events.Message, errs <-chan error, n int) []events.Message {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	var out []events.Message
	for len(out) < n {
		select {
		case m := <-msgs:
			out = append(out, m)
		case err := <-errs:
			t.Fatalf("event stream ended after %d of %d events: %v", len(out), n, err)
		case <-timeout.C:
			t.Fatalf("got %d of %d events: %v", len(out), n, summarize(out))
		}
	}
	return out
}

// summarize renders events as "type:action:name" for messages.
func summarize(ms []events.Message) []string {
	var out []string
	for _, m := range ms {
		name := m.Actor.Attributes["name"]
		if m.Type == events.NetworkEventType {
			name += "/" + m.Actor.Attributes["container"][:4]
		}
		out = append(out, fmt.Sprintf("%s:%s:%s", m.Type, m.Action, name))
	}
	return out
}

// expectNoEvent checks that nothing more arrives before a marker event
// emitted after the last action (the stream is ordered, so no sleep).
func expectNoEvent(t *testing.T, e *Engine, msgs <-chan events.Message, errs <-chan error) {
	t.Helper()
	e.Emit(events.Message{Type: "marker", Action: "marker", Actor: events.Actor{ID: "marker"}})
	got := collect(t, msgs, errs, 1)
	if got[0].Type != "marker" {
		t.Errorf("unexpected event %v", summarize(got))
	}
}

func TestEventsLifecycle(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	msgs, errs := cli.Events(ctx, eventsAll())

	web := e.Add(ContainerSpec{Name: "web", Image: "nginx:1.25", Labels: map[string]string{"app": "web"}, Networks: map[string]string{"bridge": "", "front": ""}})
	got := collect(t, msgs, errs, 4)
	want := []string{"container:create:web", "network:connect:bridge/" + web.ID[:4], "network:connect:front/" + web.ID[:4], "container:start:web"}
	if s := summarize(got); !slices.Equal(s, want) {
		t.Errorf("Add events = %v, want %v", s, want)
	}
	start := got[3]
	if start.Actor.ID != web.ID || start.ID != web.ID || start.Status != "start" || start.From != "nginx:1.25" || start.Scope != "local" ||
		start.Actor.Attributes["image"] != "nginx:1.25" || start.Actor.Attributes["app"] != "web" {
		t.Errorf("start event = %+v", start)
	}
	for i := 1; i < len(got); i++ {
		if got[i].TimeNano <= got[i-1].TimeNano || got[i].Time != time.Unix(0, got[i].TimeNano).Unix() {
			t.Errorf("event times not increasing: %d then %d", got[i-1].TimeNano, got[i].TimeNano)
		}
	}
	if got[1].Actor.Attributes["container"] != web.ID || got[1].Actor.Attributes["name"] != "bridge" {
		t.Errorf("connect event = %+v", got[1])
	}

	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"stop", func() { e.Stop("web") }, []string{"container:kill:web", "container:die:web", "network:disconnect:bridge/" + web.ID[:4], "network:disconnect:front/" + web.ID[:4], "container:stop:web"}},
		{"start", func() { e.Start("web") }, []string{"network:connect:bridge/" + web.ID[:4], "network:connect:front/" + web.ID[:4], "container:start:web"}},
		{"health", func() { e.SetHealth("web", container.Healthy) }, []string{"container:health_status: healthy:web"}},
		{"same health", func() { e.SetHealth("web", container.Healthy) }, nil},
		{"pause", func() { e.Pause("web") }, []string{"container:pause:web"}},
		{"unpause", func() { e.Unpause("web") }, []string{"container:unpause:web"}},
		{"rename", func() { e.Rename("web", "www") }, []string{"container:rename:www"}},
		{"connect", func() { e.Connect("www", "back", "172.20.0.5") }, []string{"network:connect:back/" + web.ID[:4]}},
		// Docker 20.10 reports a running container's disconnect twice.
		{"disconnect", func() { e.Disconnect("www", "back") }, []string{"network:disconnect:back/" + web.ID[:4], "network:disconnect:back/" + web.ID[:4]}},
		{"die", func() { e.Die("www", 1) }, []string{"container:die:www", "network:disconnect:bridge/" + web.ID[:4], "network:disconnect:front/" + web.ID[:4]}},
		{"restart", func() { e.Restart("www") }, []string{"network:connect:bridge/" + web.ID[:4], "network:connect:front/" + web.ID[:4], "container:start:www", "container:restart:www"}},
		{"remove -f", func() { e.Remove("www") }, []string{"container:kill:www", "container:die:www", "network:disconnect:bridge/" + web.ID[:4], "network:disconnect:front/" + web.ID[:4], "container:destroy:www"}},
	}
	for _, s := range steps {
		s.do()
		if len(s.want) == 0 {
			expectNoEvent(t, e, msgs, errs)
			continue
		}
		if got := summarize(collect(t, msgs, errs, len(s.want))); !slices.Equal(got, s.want) {
			t.Errorf("%s: events %v, want %v", s.name, got, s.want)
		}
	}
	// Attribute details the watch loop relies on.
	var rename, die events.Message
	for _, m := range e.EventLog() {
		switch m.Action {
		case "rename":
			rename = m
		case "die":
			die = m
		}
	}
	if rename.Actor.Attributes["oldName"] != "/web" || die.Actor.Attributes["exitCode"] != "137" {
		t.Errorf("rename %v, last die %v", rename.Actor.Attributes, die.Actor.Attributes)
	}
}

func TestEventFilters(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	// Note: a "container" filter is a prefix match on the ID or the name
	// attribute of any event, so "b" would also match network "bridge"
	// events, as on a real daemon.
	tests := []struct {
		name string
		opts events.ListOptions
		want []string
	}{
		{"type container", eventsFilter("type", "container"), []string{"container:create:alpha", "container:start:alpha", "container:create:cache", "container:start:cache", "container:kill:cache", "container:die:cache", "container:stop:cache"}},
		{"event start", eventsFilter("event", "start"), []string{"container:start:alpha", "container:start:cache"}},
		{"two events", eventsFilter("event", "start", "event", "die"), []string{"container:start:alpha", "container:start:cache", "container:die:cache"}},
		{"container by name", eventsFilter("container", "cache"), []string{"container:create:cache", "container:start:cache", "container:kill:cache", "container:die:cache", "container:stop:cache"}},
		{"label key=value", eventsFilter("label", "app=alpha"), []string{"container:create:alpha", "container:start:alpha"}},
		{"label and event", eventsFilter("label", "app", "event", "stop"), []string{"container:stop:cache"}},
		{"network type", eventsFilter("type", "network", "event", "disconnect"), []string{"network:disconnect:bridge/"}},
		{"image", eventsFilter("image", "redis"), []string{"container:create:cache", "container:start:cache", "container:kill:cache", "container:die:cache", "container:stop:cache"}},
	}
	type stream struct {
		msgs <-chan events.Message
		errs <-chan error
	}
	streams := make([]stream, len(tests))
	for i, tt := range tests {
		streams[i].msgs, streams[i].errs = cli.Events(ctx, tt.opts)
	}
	e.Add(ContainerSpec{Name: "alpha", Labels: map[string]string{"app": "alpha"}})
	e.Add(ContainerSpec{Name: "cache", Image: "redis:7", Labels: map[string]string{"app": "cache"}})
	e.Stop("cache")
	for i, tt := range tests {
		got := summarize(collect(t, streams[i].msgs, streams[i].errs, len(tt.want)))
		for j := range got {
			if tt.want[j] == "network:disconnect:bridge/" {
				got[j] = got[j][:len(tt.want[j])]
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEventsSinceUntil(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	e.Add(ContainerSpec{Name: "early"})
	log := e.EventLog()
	mark := log[len(log)-1].TimeNano + 1
	e.Add(ContainerSpec{Name: "late"})
	e.Stop("late")
	ts := func(nano int64) string { return fmt.Sprintf("%d.%09d", nano/1e9, nano%1e9) }

	// since replays from the log, then streams live events.
	msgs, errs := cli.Events(ctx, events.ListOptions{Since: ts(mark), Filters: filters.NewArgs(filters.Arg("type", "container"))})
	got := summarize(collect(t, msgs, errs, 5))
	want := []string{"container:create:late", "container:start:late", "container:kill:late", "container:die:late", "container:stop:late"}
	if !slices.Equal(got, want) {
		t.Errorf("since replay = %v, want %v", got, want)
	}
	e.Start("late")
	if got := summarize(collect(t, msgs, errs, 1)); got[0] != "container:start:late" {
		t.Errorf("live after replay = %v", got)
	}

	// A past until replays and ends the stream.
	log = e.EventLog()
	msgs, errs = cli.Events(ctx, events.ListOptions{Since: strconv.FormatInt(log[0].Time, 10), Until: ts(mark - 1), Filters: filters.NewArgs(filters.Arg("event", "start"))})
	if got := summarize(collect(t, msgs, errs, 1)); got[0] != "container:start:early" {
		t.Errorf("until replay = %v", got)
	}
	if err := <-errs; !errors.Is(err, io.EOF) {
		t.Errorf("stream with a past until ended with %v, want EOF", err)
	}

	// The log keeps only the last WithEventLog events, like the daemon's 256.
	small := New(t, WithEventLog(3))
	for i := range 5 {
		small.Emit(events.Message{Type: "test", Action: events.Action(strconv.Itoa(i))})
	}
	var kept []string
	for _, m := range small.EventLog() {
		kept = append(kept, string(m.Action))
	}
	if !slices.Equal(kept, []string{"2", "3", "4"}) {
		t.Errorf("kept %v", kept)
	}

	// until before since is refused.
	_, errs = cli.Events(ctx, events.ListOptions{Since: "200", Until: "100"})
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "cannot be after") {
		t.Errorf("until < since: %v", err)
	}
}

func TestDropEvents(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	_, errs1 := cli.Events(ctx, eventsAll())
	_, errs2 := cli.Events(ctx, eventsFilter("type", "container"))
	if err := e.WaitSubscribers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	e.DropEvents()
	for i, errs := range []<-chan error{errs1, errs2} {
		if err := <-errs; !errors.Is(err, io.EOF) {
			t.Errorf("stream %d ended with %v, want EOF", i, err)
		}
	}
	if n := e.Subscribers(); n != 0 {
		t.Errorf("%d subscribers after DropEvents", n)
	}
	// A new subscription works.
	msgs, errs := cli.Events(ctx, eventsAll())
	e.Add(ContainerSpec{Name: "x"})
	if got := collect(t, msgs, errs, 1); got[0].Action != "create" {
		t.Errorf("after reconnect: %v", summarize(got))
	}
	// Garbage on the stream is a decode error for the client.
	e.EmitRaw("{not json")
	for {
		select {
		case <-msgs:
			continue
		case err := <-errs:
			if err == nil || errors.Is(err, io.EOF) {
				t.Errorf("garbled stream ended with %v, want a decode error", err)
			}
		}
		break
	}
}

func TestStuckSubscriberIsDropped(t *testing.T) {
	e := New(t, WithEventBuffer(4))
	// A raw subscriber that never reads: the socket fills, then its buffer.
	conn, err := net.Dial("unix", e.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %v %v", resp, err)
	}
	ctx := ctxT(t)
	healthy, healthyErrs := e.Client(t).Events(ctx, eventsFilter("type", "last"))
	if err := e.WaitSubscribers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 1000)
	for i := 0; i < 5000 && e.Subscribers() == 2; i++ {
		e.Emit(events.Message{Type: "bulk", Action: "bulk", Actor: events.Actor{ID: pad}})
	}
	if n := e.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers after flooding a stuck one, want 1", n)
	}
	// The other stream was not harmed.
	e.Emit(events.Message{Type: "last", Action: "last"})
	if got := collect(t, healthy, healthyErrs, 1); got[0].Type != "last" {
		t.Errorf("healthy stream got %v", summarize(got))
	}
}

func TestHangEvents(t *testing.T) {
	e := New(t)
	cli := e.Client(t)
	e.Hang("/events")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, errs := cli.Events(ctx, eventsAll())
		done <- <-errs
	}()
	for e.Requests(RouteEvents) == 0 {
		time.Sleep(time.Millisecond)
	}
	if n := e.Subscribers(); n != 0 {
		t.Errorf("a hanging events request subscribed (%d)", n)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hanging events ended with %v, want context.Canceled", err)
	}
}
