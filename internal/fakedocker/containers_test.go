package fakedocker

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"
)

// listFixture is a small host: running, paused, exited, created and
// healthy containers on two networks.
func listFixture(t *testing.T) *Engine {
	t.Helper()
	e := New(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	e.Add(ContainerSpec{Name: "web", Labels: map[string]string{"app": "web", "tier": "front"}, Networks: map[string]string{"front": ""}, Created: base.Add(1 * time.Minute)})
	e.Add(ContainerSpec{Name: "web2", Labels: map[string]string{"app": "web"}, Created: base.Add(2 * time.Minute), Health: container.Healthy})
	e.Add(ContainerSpec{Name: "db", Labels: map[string]string{"app": "db"}, Networks: map[string]string{"back": "172.30.0.9"}, Created: base.Add(3 * time.Minute)})
	e.Add(ContainerSpec{Name: "old", Labels: map[string]string{"app": "old"}, State: container.StateExited, ExitCode: 2, Created: base})
	e.Add(ContainerSpec{Name: "frozen", State: container.StatePaused, Created: base.Add(4 * time.Minute)})
	e.Add(ContainerSpec{Name: "fresh", State: container.StateCreated, Created: base.Add(5 * time.Minute)})
	return e
}

func names(list []container.Summary) []string {
	var out []string
	for _, c := range list {
		out = append(out, strings.TrimPrefix(c.Names[0], "/"))
	}
	return out
}

func TestContainerListFilters(t *testing.T) {
	e := listFixture(t)
	cli := e.Client(t)
	ctx := ctxT(t)
	front := e.Inspect("web").NetworkSettings.Networks["front"].NetworkID
	dbID := e.Container("db").ID

	tests := []struct {
		name    string
		all     bool
		limit   int
		filters [][2]string
		want    []string // newest first
		wantErr func(error) bool
	}{
		{name: "running and paused", want: []string{"frozen", "db", "web2", "web"}},
		{name: "all", all: true, want: []string{"fresh", "frozen", "db", "web2", "web", "old"}},
		{name: "limit includes stopped", limit: 2, want: []string{"fresh", "frozen"}},
		{name: "status exited implies all", filters: [][2]string{{"status", "exited"}}, want: []string{"old"}},
		{name: "status created or paused", filters: [][2]string{{"status", "created"}, {"status", "paused"}}, want: []string{"fresh", "frozen"}},
		{name: "label key", filters: [][2]string{{"label", "app"}}, want: []string{"db", "web2", "web"}},
		{name: "label key=value", filters: [][2]string{{"label", "app=web"}}, want: []string{"web2", "web"}},
		{name: "labels are ANDed", filters: [][2]string{{"label", "app=web"}, {"label", "tier=front"}}, want: []string{"web"}},
		{name: "name is a regexp", filters: [][2]string{{"name", "^web$"}}, want: []string{"web"}},
		{name: "name substring", filters: [][2]string{{"name", "we"}}, want: []string{"web2", "web"}},
		{name: "name with slash", filters: [][2]string{{"name", "/db"}}, want: []string{"db"}},
		{name: "id prefix", filters: [][2]string{{"id", dbID[:8]}}, want: []string{"db"}},
		{name: "network by name", filters: [][2]string{{"network", "front"}}, want: []string{"web"}},
		{name: "network by ID prefix", filters: [][2]string{{"network", front[:6]}}, want: []string{"web"}},
		{name: "bridge network", filters: [][2]string{{"network", "bridge"}}, want: []string{"frozen", "web2"}},
		{name: "health", filters: [][2]string{{"health", "healthy"}}, want: []string{"web2"}},
		{name: "health none", filters: [][2]string{{"health", "none"}}, want: []string{"frozen", "db", "web"}},
		{name: "exited code", all: true, filters: [][2]string{{"exited", "2"}}, want: []string{"old"}},
		{name: "unknown key", filters: [][2]string{{"colour", "red"}}, wantErr: cerrdefs.IsInvalidArgument},
		{name: "bad status", filters: [][2]string{{"status", "sleeping"}}, wantErr: cerrdefs.IsInvalidArgument},
		{name: "bad health", filters: [][2]string{{"health", "meh"}}, wantErr: cerrdefs.IsInvalidArgument},
		{name: "unimplemented", filters: [][2]string{{"volume", "x"}}, wantErr: cerrdefs.IsInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filters.NewArgs()
			for _, kv := range tt.filters {
				f.Add(kv[0], kv[1])
			}
			list, err := cli.ContainerList(ctx, container.ListOptions{All: tt.all, Limit: tt.limit, Filters: f})
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("err = %v, want a matching error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(list); !slices.Equal(got, tt.want) {
				t.Errorf("names = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContainerListSummary(t *testing.T) {
	e := listFixture(t)
	list, err := e.Client(t).ContainerList(ctxT(t), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]container.Summary{}
	for _, c := range list {
		byName[strings.TrimPrefix(c.Names[0], "/")] = c
	}
	tests := []struct {
		name, state, statusPrefix, ip string
		network                       string
	}{
		{"web", "running", "Up ", "172.18.0.2", "front"},
		{"web2", "running", "Up ", "172.17.0.2", "bridge"},
		{"db", "running", "Up ", "172.30.0.9", "back"},
		{"frozen", "paused", "Up ", "172.17.0.3", "bridge"},
		{"old", "exited", "Exited (2) ", "", "bridge"},
		{"fresh", "created", "Created", "", "bridge"},
	}
	for _, tt := range tests {
		c, ok := byName[tt.name]
		if !ok {
			t.Errorf("%s missing", tt.name)
			continue
		}
		ep := c.NetworkSettings.Networks[tt.network]
		if c.State != tt.state || !strings.HasPrefix(c.Status, tt.statusPrefix) || ep == nil || ep.IPAddress != tt.ip {
			t.Errorf("%s: State %q Status %q endpoint %+v; want %s, %q…, IP %q on %s", tt.name, c.State, c.Status, ep, tt.state, tt.statusPrefix, tt.ip, tt.network)
		}
	}
	if s := byName["web2"].Status; !strings.HasSuffix(s, "(healthy)") {
		t.Errorf("web2 status %q lacks (healthy)", s)
	}
	if byName["web"].Image != "busybox:latest" || byName["web"].Labels["tier"] != "front" {
		t.Errorf("web summary = %+v", byName["web"])
	}
}

func TestContainerInspect(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	web := e.Add(ContainerSpec{
		ID:   "abc0000000000000000000000000000000000000000000000000000000000001",
		Name: "web", Env: []string{"RPROXY=http://app.example.com"},
		Labels: map[string]string{"rproxy": "tcp://x:5"}, Health: container.Starting,
	})
	e.Add(ContainerSpec{ID: "abc1000000000000000000000000000000000000000000000000000000000002", Name: "web-2"})
	e.Add(ContainerSpec{ID: "def0000000000000000000000000000000000000000000000000000000000003", Name: "other"})
	cli := e.Client(t)

	for _, ref := range []string{web.ID, "web", "/web", "abc0000000000000000000000000000000000000000000000000000000000001"[:63]} {
		got, err := cli.ContainerInspect(ctx, ref)
		if err != nil {
			t.Errorf("inspect %q: %v", ref, err)
			continue
		}
		if got.ID != web.ID || got.Name != "/web" {
			t.Errorf("inspect %q = %s %s", ref, got.ID, got.Name)
		}
	}
	got, err := cli.ContainerInspect(ctx, "def")
	if err != nil || got.Name != "/other" {
		t.Errorf("unique prefix: %v %v", got.Name, err)
	}
	if _, err := cli.ContainerInspect(ctx, "abc"); err == nil || !cerrdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "multiple IDs") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	_, err = cli.ContainerInspect(ctx, "nope")
	if !cerrdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: nope") {
		t.Errorf("missing container: %v", err)
	}

	full, err := cli.ContainerInspect(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"running", full.State.Running && full.State.Status == "running" && full.State.Pid > 0},
		{"env", slices.Contains(full.Config.Env, "RPROXY=http://app.example.com")},
		{"label", full.Config.Labels["rproxy"] == "tcp://x:5"},
		{"health", full.State.Health != nil && full.State.Health.Status == container.Starting && full.Config.Healthcheck != nil},
		{"bridge IP", full.NetworkSettings.Networks["bridge"].IPAddress == "172.17.0.2"},
		{"gateway", full.NetworkSettings.Networks["bridge"].Gateway == "172.17.0.1"},
		{"created", full.Created != "" && full.State.StartedAt != zeroTime},
		{"image", full.Config.Image == "busybox:latest" && strings.HasPrefix(full.Image, "sha256:")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("inspect of web: %s wrong: %+v", c.what, full)
		}
	}
}

func TestContainerMutations(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	c := e.Add(ContainerSpec{Name: "app", Env: []string{"A=1", "RPROXY=http://a.example"}})

	e.SetEnv("app", "RPROXY=http://b.example", "A", "B=2")
	e.SetLabels("app", map[string]string{"x": "y"})
	e.Connect("app", "extra", "")
	e.Rename("app", "app2")
	got, err := cli.ContainerInspect(ctx, "app2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Config.Env, []string{"RPROXY=http://b.example", "B=2"}) || got.Config.Labels["x"] != "y" {
		t.Errorf("env %v labels %v", got.Config.Env, got.Config.Labels)
	}
	if ip := got.NetworkSettings.Networks["extra"].IPAddress; ip == "" || c.IP("extra") != ip || c.Name() != "app2" {
		t.Errorf("extra IP %q, handle says %q, name %q", ip, c.IP("extra"), c.Name())
	}
	if _, err := cli.ContainerInspect(ctx, "app"); !cerrdefs.IsNotFound(err) {
		t.Errorf("old name still resolves: %v", err)
	}

	e.Stop(c.ID)
	got = c.Inspect()
	if got.State.Running || got.State.Status != "exited" || got.NetworkSettings.Networks["extra"].IPAddress != "" {
		t.Errorf("after Stop: state %+v, extra %+v", got.State, got.NetworkSettings.Networks["extra"])
	}
	e.Start(c.ID)
	if c.IP("extra") == "" || !c.Inspect().State.Running {
		t.Error("Start did not bring the container back with its address")
	}
	e.Disconnect(c.ID, "extra")
	if _, ok := c.Inspect().NetworkSettings.Networks["extra"]; ok {
		t.Error("Disconnect left the network")
	}
	e.Update(c.ID, func(r *container.InspectResponse) { r.Config.User = "nobody" })
	if c.Inspect().Config.User != "nobody" {
		t.Error("Update not visible")
	}
	e.Remove(c.ID)
	if _, err := cli.ContainerInspect(ctx, c.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("removed container: %v", err)
	}
	if n := len(e.Containers()); n != 0 {
		t.Errorf("%d containers after Remove", n)
	}
}

func TestKill(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	c := e.Add(ContainerSpec{Name: "proxy"})
	e.Add(ContainerSpec{Name: "stopped", State: container.StateExited})

	for _, sig := range []string{"SIGHUP", "hup", "10", "SIGUSR2"} {
		if err := cli.ContainerKill(ctx, "proxy", sig); err != nil {
			t.Fatalf("kill %s: %v", sig, err)
		}
	}
	if got := c.Kills(); !slices.Equal(got, []string{"SIGHUP", "SIGHUP", "SIGUSR1", "SIGUSR2"}) {
		t.Errorf("Kills = %v", got)
	}
	if !c.Inspect().State.Running {
		t.Error("SIGHUP ended the container")
	}
	var kills []string
	for _, m := range e.EventLog() {
		if m.Action == "kill" {
			kills = append(kills, m.Actor.Attributes["signal"])
		}
	}
	if !slices.Equal(kills, []string{"1", "1", "10", "12"}) {
		t.Errorf("kill event signals = %v", kills)
	}

	tests := []struct {
		ref, sig string
		want     func(error) bool
	}{
		{"missing", "HUP", cerrdefs.IsNotFound},
		{"stopped", "HUP", cerrdefs.IsConflict},
		{"proxy", "SIGNOPE", cerrdefs.IsInvalidArgument},
		{"proxy", "0", cerrdefs.IsInvalidArgument},
	}
	for _, tt := range tests {
		if err := cli.ContainerKill(ctx, tt.ref, tt.sig); err == nil || !tt.want(err) {
			t.Errorf("kill %s %s = %v", tt.ref, tt.sig, err)
		}
	}
	if err := cli.ContainerKill(ctx, "proxy", ""); err != nil {
		t.Fatal(err)
	}
	st := c.Inspect().State
	if st.Running || st.ExitCode != 137 {
		t.Errorf("after SIGKILL: %+v", st)
	}
}

func TestExec(t *testing.T) {
	handler := func(c container.InspectResponse, cmd []string) (string, int) {
		if slices.Equal(cmd, []string{"check"}) {
			return "ok from " + strings.TrimPrefix(c.Name, "/") + "\n", 0
		}
		return "", 3
	}
	for _, api := range []string{"1.41", "1.44"} {
		t.Run(api, func(t *testing.T) {
			ctx := ctxT(t)
			e := New(t, WithAPIVersion(api), WithExec(handler))
			cli := e.Client(t)
			e.Add(ContainerSpec{Name: "app"})

			created, err := cli.ContainerExecCreate(ctx, "app", container.ExecOptions{Cmd: []string{"check"}, AttachStdout: true, AttachStderr: true})
			if err != nil {
				t.Fatal(err)
			}
			hj, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			_, err = stdcopy.StdCopy(&stdout, &stderr, hj.Reader)
			hj.Close()
			if err != nil {
				t.Fatalf("StdCopy: %v", err)
			}
			if stdout.String() != "ok from app\n" || stderr.Len() != 0 {
				t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
			}
			insp, err := cli.ContainerExecInspect(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if insp.Running || insp.ExitCode != 0 || insp.ContainerID != e.Container("app").ID {
				t.Errorf("exec inspect = %+v", insp)
			}

			// Detached start, failing command.
			created, err = cli.ContainerExecCreate(ctx, "app", container.ExecOptions{Cmd: []string{"false"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := cli.ContainerExecStart(ctx, created.ID, container.ExecStartOptions{Detach: true}); err != nil {
				t.Fatal(err)
			}
			if insp, err := cli.ContainerExecInspect(ctx, created.ID); err != nil || insp.ExitCode != 3 {
				t.Errorf("detached exec inspect = %+v, %v", insp, err)
			}
			if err := cli.ContainerExecStart(ctx, created.ID, container.ExecStartOptions{Detach: true}); !cerrdefs.IsConflict(err) {
				t.Errorf("second start = %v, want conflict", err)
			}
		})
	}

	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	e.Add(ContainerSpec{Name: "down", State: container.StateExited})
	if _, err := cli.ContainerExecCreate(ctx, "down", container.ExecOptions{Cmd: []string{"x"}}); !cerrdefs.IsConflict(err) {
		t.Errorf("exec in a stopped container = %v, want conflict", err)
	}
	if _, err := cli.ContainerExecInspect(ctx, "nope"); !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect of a missing exec = %v", err)
	}
	// Without a handler a command "is not found": exit 127.
	e.Add(ContainerSpec{Name: "up"})
	created, err := cli.ContainerExecCreate(ctx, "up", container.ExecOptions{Cmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerExecStart(ctx, created.ID, container.ExecStartOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	if insp, _ := cli.ContainerExecInspect(ctx, created.ID); insp.ExitCode != 127 {
		t.Errorf("exit code without handler = %d", insp.ExitCode)
	}
}

func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 containers: not under -short")
	}
	ctx := ctxT(t)
	e := New(t)
	const n = 10000
	e.AddN(n, func(i int) ContainerSpec {
		return ContainerSpec{Env: []string{"RPROXY=http://s" + string(rune('a'+i%26)) + ".example"}}
	})
	cli := e.Client(t)
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("listed %d, want %d", len(list), n)
	}
	seen := map[string]bool{}
	for _, c := range list {
		ip := c.NetworkSettings.Networks["bridge"].IPAddress
		if seen[ip] {
			t.Fatalf("IP %s given twice", ip)
		}
		seen[ip] = true
	}
	for _, c := range list[:100] {
		if _, err := cli.ContainerInspect(ctx, c.ID[:12]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestContainerActionsAPI(t *testing.T) {
	ctx := ctxT(t)
	e := New(t)
	cli := e.Client(t)
	c := e.Add(ContainerSpec{Name: "app", Networks: map[string]string{"bridge": "", "front": ""}})
	state := func() string { return c.Inspect().State.Status }

	steps := []struct {
		name    string
		do      func() error
		want    string // state afterwards
		wantErr func(error) bool
	}{
		{"stop", func() error { return cli.ContainerStop(ctx, "app", container.StopOptions{}) }, "exited", nil},
		{"stop again is a 304", func() error { return cli.ContainerStop(ctx, "app", container.StopOptions{}) }, "exited", nil},
		{"pause stopped", func() error { return cli.ContainerPause(ctx, "app") }, "exited", cerrdefs.IsConflict},
		{"start", func() error { return cli.ContainerStart(ctx, "app", container.StartOptions{}) }, "running", nil},
		{"restart", func() error { return cli.ContainerRestart(ctx, "app", container.StopOptions{}) }, "running", nil},
		{"pause", func() error { return cli.ContainerPause(ctx, "app") }, "paused", nil},
		{"pause twice", func() error { return cli.ContainerPause(ctx, "app") }, "paused", cerrdefs.IsConflict},
		{"unpause", func() error { return cli.ContainerUnpause(ctx, "app") }, "running", nil},
		{"disconnect", func() error { return cli.NetworkDisconnect(ctx, "front", "app", false) }, "running", nil},
		{"disconnect again", func() error { return cli.NetworkDisconnect(ctx, "front", "app", false) }, "running", cerrdefs.IsInvalidArgument},
		{"connect unknown network", func() error { return cli.NetworkConnect(ctx, "nope", "app", nil) }, "running", cerrdefs.IsNotFound},
		{"connect", func() error { return cli.NetworkConnect(ctx, "front", "app", nil) }, "running", nil},
		{"remove running", func() error { return cli.ContainerRemove(ctx, "app", container.RemoveOptions{}) }, "running", cerrdefs.IsConflict},
	}
	for _, s := range steps {
		err := s.do()
		switch {
		case s.wantErr == nil && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.wantErr != nil && (err == nil || !s.wantErr(err)):
			t.Fatalf("%s: err = %v, want a matching error", s.name, err)
		}
		if got := state(); got != s.want {
			t.Fatalf("%s: state %s, want %s", s.name, got, s.want)
		}
	}
	if c.IP("front") == "" {
		t.Error("API connect gave no address")
	}
	e.Add(ContainerSpec{Name: "other"})
	if err := cli.ContainerRename(ctx, "app", "other"); !cerrdefs.IsConflict(err) {
		t.Errorf("rename onto a used name = %v", err)
	}
	if err := cli.ContainerRename(ctx, "app", "app2"); err != nil || c.Name() != "app2" {
		t.Errorf("rename = %v, name %s", err, c.Name())
	}
	if err := cli.ContainerRemove(ctx, "app2", container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, c.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("after remove: %v", err)
	}
}
