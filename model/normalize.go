package model

import (
	"sort"
	"strconv"
)

// Normalize puts the model in canonical form: a version 1 model becomes the
// current version; ports ascending; routes and redirects in precedence order;
// servers, names and certificate files sorted; empty paths and backend names
// filled in; duplicate server names of distinct servers made unique (when
// they carry a container ID); Certificates.Uncovered recomputed; empty lists
// made nil. Build calls it; call it after editing a model by hand. It is
// idempotent.
func (m *Model) Normalize() {
	if m.Version == 1 {
		m.Version = Version
	}
	m.HTTP = normalizeHTTPPorts(m.HTTP, HTTPBackendName)
	m.HTTPS = normalizeHTTPPorts(m.HTTPS, HTTPSBackendName)

	sort.SliceStable(m.TLS, func(i, j int) bool { return m.TLS[i].Port < m.TLS[j].Port })
	for i := range m.TLS {
		p := &m.TLS[i]
		sort.SliceStable(p.Routes, func(a, b int) bool { return hostBefore(p.Routes[a].Host, p.Routes[b].Host) })
		for j := range p.Routes {
			r := &p.Routes[j]
			if r.Backend == "" {
				r.Backend = TLSBackendName(p.Port, r.Host)
			}
			r.Servers = normalizeServers(r.Servers)
		}
		p.Routes = nilIfEmpty(p.Routes)
	}
	m.TLS = nilIfEmpty(m.TLS)

	sort.SliceStable(m.TCP, func(i, j int) bool { return m.TCP[i].Port < m.TCP[j].Port })
	for i := range m.TCP {
		p := &m.TCP[i]
		if p.Backend == "" {
			p.Backend = TCPBackendName(p.Port)
		}
		sort.Strings(p.Names)
		p.Names = nilIfEmpty(dedupSorted(p.Names))
		p.Servers = normalizeServers(p.Servers)
	}
	m.TCP = nilIfEmpty(m.TCP)

	if m.Certificates != nil {
		m.Certificates.normalize(m.HTTPS)
	}
	sort.SliceStable(m.Excluded, func(i, j int) bool {
		a, b := m.Excluded[i], m.Excluded[j]
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		return a.Reason < b.Reason
	})
	m.Excluded = nilIfEmpty(m.Excluded)
	sort.SliceStable(m.Warnings, func(i, j int) bool {
		a, b := m.Warnings[i], m.Warnings[j]
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		if a.Entry != b.Entry {
			return a.Entry < b.Entry
		}
		return a.Reason < b.Reason
	})
	m.Warnings = nilIfEmpty(m.Warnings)
}

// normalizeHTTPPorts sorts http or https ports, their routes and redirects,
// and fills paths and backend names (name makes a route's backend name).
func normalizeHTTPPorts(ports []HTTPPort, name func(port int, host, path string) string) []HTTPPort {
	sort.SliceStable(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
	for i := range ports {
		hp := &ports[i]
		for j := range hp.Routes {
			if hp.Routes[j].Path == "" {
				hp.Routes[j].Path = "/"
			}
		}
		sort.SliceStable(hp.Routes, func(a, b int) bool {
			return routeBefore(hp.Routes[a].Host, hp.Routes[a].Path, hp.Routes[b].Host, hp.Routes[b].Path)
		})
		for j := range hp.Routes {
			r := &hp.Routes[j]
			if r.Backend == "" {
				r.Backend = name(hp.Port, r.Host, r.Path)
			}
			r.Servers = normalizeServers(r.Servers)
		}
		hp.Routes = nilIfEmpty(hp.Routes)
		for j := range hp.Redirects {
			r := &hp.Redirects[j]
			if r.Path == "" {
				r.Path = "/"
			}
			if r.Backend == "" {
				r.Backend = RedirectBackendName(r.To)
			}
		}
		sort.SliceStable(hp.Redirects, func(a, b int) bool {
			x, y := hp.Redirects[a], hp.Redirects[b]
			if x.Host != y.Host || x.Path != y.Path {
				return routeBefore(x.Host, x.Path, y.Host, y.Path)
			}
			return x.To < y.To
		})
		hp.Redirects = nilIfEmpty(hp.Redirects)
	}
	return nilIfEmpty(ports)
}

// hostBefore is the host precedence order: longer host first, then
// alphabetical for stability.
func hostBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a < b
}

// routeBefore is the route precedence order: longer host first, then longer
// path, then alphabetical for stability.
func routeBefore(hostA, pathA, hostB, pathB string) bool {
	if hostA != hostB {
		return hostBefore(hostA, hostB)
	}
	if len(pathA) != len(pathB) {
		return len(pathA) > len(pathB)
	}
	return pathA < pathB
}

// normalizeServers sorts servers and renames a server whose name is already
// taken by another one of the list to NAME-CONTAINER (then NAME-CONTAINER-2,
// -3, ...), bounded to MaxServerName. Servers without a container ID keep
// their name: Validate reports the duplicate.
func normalizeServers(s []Server) []Server {
	less := func(i, j int) bool {
		a, b := s[i], s[j]
		switch {
		case a.Name != b.Name:
			return a.Name < b.Name
		case a.Container != b.Container:
			return a.Container < b.Container
		case a.Address != b.Address:
			return a.Address < b.Address
		}
		return a.Port < b.Port
	}
	sort.SliceStable(s, less)
	seen := make(map[string]bool, len(s))
	renamed := false
	for i := range s {
		if !seen[s[i].Name] || s[i].Container == "" {
			seen[s[i].Name] = true
			continue
		}
		base := s[i].Name + "-" + s[i].Container
		name := shorten(base, MaxServerName)
		for n := 2; seen[name]; n++ {
			name = shorten(base+"-"+strconv.Itoa(n), MaxServerName)
		}
		s[i].Name = name
		seen[name] = true
		renamed = true
	}
	if renamed {
		sort.SliceStable(s, less)
	}
	return nilIfEmpty(s)
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

// nilIfEmpty makes an empty list nil, so that a model read back from YAML
// ("[]") equals the model it was written from.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
