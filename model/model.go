package model

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Version is the version of the Model format this build writes. Version 2
// added https, tls, redirects, certificates and container ports that differ
// from listening ports; Unmarshal still reads version 1 and upgrades it.
const Version = 2

// DefaultMaxFiles is the open-files limit a model assumes for the proxy when
// MaxFiles is 0; MinMaxFiles is the least MaxFiles may be.
const (
	DefaultMaxFiles = 20000
	MinMaxFiles     = 1024
)

// DefaultStatsAddr is where HAProxy's statistics page listens when neither a
// stats address nor a bind address is given.
const DefaultStatsAddr = ":1"

// Model is the intermediate representation between containers and proxy
// configs. It marshals to YAML and back without loss; Build sorts every list so
// the same input always gives the same bytes.
//
// Every value a template may print (ports, hosts, paths, backend and server
// names, addresses, certificate file names and names) is checked by
// Validate; Warnings and Excluded hold free text and must not be printed raw.
type Model struct {
	Version int `yaml:"version"`
	// Bind is the address every frontend listens on; empty means all addresses.
	Bind string `yaml:"bind"`
	// Stats is the statistics listener.
	Stats Stats `yaml:"stats"`
	// MaxFiles is the open-files limit (ulimit -n) of the proxy process the
	// config is for; 0 means DefaultMaxFiles. The built-in HAProxy template
	// sizes maxconn and its active health checks to fit in it.
	MaxFiles int `yaml:"max_files,omitempty"`
	// HTTP holds the plain http ports in ascending order, with their routes
	// and their redirects to https.
	HTTP []HTTPPort `yaml:"http"`
	// HTTPS holds the ports where the proxy terminates TLS (with
	// Certificates) and then routes like http, in ascending order. They never
	// have redirects.
	HTTPS []HTTPPort `yaml:"https"`
	// TLS holds the ports where TLS passes through by SNI, in ascending order.
	// A port may be both in HTTPS and in TLS: a ClientHello whose SNI is
	// routed to a tls route passes through, any other is terminated (see
	// TLSPort for the precedence).
	TLS []TLSPort `yaml:"tls"`
	// TCP holds the tcp ports in ascending order.
	TCP []TCPPort `yaml:"tcp"`
	// Certificates describes the certificates https is served with; nil
	// when no certificate directory was given (then HTTPS is empty).
	Certificates *Certificates `yaml:"certificates,omitempty"`
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

// HTTPPort is one http or https listening port and its routes in precedence
// order (longest host first, then longest path).
type HTTPPort struct {
	Port   int         `yaml:"port"`
	Routes []HTTPRoute `yaml:"routes"`
	// Redirects (plain http ports only) answer 301 to https for their host
	// suffix and path prefix. They share the port's lookup with Routes and
	// the same precedence (longest host, then longest path); a route with the
	// same host and path takes the place of a redirect, so the model never
	// holds both. Ordered like Routes.
	Redirects []Redirect `yaml:"redirects,omitempty"`
}

// HTTPRoute is one (host, path) route on a port and the backend serving it.
type HTTPRoute struct {
	Host    string   `yaml:"host"`
	Path    string   `yaml:"path"`
	Backend string   `yaml:"backend"`
	Servers []Server `yaml:"servers"`
}

// Redirect is a (host, path) on a plain http port that answers 301 with the
// same URL (path and query kept) over https on port To; the https URL names
// the port only when To is not 443.
type Redirect struct {
	Host string `yaml:"host"`
	Path string `yaml:"path"`
	// Backend is the synthetic backend that sends the redirect,
	// RedirectBackendName(To); every redirect to one https port shares it.
	Backend string `yaml:"backend"`
	// To is the https port; it is always one of Model.HTTPS.
	To int `yaml:"to"`
}

// TLSPort is one port where TLS passes through, routed by SNI.
//
// Routes are in precedence order (longest host first). A ClientHello's SNI
// matches a route whose host is the SNI or a suffix of it on a label
// boundary. On a port that also terminates https, the longest host among
// the tls routes and the https routes' hosts decides: a tls route passes the
// connection through, an https host (or no match) terminates it. The same
// host is never both.
type TLSPort struct {
	Port   int        `yaml:"port"`
	Routes []TLSRoute `yaml:"routes"`
}

// TLSRoute is one SNI host suffix on a tls port and the backend it passes
// through to.
type TLSRoute struct {
	Host    string   `yaml:"host"`
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
	// Name is the container name (or its short ID), unique within a backend.
	Name string `yaml:"name"`
	// Container is the short container ID.
	Container string `yaml:"container"`
	// Address is the container's IP address (never with an IPv6 zone).
	Address string `yaml:"address"`
	// Port is the container's port (option to=), which may differ from the
	// port the proxy listens on.
	Port int `yaml:"port"`
	// Healthcheck says the container has a health check of its own
	// (Docker's): it is only in the model while the check passes, so the
	// proxy need not check it too.
	Healthcheck bool `yaml:"healthcheck,omitempty"`
}

// Warning records an RPROXY entry that was skipped.
type Warning struct {
	Container string `yaml:"container"`
	Entry     string `yaml:"entry"`
	Reason    string `yaml:"reason"`
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

// Unmarshal decodes a YAML model, rejecting unknown fields, upgrades a
// version 1 model to the current version, and validates it after Normalize
// fills in what may be left out (backend names, order, uncovered hosts), so
// a hand-written model cannot inject text into a config.
func Unmarshal(data []byte) (*Model, error) {
	var m Model
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	if m.Version == 1 && m.hasVersion2Fields() {
		return nil, fmt.Errorf("model version 1 cannot have https, tls, redirects or certificates: write version: %d", Version)
	}
	m.Normalize()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// hasVersion2Fields reports whether m uses anything version 1 did not have.
func (m *Model) hasVersion2Fields() bool {
	if len(m.HTTPS) > 0 || len(m.TLS) > 0 || m.Certificates != nil {
		return true
	}
	for _, p := range m.HTTP {
		if len(p.Redirects) > 0 {
			return true
		}
	}
	return false
}
