package watch_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/shell"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

func web(name, rproxy string) fakedocker.ContainerSpec {
	return fakedocker.ContainerSpec{Name: name, Env: []string{"RPROXY=" + rproxy}}
}

// TestWatchFollowsContainers: start renders at once; a start, a stop, a
// health change and a rename are each followed.
func TestWatchFollowsContainers(t *testing.T) {
	e := fakedocker.New(t)
	e.Add(web("a", "http://a.example.com"))
	h := start(t, e, options{})
	h.waitFile("http_80_a.example.com: a\n")
	h.eventually("the start render logged", func() bool { return h.renders("start") == 1 })
	b := e.Add(web("b", "http://a.example.com"))
	h.waitFile("http_80_a.example.com: a b\n")
	e.SetHealth(b.ID, container.Unhealthy)
	h.waitFile("http_80_a.example.com: a\n")
	e.SetHealth(b.ID, container.Healthy)
	h.waitFile("http_80_a.example.com: a b\n")
	e.Rename(b.ID, "b2")
	h.waitFile("http_80_a.example.com: a b2\n")
	e.Stop(b.ID)
	h.waitFile("http_80_a.example.com: a\n")
	e.Remove(b.ID)
	e.Stop("a")
	h.waitFile("")
}

// TestWatchSubscribesBeforeListing: the event stream is open before the
// first listing is answered, so a container started between the two cannot
// be missed.
func TestWatchSubscribesBeforeListing(t *testing.T) {
	e := fakedocker.New(t)
	e.Hang("GET /containers/json")
	h := start(t, e, options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.WaitSubscribers(ctx, 1); err != nil {
		t.Fatalf("no subscription while the listing hangs: %v", err)
	}
	e.Add(web("late", "http://late.example.com"))
	e.Heal()
	h.waitFile("http_80_late.example.com: late\n")
}

// TestWatchRefreshesOnlyNamed: with 200 containers, one container's events
// re-inspect that container only, and list nothing. (The fake keeps no event
// log here, so the loop's replay of the second before its listing is empty
// and cannot be mistaken for work an event caused.)
func TestWatchRefreshesOnlyNamed(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithEventLog(0))
	cs := e.AddN(200, func(i int) fakedocker.ContainerSpec {
		return web("c"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "tcp://n:7000")
	})
	h := start(t, e, options{})
	h.eventually("200 servers", func() bool { return strings.Count(h.file(), " c") == 200 })
	e.ResetCounters()
	e.Stop(cs[7].ID)
	h.eventually("199 servers", func() bool { return strings.Count(h.file(), " c") == 199 })
	if n := e.Requests(fakedocker.RouteContainerList); n != 0 {
		t.Errorf("an event listed all containers (%d lists)", n)
	}
	counts := e.InspectCounts()
	if len(counts) != 1 || counts[cs[7].ID] == 0 {
		t.Errorf("inspected %v, want only the stopped container", counts)
	}
}

// TestWatchDebouncesBursts: a burst of starts gives far fewer renders than
// containers, and the render that follows refreshes them all at once.
func TestWatchDebouncesBursts(t *testing.T) {
	e := fakedocker.New(t)
	h := start(t, e, options{wait: watch.Debounce{Min: 200 * time.Millisecond, Max: 2 * time.Second}})
	h.eventually("the start render", func() bool { return h.renders("start") == 1 })
	for i := range 20 {
		e.Add(web("b"+string(rune('a'+i)), "http://burst.example.com"))
	}
	h.eventually("20 servers", func() bool { return strings.Count(h.file(), " b") == 20 })
	if n := h.renders("events"); n > 3 {
		t.Errorf("%d renders for a burst of 20 starts, want at most 3", n)
	}
}

// TestWatchReconnects: the event stream drops and the daemon fails for a
// while (a fault a real daemon cannot produce on demand): the last output
// stays, the loop retries with backoff, and after the daemon is back it
// resyncs fully, so a container removed meanwhile leaves the output.
func TestWatchReconnects(t *testing.T) {
	e := fakedocker.New(t)
	e.Add(web("a", "http://a.example.com"))
	b := e.Add(web("b", "http://b.example.com"))
	h := start(t, e, options{})
	h.waitFile("http_80_a.example.com: a\nhttp_80_b.example.com: b\n")
	e.Fail("GET /events", http.StatusInternalServerError)
	e.Fail("GET /containers/json", http.StatusInternalServerError)
	e.DropEvents()
	h.eventually("retries logged", func() bool { return strings.Count(h.logs.String(), "source unavailable") >= 3 })
	if h.file() != "http_80_a.example.com: a\nhttp_80_b.example.com: b\n" {
		t.Errorf("the output changed while the daemon was away: %q", h.file())
	}
	e.Remove(b.ID) // its events are lost with the stream
	e.Heal()
	h.waitFile("http_80_a.example.com: a\n")
	h.eventually("the reconnect logged as a resync", func() bool {
		return strings.Contains(h.logs.String(), "reconnected; resynced fully") && h.renders("resync") == 1
	})
	e.Add(web("c", "http://c.example.com"))
	h.waitFile("http_80_a.example.com: a\nhttp_80_c.example.com: c\n")
}

