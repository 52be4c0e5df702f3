package watch_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// recorder keeps what the loop reports (the pipeline's part is tested in
// package pipeline).
type recorder struct {
	metrics.Nop
	mu                     sync.Mutex
	reconnects, containers int
	latencies              []time.Duration
}

func (r *recorder) DockerReconnected() { r.mu.Lock(); defer r.mu.Unlock(); r.reconnects++ }
func (r *recorder) Containers(n int)   { r.mu.Lock(); defer r.mu.Unlock(); r.containers = n }
func (r *recorder) EventApplied(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, d)
}
func (r *recorder) get() (int, int, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconnects, r.containers, append([]time.Duration(nil), r.latencies...)
}

// TestWatchMetrics: the loop reports the containers it sees, the time from
// a batch's first event to its render (debounce included), and reconnects.
// The fake Engine API makes the reconnect possible on demand.
func TestWatchMetrics(t *testing.T) {
	e := fakedocker.New(t)
	e.Add(web("a", "http://a.example.com"))
	rec := &recorder{}
	h := start(t, e, options{metrics: rec, wait: watch.Debounce{Min: 30 * time.Millisecond, Max: time.Second}})
	h.waitFile("http_80_a.example.com: a\n")
	if _, n, l := rec.get(); n != 1 || len(l) != 0 {
		t.Errorf("after the first render: %d containers, %d latencies; want 1 and none (no event yet)", n, len(l))
	}
	e.Add(web("b", "http://b.example.com"))
	h.waitFile("http_80_a.example.com: a\nhttp_80_b.example.com: b\n")
	h.eventually("an event-to-applied time", func() bool { _, _, l := rec.get(); return len(l) >= 1 })
	if _, n, l := rec.get(); n != 2 || l[0] < 30*time.Millisecond {
		t.Errorf("after an event: %d containers, latency %v; want 2 and at least the 30ms debounce", n, l[0])
	}
	e.Fail("GET /events", http.StatusInternalServerError)
	e.DropEvents()
	h.eventually("a retry", func() bool { return strings.Contains(h.logs.String(), "source unavailable") })
	e.Heal()
	h.eventually("a reconnect counted", func() bool { r, _, _ := rec.get(); return r == 1 })
}
