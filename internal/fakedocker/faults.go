package fakedocker

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"
)

// fault is an injected failure or hang on requests matching a path prefix.
type fault struct {
	method    string // "" matches any method
	prefix    string
	status    int
	remaining int // requests left to fail; <0 forever
	hang      bool
}

func (f *fault) matches(method, path string) bool {
	return (f.method == "" || f.method == method) && strings.HasPrefix(path, f.prefix)
}

// parseFaultPrefix splits "POST /containers/" into method and path prefix.
func parseFaultPrefix(s string) (method, prefix string) {
	if m, p, ok := strings.Cut(s, " "); ok {
		return strings.ToUpper(m), p
	}
	return "", s
}

// Fail makes every request whose path (without the /vX.Y prefix) starts with
// pathPrefix answer status with a JSON error body, until Heal. pathPrefix
// may start with a method: "POST /containers/". "/" matches everything.
func (e *Engine) Fail(pathPrefix string, status int) { e.FailN(pathPrefix, status, -1) }

// FailN is Fail for the next n matching requests only (n < 0: until Heal).
func (e *Engine) FailN(pathPrefix string, status, n int) {
	method, prefix := parseFaultPrefix(pathPrefix)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, fault{method: method, prefix: prefix, status: status, remaining: n})
}

// Hang makes requests matching pathPrefix (see Fail) hang: the connection
// is accepted but nothing is answered until Heal, the client gives up or
// the Engine closes. After Heal a hanging request is answered normally.
// Hang("/events") simulates a daemon whose event stream is stuck.
func (e *Engine) Hang(pathPrefix string) {
	method, prefix := parseFaultPrefix(pathPrefix)
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.healed:
		e.healed = make(chan struct{})
	default:
	}
	e.faults = append(e.faults, fault{method: method, prefix: prefix, hang: true})
}

// Heal removes every Fail and Hang fault and releases hanging requests.
func (e *Engine) Heal() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
	select {
	case <-e.healed:
	default:
		close(e.healed)
	}
}

// SetLatency delays every following request by d before it is answered
// (0 turns it off).
func (e *Engine) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// applyFaults applies latency, hangs and failures to a request; false means
// the request was answered (or abandoned) and the handler must not run.
func (e *Engine) applyFaults(w http.ResponseWriter, r *http.Request, path string) bool {
	e.mu.Lock()
	latency, healed := e.latency, e.healed
	hang, status := false, 0
	for i := 0; i < len(e.faults); i++ {
		f := &e.faults[i]
		if !f.matches(r.Method, path) {
			continue
		}
		if f.hang {
			hang = true
			continue
		}
		if status == 0 {
			status = f.status
			if f.remaining > 0 {
				f.remaining--
				if f.remaining == 0 {
					e.faults = append(e.faults[:i], e.faults[i+1:]...)
					i--
				}
			}
		}
	}
	e.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-e.closing:
			return false
		}
	}
	if hang {
		select {
		case <-healed:
		case <-r.Context().Done():
			return false
		case <-e.closing:
			return false
		}
	}
	if status != 0 {
		writeError(w, status, fmt.Sprintf("fakedocker: injected failure %d on %s %s", status, r.Method, path))
		return false
	}
	return true
}

// Requests is how many requests matched route pattern key, one of the
// Route constants (e.g. RouteContainerInspect); unknown paths count under
// "METHOD /path". Failed and hung requests count too.
func (e *Engine) Requests(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reqCounts[key]
}

// RequestCounts is a copy of every request counter (see Requests).
func (e *Engine) RequestCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.reqCounts)
}

// Inspections is how many times the container ref (full ID, unique ID
// prefix or name, resolved now) was inspected through the API. Inspects
// that found nothing count under the reference as the client sent it.
func (e *Engine) Inspections(ref string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, err := e.lookup(ref); err == nil {
		return e.inspCounts[c.resp.ID]
	}
	return e.inspCounts[ref]
}

// InspectCounts is a copy of the inspect counters by full container ID.
func (e *Engine) InspectCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.inspCounts)
}

// ResetCounters sets every request and inspect counter to zero.
func (e *Engine) ResetCounters() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.reqCounts)
	clear(e.inspCounts)
}
