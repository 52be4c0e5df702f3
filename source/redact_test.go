package source

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/model"
)

const secret = "s3cret-Pa55"

// full is a container with every field that commonly holds a secret set to
// one, and every field rendering reads set too.
func full() container.InspectResponse {
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: "4f1c2a", Name: "/shop", Created: "2026-01-02T03:04:05.123456789Z", Image: "sha256:abc",
			Path: "/app", Args: []string{"--db-password=" + secret},
			State: &container.State{Status: "running", Running: true, StartedAt: "2026-01-02T03:04:06Z",
				Error: "dial db with " + secret,
				Health: &container.Health{Status: "healthy", FailingStreak: 0,
					Log: []*container.HealthcheckResult{{ExitCode: 0, Output: "connected with " + secret}}}},
			HostConfig: &container.HostConfig{Binds: []string{"/home/me/" + secret + ":/x"}},
			LogPath:    "/var/lib/docker/" + secret,
		},
		Config: &container.Config{
			Image:      "shop:1",
			Hostname:   "4f1c2a",
			Cmd:        []string{"serve", "--token", secret},
			Entrypoint: []string{"/app"},
			Env: []string{"PATH=/usr/bin", "DB_PASSWORD=" + secret, "RPROXY=http://shop.example.com,tcp://shopdb:5432",
				"EMPTY=", "NOVALUE"},
			Labels: map[string]string{
				"rproxy":                              "https://shop.example.com?to=8080",
				"rproxy.note":                         "kept",
				"traefik.http.middlewares.auth.users": "admin:" + secret,
				"com.docker.compose.service":          "shop",
				"com.docker.swarm.service.name":       "shop",
			},
		},
		Mounts: []container.MountPoint{{Type: mount.TypeBind, Source: "/home/" + secret, Destination: "/data"}},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"apps":   {NetworkID: "n1", IPAddress: "172.20.0.5", IPPrefixLen: 16, Gateway: "172.20.0.1", Aliases: []string{"shop"}, DriverOpts: map[string]string{"k": secret}},
			"bridge": {NetworkID: "n2", IPAddress: "172.17.0.3", IPPrefixLen: 16},
			"gone":   nil,
		}},
	}
}

// TestRedactDropsSecrets: no secret survives in a default snapshot, in any
// field.
func TestRedactDropsSecrets(t *testing.T) {
	b, err := json.Marshal(Redact(full()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Fatalf("a secret survived redaction:\n%s", b)
	}
	r := Redact(full())
	wantEnv := []string{"PATH=" + Redacted, "DB_PASSWORD=" + Redacted, "RPROXY=http://shop.example.com,tcp://shopdb:5432", "EMPTY=" + Redacted, "NOVALUE"}
	if !slices.Equal(r.Config.Env, wantEnv) {
		t.Errorf("env = %q, want %q", r.Config.Env, wantEnv)
	}
	if r.Config.Labels["rproxy"] != "https://shop.example.com?to=8080" || r.Config.Labels["rproxy.note"] != "kept" ||
		r.Config.Labels["com.docker.compose.service"] != Redacted {
		t.Errorf("labels = %v", r.Config.Labels)
	}
	if r.State.Health.Status != "healthy" || r.State.Health.Log != nil || r.Name != "/shop" || r.ID != "4f1c2a" ||
		r.NetworkSettings.Networks["apps"].IPAddress != "172.20.0.5" {
		t.Errorf("redaction dropped what names the container: %+v", r)
	}
	if b, _ := json.Marshal(full()); !strings.Contains(string(b), secret) {
		t.Fatal("the test container holds no secret: the test proves nothing")
	}
}

// TestRedactKeepsWhatRenderingReads: FromInspect (what rendering reads)
// gives the same container from the redacted inspect data as from the full
// one, for every state a container can be in. If FromInspect starts reading
// another field, this fails until Redact keeps it.
func TestRedactKeepsWhatRenderingReads(t *testing.T) {
	variants := map[string]func(*container.InspectResponse){
		"as is":        func(*container.InspectResponse) {},
		"unhealthy":    func(c *container.InspectResponse) { c.State.Health.Status = "unhealthy" },
		"no health":    func(c *container.InspectResponse) { c.State.Health = nil },
		"paused":       func(c *container.InspectResponse) { c.State.Paused = true },
		"restarting":   func(c *container.InspectResponse) { c.State.Restarting = true },
		"no config":    func(c *container.InspectResponse) { c.Config = nil },
		"no networks":  func(c *container.InspectResponse) { c.NetworkSettings = nil },
		"label only":   func(c *container.InspectResponse) { c.Config.Env = []string{"A=b"} },
		"env only":     func(c *container.InspectResponse) { delete(c.Config.Labels, "rproxy") },
		"no state":     func(c *container.InspectResponse) { c.State = nil },
		"bad created":  func(c *container.InspectResponse) { c.Created = "yesterday" },
		"not a ctr":    func(c *container.InspectResponse) { c.ContainerJSONBase = nil },
		"two RPROXY":   func(c *container.InspectResponse) { c.Config.Env = append(c.Config.Env, "RPROXY=tcp://x:1") },
		"no IP on one": func(c *container.InspectResponse) { c.NetworkSettings.Networks["bridge"].IPAddress = "" },
	}
	for name, change := range variants {
		c := full()
		change(&c)
		want, got := FromInspect(c), FromInspect(Redact(c))
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Errorf("%s: from the redacted snapshot\n%+v\nwant\n%+v", name, got, want)
		}
	}
}

