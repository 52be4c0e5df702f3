package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rproxy-gen/rproxy-gen/config"
)

// TestSwarmStackExample keeps examples/swarm-stack.yaml honest: the command
// it gives rproxy-gen must parse with this binary's flags and values; both
// services must be pinned to managers; HAProxy must be on the network
// rproxy-gen takes addresses from and read the directory rproxy-gen writes;
// and --notify-container must name the haproxy service as the documented
// `docker stack deploy ... proxy` names it.
func TestSwarmStackExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/swarm-stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Command  []string `yaml:"command"`
		Volumes  []string `yaml:"volumes"`
		Networks []string `yaml:"networks"`
		Deploy   struct {
			Mode      string `yaml:"mode"`
			Placement struct {
				Constraints []string `yaml:"constraints"`
			} `yaml:"placement"`
		} `yaml:"deploy"`
	}
	var stack struct {
		Services map[string]service `yaml:"services"`
		Networks map[string]struct {
			Name       string `yaml:"name"`
			Driver     string `yaml:"driver"`
			Attachable bool   `yaml:"attachable"`
		} `yaml:"networks"`
	}
	if err := yaml.Unmarshal(data, &stack); err != nil {
		t.Fatal(err)
	}
	rpg, ok := stack.Services["rproxy-gen"]
	hp, ok2 := stack.Services["haproxy"]
	if !ok || !ok2 || len(rpg.Command) == 0 {
		t.Fatal("want services rproxy-gen (with a command) and haproxy")
	}
	root := newRootCmd()
	if err := root.ParseFlags(rpg.Command); err != nil {
		t.Fatalf("stack command %v: %v", rpg.Command, err)
	}
	get := func(name string) string { return root.Flags().Lookup(name).Value.String() }
	if get("watch") != "true" || get("swarm") != "true" || get("output") == "" {
		t.Errorf("rproxy-gen should watch the Swarm and write a file: %v", rpg.Command)
	}
	for _, name := range []string{"wait", "resync", "notify-signal"} {
		if err := root.Flags().Set(name, get(name)); err != nil {
			t.Errorf("--%s %q: %v", name, get(name), err)
		}
	}
	if _, err := config.ParseSignal(get("notify-signal")); err != nil {
		t.Errorf("--notify-signal: %v", err)
	}
	for name, svc := range map[string]service{"rproxy-gen": rpg, "haproxy": hp} {
		if !slices.Contains(svc.Deploy.Placement.Constraints, "node.role == manager") {
			t.Errorf("%s is not pinned to managers: %v", name, svc.Deploy.Placement.Constraints)
		}
	}
	if !strings.Contains(string(data), "docker stack deploy -c examples/swarm-stack.yaml proxy") || get("notify-container") != "[proxy_haproxy]" { // a list: --notify-container is repeatable
		t.Errorf("--notify-container %q does not name the haproxy service of the stack deployed as documented", get("notify-container"))
	}
	// HAProxy is on the overlay network rproxy-gen takes task addresses on.
	var netKey string
	for key, n := range stack.Networks {
		if n.Name == get("network") && n.Driver == "overlay" && n.Attachable {
			netKey = key
		}
	}
	if netKey == "" || !slices.Contains(hp.Networks, netKey) {
		t.Errorf("--network %q is not an attachable overlay network of the stack that haproxy joins", get("network"))
	}
	// HAProxy reads the directory rproxy-gen writes, from the same volume.
	dir := filepath.Dir(get("output"))
	mount := func(svc service) string {
		for _, v := range svc.Volumes {
			if src, dst, ok := strings.Cut(v, ":"); ok && strings.TrimSuffix(dst, ":ro") == dir {
				return src
			}
		}
		return ""
	}
	if src := mount(rpg); src == "" || mount(hp) != src || strings.HasPrefix(src, "/") {
		t.Errorf("rproxy-gen's output directory %s is not a named volume shared with haproxy", dir)
	}
}
