package fakedocker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	timetypes "github.com/docker/docker/api/types/time"
)

// subscriber is one open /events stream.
type subscriber struct {
	filter filters.Args
	ch     chan []byte   // JSON lines, newline included
	done   chan struct{} // closed when the stream is dropped
}

// stamp returns the time of a new event: now, but strictly after the
// previous event so since/until boundaries are unambiguous. e.mu is held.
func (e *Engine) stamp() time.Time {
	t := time.Now().UTC()
	n := t.UnixNano()
	if n <= e.lastNano {
		n = e.lastNano + 1
		t = time.Unix(0, n).UTC()
	}
	e.lastNano = n
	return t
}

// publish logs msg and fans it out to the matching subscribers, dropping
// those whose buffer is full. e.mu is held.
func (e *Engine) publish(msg events.Message) {
	if msg.TimeNano == 0 {
		t := e.stamp()
		msg.Time, msg.TimeNano = t.Unix(), t.UnixNano()
	} else if msg.TimeNano > e.lastNano {
		e.lastNano = msg.TimeNano
	}
	if limit := e.cfg.eventLog; limit > 0 {
		e.log = append(e.log, msg)
		if len(e.log) >= 2*limit {
			e.log = append([]events.Message(nil), e.log[len(e.log)-limit:]...)
		}
	}
	var line []byte
	for s := range e.subs {
		if !includeEvent(s.filter, msg) {
			continue
		}
		if line == nil {
			b, _ := json.Marshal(msg) // a Message always encodes
			line = append(b, '\n')
		}
		select {
		case s.ch <- line:
		default:
			e.dropSub(s) // a stuck subscriber must not block the Engine
		}
	}
}

// retained is the part of the log kept for replays. e.mu is held.
func (e *Engine) retained() []events.Message {
	return e.log[max(0, len(e.log)-e.cfg.eventLog):]
}

// dropSub ends a subscriber's stream. e.mu is held.
func (e *Engine) dropSub(s *subscriber) {
	if _, ok := e.subs[s]; !ok {
		return
	}
	delete(e.subs, s)
	close(s.done)
	e.wakeSubs()
}

func (e *Engine) wakeSubs() {
	close(e.subsWake)
	e.subsWake = make(chan struct{})
}

// Emit publishes msg as is (Time and TimeNano are set when zero): for
// events the helpers do not produce, or malformed ones.
func (e *Engine) Emit(msg events.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.publish(msg)
}

// EmitRaw writes line (a newline is added) to every open event stream,
// unfiltered and unlogged: for a garbled stream the client cannot decode.
func (e *Engine) EmitRaw(line string) {
	b := []byte(strings.TrimSuffix(line, "\n") + "\n")
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs {
		select {
		case s.ch <- b:
		default:
			e.dropSub(s)
		}
	}
}

// EventLog returns the retained past events (see WithEventLog), oldest
// first.
func (e *Engine) EventLog() []events.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]events.Message(nil), e.retained()...)
}

// DropEvents ends every open event stream, like a daemon restart: each
// client sees its stream end (client.Events reports an error, io.EOF).
// New subscriptions work as before.
func (e *Engine) DropEvents() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs {
		e.dropSub(s)
	}
}

// eventTime parses a since/until value like the daemon: Unix seconds with
// optional .nanoseconds; "" is the zero time.
func eventTime(v string) (time.Time, error) {
	sec, nsec, err := timetypes.ParseTimestamps(v, -1)
	if err != nil {
		return time.Time{}, err
	}
	if sec == -1 {
		return time.Time{}, nil
	}
	return time.Unix(sec, nsec), nil
}

