package model

import (
	"errors"
	"fmt"
	"strconv"
)

// Validate checks everything a template may print, so that no value, whether
// built from containers or written by hand, can inject text into a config,
// and that the model is coherent: ports in range, each used for one kind
// (http, tcp, or https and tls together) and never the statistics port;
// hosts, paths and names canonical and safe; backend names unique; server
// names unique in their backend; addresses plain IPs without zone; redirects
// pointing at https ports and never shadowing a route; https backed by
// certificates. Warnings and Excluded are free text and must not be printed
// raw by templates.
func (m *Model) Validate() error {
	v := &validator{
		ports:    map[int]string{},
		backends: map[string]string{},
	}
	if m.Version != Version {
		v.add("model version %d not supported (want %d; Unmarshal also reads version 1)", m.Version, Version)
	}
	if m.Bind != "" {
		if _, err := ParseAddr(m.Bind); err != nil {
			v.add("bind: %v", err)
		}
	}
	if err := ValidateListenAddr(m.Stats.Addr); err != nil {
		v.add("stats addr: %v", err)
	}
	if err := validateMaxFiles(m.MaxFiles); err != nil {
		v.add("%v", err)
	}
	v.statsPort = addrPort(m.Stats.Addr)

	httpsPorts := map[int]bool{}
	httpsHosts := map[[2]string]bool{}
	for _, p := range m.HTTPS {
		httpsPorts[p.Port] = true
		for _, r := range p.Routes {
			httpsHosts[[2]string{strconv.Itoa(p.Port), r.Host}] = true
		}
	}
	v.httpPorts(HTTP, m.HTTP, httpsPorts)
	v.httpPorts(HTTPS, m.HTTPS, nil)
	if len(m.HTTPS) > 0 && (m.Certificates == nil || len(m.Certificates.Files) == 0) {
		v.add("https ports need certificates (certificates.files is empty)")
	}
	seenTLS := map[int]bool{}
	for _, p := range m.TLS {
		if seenTLS[p.Port] {
			v.add("tls port %d listed twice", p.Port)
		}
		seenTLS[p.Port] = true
		v.claim(p.Port, "https/tls", "tls port")
		hosts := map[string]bool{}
		for _, r := range p.Routes {
			if !validHost(r.Host) {
				v.add("tls port %d: host %q must be a lowercase RFC 1123 name", p.Port, truncate(r.Host))
			}
			if hosts[r.Host] {
				v.add("tls port %d: host %s listed twice", p.Port, r.Host)
			}
			hosts[r.Host] = true
			if httpsHosts[[2]string{strconv.Itoa(p.Port), r.Host}] {
				v.add("port %d: host %s is both passed through (tls) and terminated (https)", p.Port, r.Host)
			}
			v.backend(r.Backend, "tls route")
			v.servers(r.Backend, r.Servers)
		}
	}
	seenTCP := map[int]bool{}
	for _, p := range m.TCP {
		if seenTCP[p.Port] {
			v.add("tcp port %d listed twice", p.Port)
		}
		seenTCP[p.Port] = true
		v.claim(p.Port, "tcp", "tcp port")
		v.backend(p.Backend, "tcp port")
		for _, n := range p.Names {
			if !validHost(n) {
				v.add("tcp port %d: name %q must be a lowercase RFC 1123 name", p.Port, truncate(n))
			}
		}
		v.servers(p.Backend, p.Servers)
	}
	// Redirect backends are shared by every redirect to one https port, so
	// they are checked apart from route backends, after them.
	redirectTo := map[string]int{}
	for _, p := range m.HTTP {
		for _, r := range p.Redirects {
			if err := ValidateIdent(r.Backend); err != nil {
				v.add("http port %d: redirect backend: %v", p.Port, err)
			}
			if what, ok := v.backends[r.Backend]; ok {
				v.add("redirect backend %q is also the backend of a %s", r.Backend, what)
			}
			if to, ok := redirectTo[r.Backend]; ok && to != r.To {
				v.add("redirect backend %q redirects to https ports %d and %d", r.Backend, to, r.To)
			}
			redirectTo[r.Backend] = r.To
		}
	}
	if m.Certificates != nil {
		if err := m.Certificates.Validate(); err != nil {
			v.add("%v", err)
		}
	}
	return errors.Join(v.errs...)
}

// validator collects Validate's errors and what it has seen so far.
type validator struct {
	errs      []error
	statsPort int
	ports     map[int]string    // port -> kind ("http", "tcp", "https/tls")
	backends  map[string]string // route backend -> what defines it
}

