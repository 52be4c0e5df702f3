package model

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Version is the version of the Model format this build reads and writes.
const Version = 1

// DefaultStatsAddr is where HAProxy's statistics page listens by default.
const DefaultStatsAddr = ":1"

// Model is the intermediate representation between containers and proxy
// configs. It marshals to YAML and back without loss; Build sorts every list so
// the same input always gives the same bytes.
type Model struct {
	Version int `yaml:"version"`
	// Bind is the address every frontend listens on; empty means all addresses.
	Bind string `yaml:"bind"`
	// Stats is the statistics listener.
	Stats Stats `yaml:"stats"`
	// HTTP holds the http ports in ascending order.
	HTTP []HTTPPort `yaml:"http"`
	// TCP holds the tcp ports in ascending order.
	TCP []TCPPort `yaml:"tcp"`
	// Excluded lists running containers with RPROXY that serve nothing right
	// now (unhealthy, no address), so reviewers see why.
	Excluded []Exclusion `yaml:"excluded,omitempty"`
	// Warnings lists RPROXY entries that were skipped, with the reason.
	Warnings []Warning `yaml:"warnings,omitempty"`
}

// Stats configures the proxy's statistics page.
type Stats struct {
	// Addr is host:port, e.g. ":1" or "127.0.0.1:8404".
	Addr string `yaml:"addr"`
}

// HTTPPort is one http listening port and its routes in precedence order
// (longest host first, then longest path).
type HTTPPort struct {
	Port   int         `yaml:"port"`
	Routes []HTTPRoute `yaml:"routes"`
}

// HTTPRoute is one (host, path) route on a port and the backend serving it.
type HTTPRoute struct {
	Host    string   `yaml:"host"`
	Path    string   `yaml:"path"`
	Backend string   `yaml:"backend"`
	Servers []Server `yaml:"servers"`
}

// TCPPort is one tcp listening port; every tcp entry on it shares one backend.
type TCPPort struct {
	Port    int      `yaml:"port"`
	Backend string   `yaml:"backend"`
	Names   []string `yaml:"names"`
	Servers []Server `yaml:"servers"`
}

// Server is one container serving a backend.
type Server struct {
	// Name is the container name, unique within a backend.
	Name string `yaml:"name"`
	// Container is the short container ID.
	Container string `yaml:"container"`
	Address   string `yaml:"address"`
	Port      int    `yaml:"port"`
}

// Warning records an RPROXY entry that was skipped.
type Warning struct {
	Container string `yaml:"container"`
	Entry     string `yaml:"entry"`
	Reason    string `yaml:"reason"`
}

// String formats the warning for logs: container, entry (quoted) and reason.
func (w Warning) String() string {
	return fmt.Sprintf("container %s: RPROXY entry %q skipped: %s", w.Container, w.Entry, w.Reason)
}

// Exclusion records a container that serves nothing right now.
type Exclusion struct {
	Container string `yaml:"container"`
	Reason    string `yaml:"reason"`
}

// Marshal encodes the model as YAML.
func Marshal(m *Model) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes a YAML model, rejecting unknown fields, and validates it
// after Normalize fills in what may be left out (backend names, order), so a hand-written model cannot inject text into a config.
func Unmarshal(data []byte) (*Model, error) {
	var m Model
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	m.Normalize()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}