// TestWatchHangup: SIGHUP resyncs fully (a listing) and renders.
func TestWatchHangup(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithEventLog(0)) // no replay at start: only the resync can see the change
	e.Add(web("a", "http://a.example.com"))
	h := start(t, e, options{})
	h.waitFile("http_80_a.example.com: a\n")
	e.ResetCounters()
	// A change no event reports: only a resync can see it.
	e.Update("a", func(c *container.InspectResponse) { c.Config.Env = []string{"RPROXY=http://z.example.com"} })
	h.hup <- syscall.SIGHUP
	h.waitFile("http_80_z.example.com: a\n")
	h.eventually("the SIGHUP render logged", func() bool { return h.renders("sighup") == 1 })
	if e.Requests(fakedocker.RouteContainerList) != 1 {
		t.Errorf("SIGHUP: %d listings, %d renders", e.Requests(fakedocker.RouteContainerList), h.renders("sighup"))
	}
}

// TestWatchPeriodicResync: with a resync period, a change that no event
// reports is still picked up.
func TestWatchPeriodicResync(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithEventLog(0)) // no replay at start: only a resync can see the change
	e.Add(web("a", "http://a.example.com"))
	h := start(t, e, options{resync: 20 * time.Millisecond})
	h.waitFile("http_80_a.example.com: a\n")
	e.Update("a", func(c *container.InspectResponse) { c.Config.Env = []string{"RPROXY=http://z.example.com"} })
	h.waitFile("http_80_z.example.com: a\n")
}

// TestWatchStrict: with --strict a model with a skipped entry is not
// rendered; the entry is logged first and the last good output stays.
func TestWatchStrict(t *testing.T) {
	e := fakedocker.New(t)
	e.Add(web("a", "http://a.example.com"))
	h := start(t, e, options{strict: true})
	h.waitFile("http_80_a.example.com: a\n")
	e.Add(web("bad", "http://b.example.com,htp://typo"))
	h.eventually("the refusal", func() bool { return strings.Contains(h.logs.String(), "render skipped") })
	logs := h.logs.String()
	if i, j := strings.Index(logs, "container=bad entry=htp://typo"), strings.Index(logs, "render skipped"); i < 0 || i > j {
		t.Errorf("the skipped entry was not logged before the refusal:\n%s", logs)
	}
	if h.file() != "http_80_a.example.com: a\n" {
		t.Errorf("strict refusal changed the output: %q", h.file())
	}
	e.Stop("bad")
	e.Add(web("c", "http://c.example.com"))
	h.waitFile("http_80_a.example.com: a\nhttp_80_c.example.com: c\n")
}

// TestWatchNotifyRetries: a failed notify is retried after the next render,
// even one that changed nothing, until it succeeds.
func TestWatchNotifyRetries(t *testing.T) {
	dir := t.TempDir()
	fail, marker := filepath.Join(dir, "fail"), filepath.Join(dir, "notified")
	os.WriteFile(fail, nil, 0o644)
	e := fakedocker.New(t)
	e.Add(web("a", "http://a.example.com"))
	h := start(t, e, options{notify: "test ! -e " + shell.Quote(fail) + " && echo ok >> " + shell.Quote(marker)})
	h.eventually("the first notify failing", func() bool { return strings.Contains(h.logs.String(), "notify failed; will retry") })
	os.Remove(fail)
	e.Add(fakedocker.ContainerSpec{Name: "unrouted"}) // a render that changes nothing
	h.eventually("the retry", func() bool { b, _ := os.ReadFile(marker); return string(b) == "ok\n" })
}

// TestWatchTemplateReload: an edited template file is re-read and rendered.
func TestWatchTemplateReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.tmpl")
	os.WriteFile(path, []byte(serversTmpl), 0o644)
	e := fakedocker.New(t)
	e.Add(web("a", "http://a.example.com"))
	h := start(t, e, options{tmplPath: path})
	h.waitFile("http_80_a.example.com: a\n")
	os.WriteFile(path, []byte("routes={{len (routes .)}}\n"), 0o644)
	h.waitFile("routes=1\n")
	h.eventually("the change logged", func() bool { return strings.Contains(h.logs.String(), "template file changed") })
}

// TestWatchIgnoresOtherEvents: events that cannot change routing (exec,
// image pulls) re-inspect nothing.
func TestWatchIgnoresOtherEvents(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithEventLog(0)) // no replay at start: see TestWatchRefreshesOnlyNamed
	a := e.Add(web("a", "http://a.example.com"))
	e.Add(web("b", "http://b.example.com"))
	h := start(t, e, options{})
	h.waitFile("http_80_a.example.com: a\nhttp_80_b.example.com: b\n")
	e.ResetCounters()
	e.EmitRaw(`{"Type":"container","Action":"exec_start: sh","Actor":{"ID":"` + a.ID + `"},"time":1}`)
	e.EmitRaw(`{"Type":"image","Action":"pull","Actor":{"ID":"` + a.ID + `"},"time":1}`)
	e.Stop("b") // routing events after them: once b is gone, the stream was read past them
	h.waitFile("http_80_a.example.com: a\n")
	if n := e.Inspections(a.ID); n != 0 {
		t.Errorf("%d inspections of a after events that do not change routing", n)
	}
}