// normalize orders a container's networks (FromInspect follows map order).
func normalize(c model.Container) model.Container {
	c.Networks = slices.Clone(c.Networks)
	slices.SortFunc(c.Networks, func(a, b model.Network) int { return strings.Compare(a.Name, b.Name) })
	return c
}

// TestRedactSnapshotSwarm: a Swarm snapshot (testdata/swarm.json, recorded
// from a real Swarm) with a secret planted in every field of services,
// tasks and nodes that commonly holds one: the redacted snapshot holds none
// of them, and reading it gives the same containers as reading the full one.
func TestRedactSnapshotSwarm(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "swarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil || len(snap.Services) == 0 || len(snap.Tasks) == 0 {
		t.Fatalf("swarm.json: %v, %d services, %d tasks", err, len(snap.Services), len(snap.Tasks))
	}
	plant := func(ts *swarm.TaskSpec) {
		if ts.ContainerSpec == nil {
			ts.ContainerSpec = &swarm.ContainerSpec{}
		}
		ts.ContainerSpec.Env = append(ts.ContainerSpec.Env, "DB_PASSWORD="+secret)
		ts.ContainerSpec.Args = append(ts.ContainerSpec.Args, "--token="+secret)
		ts.ContainerSpec.Labels = map[string]string{"auth": secret}
	}
	for i := range snap.Services {
		svc := &snap.Services[i]
		plant(&svc.Spec.TaskTemplate)
		if svc.Spec.Labels == nil {
			svc.Spec.Labels = map[string]string{}
		}
		svc.Spec.Labels["traefik.auth"] = secret
		prev := svc.Spec
		prev.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Env: []string{"OLD_PASSWORD=" + secret}}
		svc.PreviousSpec = &prev
	}
	for i := range snap.Tasks {
		plant(&snap.Tasks[i].Spec)
		snap.Tasks[i].Labels = map[string]string{"t": secret}
	}
	for i := range snap.Nodes {
		snap.Nodes[i].Spec.Labels = map[string]string{"n": secret}
		snap.Nodes[i].Description.Engine.Labels = map[string]string{"e": secret}
	}
	full, _ := json.Marshal(snap)
	redacted, _ := json.Marshal(RedactSnapshot(snap))
	if !strings.Contains(string(full), secret) {
		t.Fatal("the test snapshot holds no secret: the test proves nothing")
	}
	if strings.Contains(string(redacted), secret) {
		t.Errorf("a secret survived redaction")
	}
	fromFull, err := ReadSnapshot(full)
	if err != nil {
		t.Fatal(err)
	}
	fromRedacted, err := ReadSnapshot(redacted)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFull) == 0 {
		t.Fatal("the snapshot gives no containers")
	}
	sortByName := func(cs []model.Container) []model.Container {
		out := make([]model.Container, len(cs))
		for i, c := range cs {
			out[i] = normalize(c)
		}
		slices.SortFunc(out, func(a, b model.Container) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	if !reflect.DeepEqual(sortByName(fromRedacted), sortByName(fromFull)) {
		t.Errorf("the redacted Swarm snapshot reads differently:\n%+v\nwant\n%+v", fromRedacted, fromFull)
	}
}