func (e *Engine) handleEvents(w http.ResponseWriter, r *http.Request, _ request) {
	since, err := eventTime(r.Form.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	until, err := eventTime(r.Form.Get("until"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var timeout <-chan time.Time
	onlyPast := false
	if !until.IsZero() {
		if until.Before(since) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("`since` time (%s) cannot be after `until` time (%s)", r.Form.Get("since"), r.Form.Get("until")))
			return
		}
		now := time.Now()
		onlyPast = until.Before(now)
		if !onlyPast {
			t := time.NewTimer(until.Sub(now))
			defer t.Stop()
			timeout = t.C
		}
	}
	ef, err := filters.FromJSON(r.Form.Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	// Subscribe before the headers go out: once client.Events returns, no
	// later event can be missed.
	e.mu.Lock()
	buffered := e.replay(since, until, ef)
	var sub *subscriber
	if !onlyPast {
		sub = &subscriber{filter: ef, ch: make(chan []byte, e.cfg.eventBuffer), done: make(chan struct{})}
		e.subs[sub] = struct{}{}
		e.wakeSubs()
	}
	e.mu.Unlock()
	if sub != nil {
		defer func() {
			e.mu.Lock()
			e.dropSub(sub)
			e.mu.Unlock()
		}()
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	enc := json.NewEncoder(w)
	for _, msg := range buffered {
		if enc.Encode(msg) != nil {
			return
		}
	}
	if rc.Flush() != nil || onlyPast {
		return
	}
	for {
		select {
		case line := <-sub.ch:
			if _, err := w.Write(line); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-sub.done:
			return
		case <-timeout:
			return
		case <-r.Context().Done():
			return
		case <-e.closing:
			return
		}
	}
}

// replay returns the retained events between since and until that pass
// the filter, like the daemon's loadBufferedEvents. e.mu is held.
func (e *Engine) replay(since, until time.Time, ef filters.Args) []events.Message {
	if since.IsZero() && until.IsZero() {
		return nil
	}
	var sinceNano, untilNano int64
	if !since.IsZero() {
		sinceNano = since.UnixNano()
	}
	if !until.IsZero() {
		untilNano = until.UnixNano()
	}
	var out []events.Message
	for _, ev := range e.retained() {
		if ev.TimeNano < sinceNano || (untilNano > 0 && ev.TimeNano > untilNano) {
			continue
		}
		if includeEvent(ef, ev) {
			out = append(out, ev)
		}
	}
	return out
}

// includeEvent is the daemon's event filter (daemon/events/filter.go).
func includeEvent(f filters.Args, ev events.Message) bool {
	if f.Len() == 0 {
		return true
	}
	if !matchEventAction(f, string(ev.Action)) || !f.ExactMatch("type", string(ev.Type)) {
		return false
	}
	if f.Contains("scope") && !f.ExactMatch("scope", ev.Scope) {
		return false
	}
	for _, typ := range []events.Type{events.DaemonEventType, events.ContainerEventType, events.PluginEventType,
		events.VolumeEventType, events.NetworkEventType, events.NodeEventType, events.ServiceEventType,
		events.SecretEventType, events.ConfigEventType} {
		key := string(typ)
		if !f.FuzzyMatch(key, ev.Actor.ID) && !f.FuzzyMatch(key, ev.Actor.Attributes["name"]) {
			return false
		}
	}
	if f.Contains("image") {
		nameAttr := "image"
		if ev.Type == events.ImageEventType {
			nameAttr = "name"
		}
		img := ev.Actor.Attributes[nameAttr]
		if !f.ExactMatch("image", ev.Actor.ID) && !f.ExactMatch("image", img) &&
			!f.ExactMatch("image", stripTag(ev.Actor.ID)) && !f.ExactMatch("image", stripTag(img)) {
			return false
		}
	}
	if f.Contains("label") && !f.MatchKVList("label", ev.Actor.Attributes) {
		return false
	}
	return true
}

// matchEventAction: "health_status", "exec_create" and "exec_start" also
// match their "…: detail" actions.
func matchEventAction(f filters.Args, action string) bool {
	for _, v := range f.Get("event") {
		switch v {
		case "health_status", "exec_create", "exec_start":
			return f.FuzzyMatch("event", action)
		}
	}
	return f.ExactMatch("event", action)
}

// stripTag turns "docker.io/library/nginx:1.25" into "nginx", roughly like
// reference.FamiliarName.
func stripTag(image string) string {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	name = strings.TrimPrefix(name, "docker.io/")
	return strings.TrimPrefix(name, "library/")
}
