package snapgen

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// TestSnapshot: generated objects decode as containers with distinct IDs,
// names and addresses, the RPROXY value of their number, and the rest of
// the fixture unchanged.
func TestSnapshot(t *testing.T) {
	fixture, err := os.ReadFile("../../" + FixturePath)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(fixture)
	if err != nil {
		t.Fatal(err)
	}
	data := g.Snapshot(20)
	var cs []container.InspectResponse
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatalf("snapshot does not decode: %v", err)
	}
	var orig []container.InspectResponse
	json.Unmarshal(fixture, &orig)
	seen := map[string]bool{}
	for i, c := range cs {
		ips := ""
		for _, ep := range c.NetworkSettings.Networks {
			ips += ep.IPAddress + " "
		}
		for _, v := range []string{c.ID, c.Name, ips} {
			if seen[v] {
				t.Errorf("object %d repeats %q", i, v)
			}
			seen[v] = true
		}
		if !strings.HasPrefix(c.Name, "/app") || c.Config.Hostname != c.ID[:12] {
			t.Errorf("object %d: name %q, hostname %q", i, c.Name, c.Config.Hostname)
		}
		if got := c.Config.Env[0]; got != "RPROXY="+RProxy(i) || c.Config.Labels["rproxy"] != RProxy(i) {
			t.Errorf("object %d: %q, label %q; want RPROXY=%s", i, got, c.Config.Labels["rproxy"], RProxy(i))
		}
		if c.State.Health.Status != orig[0].State.Health.Status || len(c.Mounts) != len(orig[0].Mounts) ||
			c.HostConfig.RestartPolicy != orig[0].HostConfig.RestartPolicy {
			t.Errorf("object %d lost parts of the fixture", i)
		}
	}
	if len(data) < 20*len(fixture)*9/10 {
		t.Errorf("20 objects take %d bytes, the fixture alone %d", len(data), len(fixture))
	}
}
