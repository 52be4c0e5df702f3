package model

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// Normalize puts the model in canonical form: ports ascending, routes in
// precedence order, servers and names sorted, empty backend names filled in,
// duplicate server names made unique. Build calls it; call it after editing a
// model by hand.
func (m *Model) Normalize() {
	sort.Slice(m.HTTP, func(i, j int) bool { return m.HTTP[i].Port < m.HTTP[j].Port })
	for i := range m.HTTP {
		hp := &m.HTTP[i]
		sort.Slice(hp.Routes, func(a, b int) bool { return routeBefore(hp.Routes[a], hp.Routes[b]) })
		for j := range hp.Routes {
			r := &hp.Routes[j]
			if r.Path == "" {
				r.Path = "/"
			}
			if r.Backend == "" {
				r.Backend = HTTPBackendName(hp.Port, r.Host, r.Path)
			}
			r.Servers = normalizeServers(r.Servers)
		}
	}
	sort.Slice(m.TCP, func(i, j int) bool { return m.TCP[i].Port < m.TCP[j].Port })
	for i := range m.TCP {
		p := &m.TCP[i]
		if p.Backend == "" {
			p.Backend = TCPBackendName(p.Port)
		}
		sort.Strings(p.Names)
		p.Names = dedupSorted(p.Names)
		p.Servers = normalizeServers(p.Servers)
	}
	sort.SliceStable(m.Excluded, func(i, j int) bool { return m.Excluded[i].Container < m.Excluded[j].Container })
	sort.SliceStable(m.Warnings, func(i, j int) bool {
		a, b := m.Warnings[i], m.Warnings[j]
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		return a.Entry < b.Entry
	})
}

// routeBefore is the precedence order: longer host first, then longer path,
// then alphabetical for stability.
func routeBefore(a, b HTTPRoute) bool {
	if len(a.Host) != len(b.Host) {
		return len(a.Host) > len(b.Host)
	}
	if a.Host != b.Host {
		return a.Host < b.Host
	}
	if len(a.Path) != len(b.Path) {
		return len(a.Path) > len(b.Path)
	}
	return a.Path < b.Path
}

func normalizeServers(s []Server) []Server {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Name != s[j].Name {
			return s[i].Name < s[j].Name
		}
		return s[i].Container < s[j].Container
	})
	seen := map[string]bool{}
	for i := range s {
		if seen[s[i].Name] && s[i].Container != "" {
			s[i].Name = s[i].Name + "-" + s[i].Container
		}
		seen[s[i].Name] = true
	}
	return s
}

func dedupSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// HTTPBackendName is the stable backend name of an http route:
// http_PORT_HOST, plus a readable form of the path and a short hash when the
// path is not "/" (the hash keeps "/a-b" and "/a/b" apart).
func HTTPBackendName(port int, host, path string) string {
	name := fmt.Sprintf("http_%d_%s", port, host)
	if path == "/" {
		return name
	}
	var b strings.Builder
	for _, c := range strings.Trim(path, "/") {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	readable := b.String()
	if len(readable) > 40 {
		readable = readable[:40]
	}
	h := fnv.New32a()
	h.Write([]byte(path))
	return fmt.Sprintf("%s_%s_%08x", name, readable, h.Sum32())
}

// TCPBackendName is the backend name of a tcp port.
func TCPBackendName(port int) string { return fmt.Sprintf("tcp_%d", port) }

// ValidateIdent checks a name used as a proxy identifier (backend, server):
// letters, digits, '-', '_', '.', ':' only, 1–200 characters, not starting
// with a punctuation character.
func ValidateIdent(s string) error {
	if s == "" || len(s) > 200 {
		return fmt.Errorf("identifier %q must be 1-200 characters", truncate(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && strings.IndexByte("-_.:", c) >= 0:
		default:
			return fmt.Errorf("identifier %q: character %q not allowed", truncate(s), string(c))
		}
	}
	return nil
}

// Validate checks everything a template may print, so that no value, whether
// built from containers or written by hand, can inject text into a config.
// Warnings and Excluded are free text and must not be printed raw by templates.
func (m *Model) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if m.Version != Version {
		add("model version %d not supported (want %d)", m.Version, Version)
	}
	if m.Bind != "" {
		if _, err := netip.ParseAddr(m.Bind); err != nil {
			add("bind %q: not an IP address", m.Bind)
		}
	}
	if err := ValidateListenAddr(m.Stats.Addr); err != nil {
		add("stats addr: %v", err)
	}
	statsPort := addrPort(m.Stats.Addr)
	ports := map[int]string{}
	backends := map[string]bool{}
	claim := func(port int, what string) {
		if port < 1 || port > 65535 {
			add("%s: port %d out of range 1-65535", what, port)
		}
		if port == statsPort {
			add("%s: port %d is the statistics port", what, port)
		}
		if prev, ok := ports[port]; ok {
			add("%s: port %d already used by %s", what, port, prev)
		}
		ports[port] = what
	}
	backend := func(name string) {
		if err := ValidateIdent(name); err != nil {
			add("backend: %v", err)
		}
		if backends[name] {
			add("backend %q defined twice", name)
		}
		backends[name] = true
	}
	for _, hp := range m.HTTP {
		claim(hp.Port, "http port")
		for _, r := range hp.Routes {
			if h, err := NormalizeHost(r.Host); err != nil || h != r.Host {
				add("http port %d: host %q must be a lowercase RFC 1123 name", hp.Port, truncate(r.Host))
			}
			if err := ValidatePath(r.Path); err != nil {
				add("http port %d host %s: %v", hp.Port, r.Host, err)
			}
			backend(r.Backend)
			validateServers(r.Backend, r.Servers, add)
		}
	}
	for _, p := range m.TCP {
		claim(p.Port, "tcp port")
		backend(p.Backend)
		for _, n := range p.Names {
			if h, err := NormalizeHost(n); err != nil || h != n {
				add("tcp port %d: name %q must be a lowercase RFC 1123 name", p.Port, truncate(n))
			}
		}
		validateServers(p.Backend, p.Servers, add)
	}
	return errors.Join(errs...)
}

func validateServers(backend string, servers []Server, add func(string, ...any)) {
	names := map[string]bool{}
	for _, s := range servers {
		if err := ValidateIdent(s.Name); err != nil {
			add("backend %s: server: %v", backend, err)
		}
		if names[s.Name] {
			add("backend %s: server %q listed twice", backend, s.Name)
		}
		names[s.Name] = true
		if s.Container != "" && ValidateIdent(s.Container) != nil {
			add("backend %s: server %s: bad container id %q", backend, s.Name, truncate(s.Container))
		}
		if _, err := netip.ParseAddr(s.Address); err != nil {
			add("backend %s: server %s: address %q is not an IP", backend, s.Name, truncate(s.Address))
		}
		if s.Port < 1 || s.Port > 65535 {
			add("backend %s: server %s: port %d out of range", backend, s.Name, s.Port)
		}
	}
}

// ValidateListenAddr checks a listen address of the form [IP]:PORT.
func ValidateListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want [IP]:PORT: %w", addr, err)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q: host must be an IP address or empty", addr)
		}
	}
	if _, err := ParsePort(port); err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	return nil
}
