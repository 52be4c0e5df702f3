package source

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/model"
)

// stubPart is a Part whose events the test sends and whose refreshes it
// records.
type stubPart struct {
	name      string
	keys      chan string
	errs      chan error
	refreshed [][]string
	cs        []model.Container
}

func newStub(name string, cs ...model.Container) *stubPart {
	return &stubPart{name: name, keys: make(chan string), errs: make(chan error, 1), cs: cs}
}

func (p *stubPart) Events(ctx context.Context, _ time.Time) (<-chan string, <-chan error) {
	out := make(chan string)
	done := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case k := <-p.keys:
				out <- k
			case err := <-p.errs:
				done <- err
				return
			case <-ctx.Done():
				done <- ctx.Err()
				return
			}
		}
	}()
	return out, done
}
func (p *stubPart) Sync(context.Context) error { return nil }
func (p *stubPart) Refresh(_ context.Context, keys []string) error {
	p.refreshed = append(p.refreshed, keys)
	return nil
}
func (p *stubPart) Containers() []model.Container { return p.cs }
func (p *stubPart) String() string                { return p.name }

// TestMulti: keys go back to the part that sent them, containers are
// joined, and one part's end ends the whole stream with its error.
func TestMulti(t *testing.T) {
	ctx := testCtx(t)
	a, b := newStub("a", model.Container{Name: "x"}), newStub("b", model.Container{Name: "y"}, model.Container{Name: "z"})
	m := NewMulti(a, b)
	if m.String() != "a + b" || len(m.Containers()) != 3 {
		t.Fatalf("%s: %d containers", m, len(m.Containers()))
	}
	keys, ended := m.Events(ctx, time.Time{})
	a.keys <- "c1"
	b.keys <- "service:s1"
	var got []string
	for len(got) < 2 {
		got = append(got, <-keys)
	}
	if err := m.Refresh(ctx, append(got, "9/bogus", "nonsense")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.refreshed[0], []string{"c1"}) || !slices.Equal(b.refreshed[0], []string{"service:s1"}) {
		t.Errorf("refreshed a %v, b %v (keys %v)", a.refreshed, b.refreshed, got)
	}
	boom := errors.New("b lost its daemon")
	b.errs <- boom
	for range keys {
	}
	if err := <-ended; !errors.Is(err, boom) {
		t.Errorf("ended with %v, want %v", err, boom)
	}
}

// TestDockerSkipsSwarmTasks: with --swarm, a task's container on this daemon
// is left to its service. Through the fake Engine API, which lists it like a
// daemon does.
func TestDockerSkipsSwarmTasks(t *testing.T) {
	ctx := testCtx(t)
	e := fakedocker.New(t)
	e.Add(fakedocker.ContainerSpec{Name: "plain", Env: []string{"RPROXY=http://plain.test"}})
	task := e.Add(fakedocker.ContainerSpec{Name: "web.1.abc", Env: []string{"RPROXY=http://web.test"}, Labels: map[string]string{TaskLabel: "abc"}})
	d := NewDocker(e.Client(t), quietLog())
	if err := d.Sync(ctx); err != nil || len(d.Containers()) != 2 {
		t.Fatalf("without SkipSwarmTasks: %v, %d containers", err, len(d.Containers()))
	}
	d.SkipSwarmTasks()
	if err := d.Sync(ctx); err != nil || !slices.Equal(names(d.Containers()), []string{"plain"}) {
		t.Fatalf("Sync: %v, %v", err, names(d.Containers()))
	}
	if err := d.Refresh(ctx, []string{task.ID}); err != nil || !slices.Equal(names(d.Containers()), []string{"plain"}) {
		t.Fatalf("Refresh: %v, %v", err, names(d.Containers()))
	}
}

