package source

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/model"
)

// These tests run the Docker source against the fake Engine API
// (internal/fakedocker) through the real Docker client: the subject is the
// source's own logic (cache, refresh, event filtering, faults), in
// milliseconds. e2e/ runs the same code against a real dockerd.

func newDocker(t *testing.T, e *fakedocker.Engine) (*Docker, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	d := NewDocker(e.Client(t), slog.New(slog.NewTextHandler(&logs, nil)))
	d.selfIDs = func() []string { return nil }
	return d, &logs
}

func containerNames(cs []model.Container) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestDockerSyncAndRefresh(t *testing.T) {
	e := fakedocker.New(t)
	web := e.Add(fakedocker.ContainerSpec{Name: "web", Env: []string{"RPROXY=http://web.example.com"}})
	e.Add(fakedocker.ContainerSpec{Name: "db", Env: []string{"A=b"}})
	e.Add(fakedocker.ContainerSpec{Name: "stopped", State: "exited", Env: []string{"RPROXY=http://s.example.com"}})
	d, _ := newDocker(t, e)
	ctx := context.Background()
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := containerNames(d.Containers()); got != "db web" {
		t.Fatalf("after Sync: %q, want the running containers", got)
	}
	if d.String() != e.Host() {
		t.Errorf("String = %q", d.String())
	}

	// Refresh re-inspects only what it is given.
	e.ResetCounters()
	api := e.Add(fakedocker.ContainerSpec{Name: "api", Env: []string{"RPROXY=http://api.example.com"}})
	e.Stop(web.ID)
	if err := d.Refresh(ctx, []string{api.ID, web.ID}); err != nil {
		t.Fatal(err)
	}
	if got := containerNames(d.Containers()); got != "api db" {
		t.Errorf("after Refresh: %q", got)
	}
	if n := e.Requests(fakedocker.RouteContainerList); n != 0 {
		t.Errorf("Refresh listed all containers (%d lists)", n)
	}
	if n := e.Requests(fakedocker.RouteContainerInspect); n != 2 {
		t.Errorf("Refresh of 2 containers made %d inspections", n)
	}
	// A container gone before its refresh leaves the cache without an error.
	e.Remove(api.ID)
	if err := d.Refresh(ctx, []string{api.ID}); err != nil || containerNames(d.Containers()) != "db" {
		t.Errorf("gone container: %v, %q", err, containerNames(d.Containers()))
	}
}

// TestDockerInspectAllSkipsVanished: a container listed but gone before its
// inspection is left out, not an error.
func TestDockerInspectAllSkipsVanished(t *testing.T) {
	e := fakedocker.New(t)
	e.Add(fakedocker.ContainerSpec{Name: "a"})
	gone := e.Add(fakedocker.ContainerSpec{Name: "b"})
	d, _ := newDocker(t, e)
	e.FailN("GET /containers/"+gone.ID, http.StatusNotFound, 1)
	all, err := d.InspectAll(context.Background())
	if err != nil || len(all) != 1 || all[0].Name != "/a" {
		t.Fatalf("InspectAll = %d containers, %v", len(all), err)
	}
	e.Fail("GET /containers/", http.StatusInternalServerError)
	if _, err := d.InspectAll(context.Background()); err == nil {
		t.Error("a failing inspection was not an error")
	}
}

// TestDockerOldAPI: a daemon that negotiates an API older than 1.24 is
// refused with a clear error instead of an empty config.
func TestDockerOldAPI(t *testing.T) {
	e := fakedocker.New(t, fakedocker.WithAPIVersion("1.20"), fakedocker.WithMinAPIVersion("1.12"))
	e.Add(fakedocker.ContainerSpec{Name: "a", Env: []string{"RPROXY=http://a.example.com"}})
	d, _ := newDocker(t, e)
	err := d.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Docker API version 1.20 is too old") {
		t.Fatalf("err = %v", err)
	}
}

func TestDockerEvents(t *testing.T) {
	e := fakedocker.New(t)
	web := e.Add(fakedocker.ContainerSpec{Name: "web"})
	d, _ := newDocker(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys, ended := d.Events(ctx, time.Time{})
	if err := e.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.Stop(web.ID)
	next := func() string {
		select {
		case k := <-keys:
			return k
		case err := <-ended:
			t.Fatalf("stream ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
		return ""
	}
	// kill, die, network disconnect, stop: each names the container (the
	// network event with "net:" in front, see EventKey).
	for _, want := range []string{web.ID, web.ID, "net:" + web.ID, web.ID} {
		if k := next(); k != want {
			t.Fatalf("key %q, want %q", k, want)
		}
	}
	e.DropEvents()
	select {
	case err := <-ended:
		if err == nil || !strings.Contains(err.Error(), "docker events on "+e.Host()) {
			t.Errorf("ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a dropped stream did not end")
	}
}

func TestDockerEventsReplaySince(t *testing.T) {
	e := fakedocker.New(t)
	since := time.Now().Add(-time.Second)
	c := e.Add(fakedocker.ContainerSpec{Name: "early"}) // before the subscription
	d, _ := newDocker(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys, _ := d.Events(ctx, since)
	select {
	case k := <-keys:
		if k != c.ID && k != "net:"+c.ID {
			t.Errorf("replayed %q", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an event from before the subscription was not replayed")
	}
}

func TestDockerSignal(t *testing.T) {
	e := fakedocker.New(t)
	hap := e.Add(fakedocker.ContainerSpec{Name: "haproxy"})
	d, _ := newDocker(t, e)
	if err := d.Signal(context.Background(), "haproxy", "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if got := e.Container(hap.ID).Kills(); len(got) != 1 || got[0] != "SIGHUP" {
		t.Errorf("kills %v", got)
	}
	if err := d.Signal(context.Background(), "nope", "SIGHUP"); err == nil || !strings.Contains(err.Error(), "signal SIGHUP to container nope") {
		t.Errorf("missing container: %v", err)
	}
}

func TestDockerSelfNetworks(t *testing.T) {
	e := fakedocker.New(t)
	self := e.Add(fakedocker.ContainerSpec{Name: "rproxy-gen", Networks: map[string]string{"proxy": "", "bridge": ""}})
	d, logs := newDocker(t, e)
	ctx := context.Background()
	d.selfIDs = func() []string { return []string{"0123456789ab", self.ID[:12]} }
	if got := d.SelfNetworks(ctx); strings.Join(got, ",") != "bridge,proxy" {
		t.Fatalf("SelfNetworks = %v", got)
	}
	if !strings.Contains(logs.String(), "preferring its networks") {
		t.Errorf("not logged: %s", logs)
	}
	e.ResetCounters()
	d.SelfNetworks(ctx)
	if n := e.Requests(fakedocker.RouteContainerInspect); n != 0 {
		t.Errorf("asked the daemon again (%d inspections)", n)
	}
	// On the host (no candidate), or while the daemon is away, nothing.
	d2, _ := newDocker(t, e)
	if got := d2.SelfNetworks(ctx); got != nil {
		t.Errorf("on the host: %v", got)
	}
	d3, _ := newDocker(t, e)
	d3.selfIDs = func() []string { return []string{self.ID} }
	e.Fail("GET /containers/", http.StatusInternalServerError)
	if got := d3.SelfNetworks(ctx); got != nil || d3.selfKnown {
		t.Errorf("daemon failing: %v, known %v (must ask again later)", got, d3.selfKnown)
	}
}
