package fakedocker

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

func TestMain(m *testing.M) { os.Exit(dockertest.RunMain(m)) }

// lifecycle drives one container through the operations the watch loop
// cares about, on a real daemon or on the fake.
type lifecycle interface {
	run(t *testing.T) (id string)
	connect(t *testing.T, id string)
	disconnect(t *testing.T, id string)
	stop(t *testing.T, id string)
	restart(t *testing.T, id string)
	remove(t *testing.T, id string)
}

type realLife struct {
	cli *client.Client
	img string
	net string
}

func (r realLife) run(t *testing.T) string {
	return dockertest.Run(t, r.cli, dockertest.RunOptions{Name: "life", Image: r.img, Env: []string{"RPROXY=http://life.example"}, Labels: map[string]string{"app": "life"}}).ID
}
func (r realLife) connect(t *testing.T, id string) {
	if err := r.cli.NetworkConnect(context.Background(), r.net, id, nil); err != nil {
		t.Fatal(err)
	}
}
func (r realLife) disconnect(t *testing.T, id string) {
	if err := r.cli.NetworkDisconnect(context.Background(), r.net, id, false); err != nil {
		t.Fatal(err)
	}
}
func (r realLife) stop(t *testing.T, id string) { dockertest.Stop(t, r.cli, id) }
func (r realLife) restart(t *testing.T, id string) {
	timeout := 2
	if err := r.cli.ContainerRestart(context.Background(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
}
func (r realLife) remove(t *testing.T, id string) {
	if err := r.cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

type fakeLife struct{ e *Engine }

func (f fakeLife) run(*testing.T) string {
	return f.e.Add(ContainerSpec{Name: "life", Env: []string{"RPROXY=http://life.example"}, Labels: map[string]string{"app": "life"}}).ID
}
func (f fakeLife) connect(_ *testing.T, id string)    { f.e.Connect(id, "user", "") }
func (f fakeLife) disconnect(_ *testing.T, id string) { f.e.Disconnect(id, "user") }
func (f fakeLife) stop(_ *testing.T, id string)       { f.e.Stop(id) }
func (f fakeLife) restart(_ *testing.T, id string)    { f.e.Restart(id) }
func (f fakeLife) remove(_ *testing.T, id string)     { f.e.Remove(id) }

// recordLifecycle runs the scenario against cli's daemon and returns its
// events about the container, normalized: "type:action" with the
// attributes that matter, network names as "bridge" or "user", and each
// run of network events sorted (the daemon connects networks in map order).
func recordLifecycle(t *testing.T, cli *client.Client, l lifecycle) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msgs, errs := cli.Events(ctx, events.ListOptions{})
	id := l.run(t)
	if err := cli.ContainerKill(ctx, id, "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerRename(ctx, id, fmt.Sprintf("life-renamed-%d", time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	l.connect(t, id)
	l.disconnect(t, id)
	if err := cli.ContainerPause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerUnpause(ctx, id); err != nil {
		t.Fatal(err)
	}
	l.stop(t, id)
	if got, err := cli.ContainerInspect(ctx, id); err != nil || got.NetworkSettings.Networks["bridge"].IPAddress != "" {
		t.Errorf("stopped container keeps its address: %v", err)
	}
	l.connect(t, id) // while stopped
	start := func() {
		if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	start()
	l.restart(t, id)
	l.stop(t, id)
	l.disconnect(t, id) // while stopped
	start()
	l.remove(t, id)

	var out []string
	var netRun []string
	flush := func() {
		sort.Strings(netRun)
		out = append(out, netRun...)
		netRun = nil
	}
	for {
		var m events.Message
		select {
		case m = <-msgs:
		case err := <-errs:
			t.Fatalf("events: %v (so far %v)", err, out)
		}
		a := m.Actor.Attributes
		switch {
		case m.Type == events.ContainerEventType && m.Actor.ID == id:
			flush()
			s := "container:" + string(m.Action)
			for _, k := range []string{"exitCode", "signal"} {
				if v, ok := a[k]; ok {
					s += " " + k + "=" + v
				}
			}
			if _, ok := a["oldName"]; ok {
				s += " oldName"
			}
			if a["app"] != "life" || a["name"] == "" || a["image"] == "" {
				s += " MISSING-ATTRIBUTES"
			}
			out = append(out, s)
			if m.Action == events.ActionDestroy {
				return out
			}
		case m.Type == events.NetworkEventType && a["container"] == id:
			net := "user"
			if a["name"] == "bridge" {
				net = "bridge"
			}
			netRun = append(netRun, "network:"+string(m.Action)+" "+net+" type="+a["type"])
		}
	}
}

// TestFakeMatchesRealDaemon runs one container lifecycle on a real Docker
// daemon and on the fake and compares the events: the fake's event
// sequences are what the watch-loop tests build on.
func TestFakeMatchesRealDaemon(t *testing.T) {
	cli := dockertest.Connect(t) // skipped under -short
	real := realLife{cli: cli, img: dockertest.BuildTestImage(t, cli), net: dockertest.Network(t, cli)}
	want := recordLifecycle(t, cli, real)

	e := New(t)
	got := recordLifecycle(t, e.Client(t), fakeLife{e: e})
	if !slices.Equal(got, want) {
		t.Errorf("fake events differ from the real daemon's\nfake: %q\nreal: %q", got, want)
	}
}
