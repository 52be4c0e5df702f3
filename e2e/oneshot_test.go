package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

// TestOneShotEqualsSnapshot: rendering live from Docker gives the same bytes
// as rendering the docker-inspect JSON of the same containers, and the same
// as rendering what `rproxy-gen snapshot` saved.
func TestOneShotEqualsSnapshot(t *testing.T) {
	cli := setup(t)
	var cs []dockertest.Container
	for name, rproxy := range map[string]string{
		"shop":  "http://shop.example.com,http://shop.example.com:8080/api",
		"shop2": "http://shop.example.com",
		"irc":   "tcp://znc:6667,tcp://znc:6697",
		"typo":  "htp://typo.example.com,http://fine.example.com/ok",
	} {
		cs = append(cs, dockertest.Run(t, cli, dockertest.RunOptions{Name: name, Env: []string{"RPROXY=" + rproxy}}))
	}
	render := func(args ...string) string {
		out := filepath.Join(t.TempDir(), "haproxy.cfg") // same base name: same map file names
		oneShot(t, nil, append(args, "-o", out)...)
		var all []string
		for _, f := range []string{"haproxy.cfg", "haproxy.http.map", "haproxy.tcp.map"} {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(out), f))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, string(b))
		}
		return strings.Join(all, "\n---\n")
	}

	live := render()
	for _, c := range cs {
		if !strings.Contains(live, "server "+c.Name+" ") {
			t.Errorf("live render lacks container %s:\n%s", c.Name, live)
		}
	}

	// The docker-inspect JSON of every running container, as
	// `docker inspect $(docker ps -q)` prints it.
	ctx := context.Background()
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	for _, c := range list {
		_, raw, err := cli.ContainerInspectWithRaw(ctx, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	inspect, _ := json.Marshal(raws)
	snap := filepath.Join(t.TempDir(), "inspect.json")
	os.WriteFile(snap, inspect, 0o644)
	if fromInspect := render("--from", snap); fromInspect != live {
		t.Errorf("render of docker-inspect JSON differs from the live render:\n%s\n=== live ===\n%s", fromInspect, live)
	}

	saved := oneShot(t, nil, "snapshot")
	if !json.Valid([]byte(saved)) || !bytes.HasPrefix([]byte(saved), []byte("[")) {
		t.Fatalf("snapshot is not a JSON array:\n%.300s", saved)
	}
	snap2 := filepath.Join(t.TempDir(), "snapshot.json")
	os.WriteFile(snap2, []byte(saved), 0o644)
	if fromSnapshot := render("--from", snap2); fromSnapshot != live {
		t.Errorf("render of `rproxy-gen snapshot` differs from the live render")
	}
}
