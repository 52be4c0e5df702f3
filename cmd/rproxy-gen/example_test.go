package main

import (
	"os"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rproxy-gen/rproxy-gen/config"
)

// TestComposeExample keeps examples/compose.yaml honest: the command it
// gives the sidecar must parse with this binary's flags and values, and it
// must signal the haproxy container it defines.
func TestComposeExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image         string   `yaml:"image"`
			Command       []string `yaml:"command"`
			ContainerName string   `yaml:"container_name"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	sidecar, ok := compose.Services["rproxy-gen"]
	if !ok || len(sidecar.Command) == 0 {
		t.Fatal("no rproxy-gen service with a command")
	}
	root := newRootCmd()
	if err := root.ParseFlags(sidecar.Command); err != nil {
		t.Fatalf("compose command %v: %v", sidecar.Command, err)
	}
	get := func(name string) string { return root.Flags().Lookup(name).Value.String() }
	if get("watch") != "true" || get("output") == "" {
		t.Errorf("the sidecar should watch and write a file: %v", sidecar.Command)
	}
	if _, _, err := config.ParseWait(get("wait")); err != nil {
		t.Errorf("--wait: %v", err)
	}
	if _, err := config.ParseSignal(get("notify-signal")); err != nil {
		t.Errorf("--notify-signal: %v", err)
	}
	if want := compose.Services["haproxy"].ContainerName; want == "" || get("notify-container") != want {
		t.Errorf("--notify-container %q does not name the haproxy container %q", get("notify-container"), want)
	}
}
