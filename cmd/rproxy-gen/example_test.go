package main

import (
	"os"
	"regexp"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rproxy-gen/rproxy-gen/config"
)

// composeDefault replaces Compose's ${VAR:-default} with its default.
var composeDefault = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)

// TestComposeExample keeps examples/compose.yaml honest: the command it
// gives the sidecar must parse with this binary's flags and values, and it
// must check in, signal and confirm through the haproxy container it
// defines. (e2e/compose_test.go runs it with docker-compose.)
func TestComposeExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = composeDefault.ReplaceAll(data, []byte("$1"))
	var compose struct {
		Name     string `yaml:"name"`
		Services map[string]struct {
			Image         string   `yaml:"image"`
			Command       []string `yaml:"command"`
			Entrypoint    []string `yaml:"entrypoint"`
			ContainerName string   `yaml:"container_name"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	if compose.Name != "" {
		t.Error("a top-level name: is refused by Compose v1 (docker-compose 1.29)")
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
	if msg := config.SignalWarning(get("notify-signal")); msg != "" {
		t.Errorf("--notify-signal: %s", msg)
	}
	want := compose.Services["haproxy"].ContainerName
	if want == "" || get("notify-container") != "["+want+"]" || get("check-container") != want {
		t.Errorf("--notify-container %s and --check-container %q do not name the haproxy container %q",
			get("notify-container"), get("check-container"), want)
	}
	ep := compose.Services["haproxy"].Entrypoint
	if len(ep) < 5 || ep[len(ep)-2] != "-S" || !regexp.MustCompile("^"+regexp.QuoteMeta(get("haproxy-master-socket"))+",").MatchString(ep[len(ep)-1]) {
		t.Errorf("haproxy's -S %v is not the --haproxy-master-socket %s", ep, get("haproxy-master-socket"))
	}
}