// TestSignalService: --notify-container may name a Swarm service, whose
// task containers on this daemon all get the signal (their names change
// with every task). Through the fake Engine API, which records kills.
func TestSignalService(t *testing.T) {
	ctx := testCtx(t)
	e := fakedocker.New(t)
	hp1 := e.Add(fakedocker.ContainerSpec{Name: "proxy_haproxy.1.aaa", Labels: map[string]string{ServiceLabel: "proxy_haproxy"}})
	hp2 := e.Add(fakedocker.ContainerSpec{Name: "proxy_haproxy.2.bbb", Labels: map[string]string{ServiceLabel: "proxy_haproxy"}})
	other := e.Add(fakedocker.ContainerSpec{Name: "other", Labels: map[string]string{ServiceLabel: "proxy_haproxy2"}})
	named := e.Add(fakedocker.ContainerSpec{Name: "haproxy"})
	d := NewDocker(e.Client(t), quietLog())

	if err := d.Signal(ctx, "proxy_haproxy", "HUP"); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(ctx, "haproxy", "USR2"); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*fakedocker.Container][]string{hp1: {"SIGHUP"}, hp2: {"SIGHUP"}, other: nil, named: {"SIGUSR2"}} {
		if got := c.Kills(); !slices.Equal(got, want) {
			t.Errorf("%s got %v, want %v", c.Name(), got, want)
		}
	}
	err := d.Signal(ctx, "nothing", "HUP")
	if err == nil || !strings.Contains(err.Error(), "signal HUP to container nothing") {
		t.Errorf("unknown name: %v", err)
	}
}

// TestReadSnapshotObject: the snapshot object holds containers and Swarm
// state; task containers are left to their tasks; an unknown key is an
// error; a JSON object without snapshot keys is a model.
func TestReadSnapshotObject(t *testing.T) {
	svc := testService("s1", "web", map[string]string{"rproxy": "http://web.test"})
	snap := NewSnapshot([]container.InspectResponse{
		{ContainerJSONBase: &container.ContainerJSONBase{ID: "p", Name: "/plain", State: &container.State{Running: true}},
			Config: &container.Config{Labels: map[string]string{"rproxy": "http://plain.test"}}},
		{ContainerJSONBase: &container.ContainerJSONBase{ID: "c-t1", Name: "/web.1.t1", State: &container.State{Running: true}},
			Config: &container.Config{Env: []string{"RPROXY=http://web.test"}, Labels: map[string]string{TaskLabel: "t1"}}},
	}, &SwarmState{Services: []swarm.Service{svc}, Tasks: []swarm.Task{testTask("t2", "s1", 2, "n1", "front=10.0.1.4/24"), testTask("t1", "s1", 1, "n1", "front=10.0.1.3/24")}})
	if snap.Tasks[0].ID != "t1" || snap.Nodes == nil {
		t.Errorf("NewSnapshot order or nil lists: %+v", snap)
	}
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ReadInput(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(in.Containers); !slices.Equal(got, []string{"plain", "web.1", "web.2"}) {
		t.Errorf("containers %v", got)
	}
	_, err = ReadInput([]byte(strings.Replace(string(data), `"services"`, `"nodes2"`, 1)))
	if err == nil || !strings.Contains(err.Error(), `unknown key "nodes2"`) {
		t.Errorf("unknown key: %v", err)
	}
	// Without services, task containers are plain containers.
	in, err = ReadInput([]byte(`{"containers": [{"Id": "c-t1", "Name": "/web.1.t1", "State": {"Running": true}, "Config": {"Labels": {"` + TaskLabel + `": "t1", "rproxy": "http://web.test"}}}]}`))
	if err != nil || !slices.Equal(names(in.Containers), []string{"web.1.t1"}) {
		t.Errorf("containers only: %v %v", err, in)
	}
	for _, bad := range []string{`{"tasks": [{"ID": "t"}]}`, `{"services": [{}]}`, `{"containers": [1]}`, `{"containers": [{}]}`} {
		if _, err := ReadInput([]byte(bad)); err == nil {
			t.Errorf("ReadInput(%s) accepted", bad)
		}
	}
	in, err = ReadInput([]byte(`{"version": 2, "stats": {"addr": ":1"}}`))
	if err != nil || in.Model == nil {
		t.Errorf("a JSON model: %v", err)
	}
}