func (v *validator) add(format string, a ...any) { v.errs = append(v.errs, fmt.Errorf(format, a...)) }

// claim records that port is used for kind; what names the claimant.
func (v *validator) claim(port int, kind, what string) {
	if port < 1 || port > 65535 {
		v.add("%s: port %d out of range 1-65535", what, port)
	}
	if port == v.statsPort {
		v.add("%s: port %d is the statistics port", what, port)
	}
	if prev, ok := v.ports[port]; ok && prev != kind {
		v.add("%s: port %d already used for %s", what, port, prev)
	}
	v.ports[port] = kind
}

func (v *validator) backend(name, what string) {
	if err := ValidateIdent(name); err != nil {
		v.add("backend: %v", err)
	}
	if _, ok := v.backends[name]; ok {
		v.add("backend %q defined twice", truncate(name))
	}
	v.backends[name] = what
}

// httpPorts checks http (scheme HTTP, with redirects to httpsPorts) or https
// ports.
func (v *validator) httpPorts(scheme Scheme, ports []HTTPPort, httpsPorts map[int]bool) {
	kind := "http"
	if scheme == HTTPS {
		kind = "https/tls"
	}
	seen := map[int]bool{}
	for _, hp := range ports {
		if seen[hp.Port] {
			v.add("%s port %d listed twice", scheme, hp.Port)
		}
		seen[hp.Port] = true
		v.claim(hp.Port, kind, string(scheme)+" port")
		routes := map[[2]string]bool{}
		for _, r := range hp.Routes {
			if !validHost(r.Host) {
				v.add("%s port %d: host %q must be a lowercase RFC 1123 name", scheme, hp.Port, truncate(r.Host))
			}
			if err := ValidatePath(r.Path); err != nil {
				v.add("%s port %d host %s: %v", scheme, hp.Port, truncate(r.Host), err)
			}
			if routes[[2]string{r.Host, r.Path}] {
				v.add("%s port %d: route %s%s listed twice", scheme, hp.Port, truncate(r.Host), truncate(r.Path))
			}
			routes[[2]string{r.Host, r.Path}] = true
			v.backend(r.Backend, string(scheme)+" route")
			v.servers(r.Backend, r.Servers)
		}
		if scheme == HTTPS && len(hp.Redirects) > 0 {
			v.add("https port %d: redirects belong on plain http ports", hp.Port)
			continue
		}
		redirects := map[[2]string]bool{}
		for _, r := range hp.Redirects {
			if !validHost(r.Host) {
				v.add("http port %d: redirect host %q must be a lowercase RFC 1123 name", hp.Port, truncate(r.Host))
			}
			if err := ValidatePath(r.Path); err != nil {
				v.add("http port %d: redirect of %s: %v", hp.Port, truncate(r.Host), err)
			}
			key := [2]string{r.Host, r.Path}
			if routes[key] {
				v.add("http port %d: %s%s is both a route and a redirect", hp.Port, truncate(r.Host), truncate(r.Path))
			}
			if redirects[key] {
				v.add("http port %d: redirect of %s%s listed twice", hp.Port, truncate(r.Host), truncate(r.Path))
			}
			redirects[key] = true
			if !httpsPorts[r.To] {
				v.add("http port %d: redirect of %s%s to %d, which is not an https port", hp.Port, truncate(r.Host), truncate(r.Path), r.To)
			}
		}
	}
}

func (v *validator) servers(backend string, servers []Server) {
	names := map[string]bool{}
	for _, s := range servers {
		if err := ValidateIdent(s.Name); err != nil {
			v.add("backend %s: server: %v", truncate(backend), err)
		}
		if names[s.Name] {
			v.add("backend %s: server %q listed twice", truncate(backend), truncate(s.Name))
		}
		names[s.Name] = true
		if s.Container != "" && ValidateIdent(s.Container) != nil {
			v.add("backend %s: server %s: bad container id %q", truncate(backend), truncate(s.Name), truncate(s.Container))
		}
		if _, err := ParseAddr(s.Address); err != nil {
			v.add("backend %s: server %s: %v", truncate(backend), truncate(s.Name), err)
		}
		if s.Port < 1 || s.Port > 65535 {
			v.add("backend %s: server %s: port %d out of range", truncate(backend), truncate(s.Name), s.Port)
		}
	}
}

// validateMaxFiles checks an open-files limit: 0 (the default) or at least
// MinMaxFiles.
func validateMaxFiles(n int) error {
	if n != 0 && n < MinMaxFiles {
		return fmt.Errorf("max files %d: want 0 (default %d) or at least %d", n, DefaultMaxFiles, MinMaxFiles)
	}
	return nil
}
