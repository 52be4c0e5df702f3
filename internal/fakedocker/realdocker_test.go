package fakedocker

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
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
	id := dockertest.Run(t, r.cli, dockertest.RunOptions{Name: "life", Image: r.img, Env: []string{"RPROXY=http://life.example"}, Labels: map[string]string{"app": "life"}}).ID
	r.ready(t, id)
	return id
}

// ready waits until the backend answers, so it has installed its signal
// handlers (a signal that comes earlier ends it with another exit code).
func (r realLife) ready(t *testing.T, id string) {
	dockertest.WaitHTTP(t, "http://"+dockertest.IP(t, r.cli, id, "bridge")+"/healthz")
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
func (r realLife) stop(t *testing.T, id string) {
	r.ready(t, id)
	dockertest.Stop(t, r.cli, id)
}
func (r realLife) restart(t *testing.T, id string) {
	r.ready(t, id)
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
	skipUnpause := false
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
			// Docker 20.10 races the API's pause/unpause events with
			// containerd's: one may come twice, or the pair twice.
			if dup := pauseDup(out, s, &skipUnpause); dup {
				continue
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

// pauseDup reports whether s repeats the pause or unpause before it, or
// starts a repeated pause/unpause pair (then the next unpause is skipped).
func pauseDup(out []string, s string, skipUnpause *bool) bool {
	const pause, unpause = "container:pause", "container:unpause"
	n := len(out)
	switch {
	case s != pause && s != unpause:
		return false
	case s == unpause && *skipUnpause:
		*skipUnpause = false
		return true
	case n >= 1 && out[n-1] == s:
		return true
	case s == pause && n >= 2 && out[n-2] == pause && out[n-1] == unpause:
		*skipUnpause = true
		return true
	}
	return false
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

// TestFakeErrorsMatchRealDaemon compares the fake's answers to requests
// that fail (and a few that do not) with a real daemon's: error class and
// message, IDs and names normalized.
func TestFakeErrorsMatchRealDaemon(t *testing.T) {
	cli := dockertest.Connect(t) // skipped under -short
	img := dockertest.BuildTestImage(t, cli)
	e := New(t)
	fake := e.Client(t)

	type target struct {
		cli              *client.Client
		running, stopped string // container IDs
	}
	setup := func(real bool) target {
		if real {
			r := dockertest.Run(t, cli, dockertest.RunOptions{Name: "errs-up", Image: img})
			s := dockertest.Run(t, cli, dockertest.RunOptions{Name: "errs-down", Image: img})
			dockertest.Stop(t, cli, s.ID)
			return target{cli, r.ID, s.ID}
		}
		return target{fake, e.Add(ContainerSpec{}).ID, e.Add(ContainerSpec{State: container.StateExited}).ID}
	}
	ctx := ctxT(t)
	probes := []struct {
		name string
		do   func(tg target) error
	}{
		{"inspect missing", func(tg target) error { _, err := tg.cli.ContainerInspect(ctx, "no-such-ctr"); return err }},
		{"kill stopped", func(tg target) error { return tg.cli.ContainerKill(ctx, tg.stopped, "HUP") }},
		{"kill bad signal", func(tg target) error { return tg.cli.ContainerKill(ctx, tg.running, "SIGNOPE") }},
		{"kill missing", func(tg target) error { return tg.cli.ContainerKill(ctx, "no-such-ctr", "HUP") }},
		{"list unknown filter", func(tg target) error {
			_, err := tg.cli.ContainerList(ctx, container.ListOptions{Filters: args("colour", "red")})
			return err
		}},
		{"list bad status", func(tg target) error {
			_, err := tg.cli.ContainerList(ctx, container.ListOptions{Filters: args("status", "sleeping")})
			return err
		}},
		{"stop stopped", func(tg target) error { return tg.cli.ContainerStop(ctx, tg.stopped, container.StopOptions{}) }},
		{"start running", func(tg target) error { return tg.cli.ContainerStart(ctx, tg.running, container.StartOptions{}) }},
		{"unpause running", func(tg target) error { return tg.cli.ContainerUnpause(ctx, tg.running) }},
		{"remove running", func(tg target) error { return tg.cli.ContainerRemove(ctx, tg.running, container.RemoveOptions{}) }},
		{"exec in stopped", func(tg target) error {
			_, err := tg.cli.ContainerExecCreate(ctx, tg.stopped, container.ExecOptions{Cmd: []string{"x"}})
			return err
		}},
		{"exec inspect missing", func(tg target) error { _, err := tg.cli.ContainerExecInspect(ctx, "no-such-exec"); return err }},
		{"services without swarm", func(tg target) error { _, err := tg.cli.ServiceList(ctx, swarm.ServiceListOptions{}); return err }},
		{"ping swarm status", func(tg target) error {
			p, err := tg.cli.Ping(ctx)
			if err != nil {
				return err
			}
			return fmt.Errorf("swarm %+v", p.SwarmStatus)
		}},
	}
	describe := func(tg target, err error) string {
		if err == nil {
			return "ok"
		}
		msg := strings.NewReplacer(tg.running, "<running>", tg.stopped, "<stopped>").Replace(err.Error())
		for _, c := range []struct {
			name string
			is   func(error) bool
		}{{"not-found", cerrdefs.IsNotFound}, {"invalid", cerrdefs.IsInvalidArgument}, {"conflict", cerrdefs.IsConflict},
			{"unavailable", cerrdefs.IsUnavailable}, {"internal", cerrdefs.IsInternal}} {
			if c.is(err) {
				return c.name + ": " + msg
			}
		}
		return "other: " + msg
	}
	real, fk := setup(true), setup(false)
	for _, p := range probes {
		want, got := describe(real, p.do(real)), describe(fk, p.do(fk))
		if got != want {
			t.Errorf("%s:\nfake: %s\nreal: %s", p.name, got, want)
		}
	}
}
