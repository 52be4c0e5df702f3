package model

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// Options steer Build. They come from the operator (flags, config file), not
// from containers: check them with Validate before Build, which copies them
// into the model unchecked.
type Options struct {
	// Network, when set, is the only network whose address is used.
	Network string
	// PreferNetworks are the networks of the container rproxy-gen runs in, if
	// any; a shared one is preferred over the others.
	PreferNetworks []string
	// Bind is copied into the model (see Model.Bind).
	Bind string
	// StatsAddr is the statistics listener; when empty, port 1 on Bind (see
	// StatsAddrFor). Its port is reserved: entries on it are skipped.
	StatsAddr string
	// Certs is what a certificate loader found in the certificate directory
	// (--certs DIR); nil when none was given. It is copied into the model.
	// https entries are skipped with a warning while it is nil or has no
	// files.
	Certs *Certificates
	// MaxFiles is copied into the model (see Model.MaxFiles).
	MaxFiles int
}

// Validate checks the options Build copies into the model: Bind an IP
// address without zone (or empty), StatsAddr a listen address (or empty),
// Certs valid, MaxFiles 0 or at least MinMaxFiles.
func (o Options) Validate() error {
	var errs []error
	if o.Bind != "" {
		if _, err := ParseAddr(o.Bind); err != nil {
			errs = append(errs, fmt.Errorf("bind: %w", err))
		}
	}
	if o.StatsAddr != "" {
		if err := ValidateListenAddr(o.StatsAddr); err != nil {
			errs = append(errs, fmt.Errorf("stats addr: %w", err))
		}
	}
	if o.Certs != nil {
		if err := o.Certs.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := validateMaxFiles(o.MaxFiles); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// kind is what a port is used for. https and tls are one kind: they may
// share a port.
type kind int

const (
	kindHTTP kind = iota + 1
	kindTCP
	kindTLS
)

func kindOf(s Scheme) kind {
	switch s {
	case HTTP:
		return kindHTTP
	case TCP:
		return kindTCP
	default:
		return kindTLS
	}
}

// candidate is one parsed entry of one container, before conflicts are settled.
type candidate struct {
	c     Container
	entry Entry
	raw   string
	addr  string // empty when the container cannot serve (see excluded)
}

// portClaim is a port used by a kept candidate: its main port, or the plain
// http port of its redirect.
type portClaim struct {
	kind     kind
	what     string // "http", "tcp", "https", "tls" or "an https redirect"
	cd       *candidate
	redirect bool
}

func (cd *candidate) claims() []portClaim {
	out := []portClaim{{kind: kindOf(cd.entry.Scheme), what: string(cd.entry.Scheme), cd: cd}}
	if cd.entry.Redirect != 0 {
		out = append(out, portClaim{kind: kindHTTP, what: "an https redirect", cd: cd, redirect: true})
	}
	return out
}

func (cd *candidate) port(p portClaim) int {
	if p.redirect {
		return cd.entry.Redirect
	}
	return cd.entry.Port
}

// Build turns containers into a Model. It never fails and never returns a
// model that Validate rejects when opts are valid: a bad entry, or one that
// loses a conflict, becomes a Warning naming the container, the entry and the
// reason, and everything else is still routed. Only running containers count;
// those with a health check count only while healthy. The result is sorted:
// the same containers in any order give the same model.
func Build(containers []Container, opts Options) *Model {
	m := &Model{Version: Version, Bind: opts.Bind, Stats: Stats{Addr: StatsAddrFor(opts.Bind, opts.StatsAddr)}, MaxFiles: opts.MaxFiles}
	m.Certificates = opts.Certs.clone()
	cs := append([]Container(nil), containers...)
	sort.Slice(cs, func(i, j int) bool { return olderFirst(cs[i], cs[j]) })
	cands := m.parse(cs, opts)
	kept := m.settle(cands)
	m.assemble(kept)
	m.Normalize()
	return m
}

// parse reads every running container's entries, in age order, skipping
// (with a warning) those that are invalid, use the statistics port or need
// certificates that are missing, and recording containers that cannot serve.
func (m *Model) parse(cs []Container, opts Options) []*candidate {
	statsPort := addrPort(m.Stats.Addr)
	noCerts := ""
	switch {
	case opts.Certs == nil:
		noCerts = "https needs certificates: pass --certs DIR (a directory of .pem files, each a certificate chain and its private key)"
	case len(opts.Certs.Files) == 0:
		noCerts = fmt.Sprintf("https needs certificates: no usable .pem file in %q; check --certs DIR", truncate(opts.Certs.Dir))
	}
	var cands []*candidate
	for _, c := range cs {
		if !c.Running || c.RProxy == "" {
			continue
		}
		addr, why := "", ""
		switch {
		case c.Health != "" && c.Health != "healthy":
			why = "health status is " + strconv.Quote(c.Health)
		default:
			a, err := pickAddress(c, opts)
			if err != nil {
				why = err.Error()
			}
			addr = a
		}
		if why != "" {
			m.Excluded = append(m.Excluded, Exclusion{Container: c.DisplayName(), Reason: why})
		}
		var seen []Entry // a container has a few entries: a list beats a map
		for _, raw := range SplitList(c.RProxy) {
			e, err := ParseEntry(raw)
			switch {
			case err != nil:
				m.warn(c, raw, err.Error())
			case e.Port == statsPort:
				m.warn(c, raw, fmt.Sprintf("port %d is reserved for the statistics page", e.Port))
			case e.Redirect != 0 && e.Redirect == statsPort:
				m.warn(c, raw, fmt.Sprintf("redirect port %d is reserved for the statistics page; set redirect=off or another port", e.Redirect))
			case e.Scheme == HTTPS && noCerts != "":
				m.warn(c, raw, noCerts)
			case slices.Contains(seen, e):
			default:
				seen = append(seen, e)
				cands = append(cands, &candidate{c: c, entry: e, raw: raw, addr: addr})
			}
		}
	}
	return cands
}

// settle applies the conflict rules in age order and returns the candidates
// that keep their claims. A candidate that loses one claim is skipped whole,
// with a warning, and claims nothing:
//   - a port belongs to the kind (http, tcp, https/tls) of its oldest kept
//     claimant; an https redirect claims its port for http;
//   - on one port, a host is either passed through (tls) or terminated
//     (https), as its oldest kept claimant says;
//   - on one plain http port, a host and path redirect to one https port,
//     the oldest kept claimant's.
//
// Containers that cannot serve right now (unhealthy, no address) keep their
// claims, so a newcomer cannot take a port while its owner restarts.
func (m *Model) settle(cands []*candidate) []*candidate {
	owner := map[int]portClaim{}
	hostOwner := map[hostClaim]*candidate{}
	redirOwner := map[redirectClaim]*candidate{}
	var kept []*candidate
	for _, cd := range cands {
		e := cd.entry
		hostKey := hostClaim{e.Port, e.Host}
		redirKey := redirectClaim{e.Redirect, e.Host, e.Path}
		reason := ""
		for _, cl := range cd.claims() {
			o, ok := owner[cd.port(cl)]
			if !ok || o.kind == cl.kind {
				continue
			}
			if cl.redirect {
				reason = fmt.Sprintf("redirect port %d is already used for %s by older container %s; set redirect=off or another port", e.Redirect, o.what, o.cd.c.DisplayName())
			} else {
				reason = fmt.Sprintf("port %d is already used for %s by older container %s", e.Port, o.what, o.cd.c.DisplayName())
			}
			break
		}
		if o := hostOwner[hostKey]; reason == "" && kindOf(e.Scheme) == kindTLS && o != nil && o.entry.Scheme != e.Scheme {
			reason = fmt.Sprintf("host %s on port %d is already used for %s by older container %s", e.Host, e.Port, o.entry.Scheme, o.c.DisplayName())
		}
		if o := redirOwner[redirKey]; reason == "" && e.Redirect != 0 && o != nil && o.entry.Port != e.Port {
			reason = fmt.Sprintf("http port %d already redirects %s%s to https port %d for older container %s", e.Redirect, e.Host, e.Path, o.entry.Port, o.c.DisplayName())
		}
		if reason != "" {
			m.warn(cd.c, cd.raw, reason)
			continue
		}
		for _, cl := range cd.claims() {
			if _, ok := owner[cd.port(cl)]; !ok {
				owner[cd.port(cl)] = cl
			}
		}
		if kindOf(e.Scheme) == kindTLS && hostOwner[hostKey] == nil {
			hostOwner[hostKey] = cd
		}
		if e.Redirect != 0 && redirOwner[redirKey] == nil {
			redirOwner[redirKey] = cd
		}
		kept = append(kept, cd)
	}
	return kept
}

// hostClaim is a host on a port (tls passthrough or https termination).
type hostClaim struct {
	port int
	host string
}

// redirectClaim is a host and path redirected from a plain http port.
type redirectClaim struct {
	port       int
	host, path string
}

// unitKey identifies one backend: a route (scheme, port, host, path) or a
// tcp port.
type unitKey struct {
	scheme     Scheme
	port       int
	host, path string
}

// unit is one backend being assembled, with the candidates that feed it.
type unit struct {
	key       unitKey
	name      string // the backend name, once known
	servers   []Server
	endpoints []endpoint // one per server; few, so a list beats a map
	names     []string   // tcp names
	cands     []*candidate
}

// endpoint identifies a server of a unit: the container (full ID), its
// address and the container port.
type endpoint struct {
	id, addr string
	port     int
}

func (u *unit) backend() string {
	if u.name != "" {
		return u.name
	}
	switch u.key.scheme {
	case HTTP:
		u.name = HTTPBackendName(u.key.port, u.key.host, u.key.path)
	case HTTPS:
		u.name = HTTPSBackendName(u.key.port, u.key.host, u.key.path)
	case TLS:
		u.name = TLSBackendName(u.key.port, u.key.host)
	default:
		u.name = TCPBackendName(u.key.port)
	}
	return u.name
}

// assemble groups the kept candidates that can serve into backends and
// redirects and puts them into m. Backend names are checked for collisions
// (a shortened name's hash, or a path hash): the backend whose oldest
// claimant is newer is dropped, with a warning for each of its entries.
func (m *Model) assemble(kept []*candidate) {
	units := map[unitKey]*unit{}
	var order []*unit
	for _, cd := range kept {
		if cd.addr == "" {
			continue
		}
		e := cd.entry
		k := unitKey{scheme: e.Scheme, port: e.Port, host: e.Host, path: e.Path}
		if e.Scheme == TCP {
			k.host = ""
		}
		u := units[k]
		if u == nil {
			u = &unit{key: k}
			units[k] = u
			order = append(order, u)
		}
		u.cands = append(u.cands, cd)
		if e.Scheme == TCP {
			u.names = append(u.names, e.Host)
		}
		// One server per container, address and container port: two entries
		// of one container that differ only in what the backend ignores
		// (a tcp name) do not double its weight.
		ep := endpoint{id: cd.c.ID, addr: cd.addr, port: e.To}
		if !slices.Contains(u.endpoints, ep) {
			u.endpoints = append(u.endpoints, ep)
			u.servers = append(u.servers, Server{Name: serverName(cd.c), Container: containerRef(cd.c), Address: cd.addr, Port: e.To,
				Healthcheck: cd.c.Health != ""})
		}
	}

	// order is by oldest claimant already (kept is in age order).
	names := map[string]*unit{}
	dropped := map[*candidate]bool{}
	var live []*unit
	for _, u := range order {
		name := u.backend()
		other := names[name]
		if other == nil && ValidateIdent(name) == nil {
			names[name] = u
			live = append(live, u)
			continue
		}
		for _, cd := range u.cands {
			dropped[cd] = true
			m.warn(cd.c, cd.raw, fmt.Sprintf("backend name %s is already taken by another route (name hash collision)", name))
		}
	}

	httpPorts := map[int]*HTTPPort{}
	httpsPorts := map[int]*HTTPPort{}
	tlsPorts := map[int]*TLSPort{}
	httpKeys := map[unitKey]bool{}
	for _, u := range live {
		k := u.key
		switch k.scheme {
		case HTTP, HTTPS:
			ports := httpPorts
			if k.scheme == HTTPS {
				ports = httpsPorts
			} else {
				httpKeys[k] = true
			}
			p := ports[k.port]
			if p == nil {
				p = &HTTPPort{Port: k.port}
				ports[k.port] = p
			}
			p.Routes = append(p.Routes, HTTPRoute{Host: k.host, Path: k.path, Backend: u.backend(), Servers: u.servers})
		case TLS:
			p := tlsPorts[k.port]
			if p == nil {
				p = &TLSPort{Port: k.port}
				tlsPorts[k.port] = p
			}
			p.Routes = append(p.Routes, TLSRoute{Host: k.host, Backend: u.backend(), Servers: u.servers})
		case TCP:
			m.TCP = append(m.TCP, TCPPort{Port: k.port, Backend: u.backend(), Names: u.names, Servers: u.servers})
		}
	}

	// Redirects of the https entries that are routed; an http route with the
	// same port, host and path takes their place.
	seenRedirect := map[unitKey]bool{}
	for _, cd := range kept {
		e := cd.entry
		key := unitKey{scheme: HTTP, port: e.Redirect, host: e.Host, path: e.Path}
		if e.Redirect == 0 || cd.addr == "" || dropped[cd] || httpKeys[key] || seenRedirect[key] {
			continue
		}
		seenRedirect[key] = true
		p := httpPorts[e.Redirect]
		if p == nil {
			p = &HTTPPort{Port: e.Redirect}
			httpPorts[e.Redirect] = p
		}
		p.Redirects = append(p.Redirects, Redirect{Host: e.Host, Path: e.Path, Backend: RedirectBackendName(e.Port), To: e.Port})
	}

	for _, p := range httpPorts {
		m.HTTP = append(m.HTTP, *p)
	}
	for _, p := range httpsPorts {
		m.HTTPS = append(m.HTTPS, *p)
	}
	for _, p := range tlsPorts {
		m.TLS = append(m.TLS, *p)
	}
}

// olderFirst orders containers by creation time, then name, then ID (and,
// for the duplicates only a crafted snapshot has, by the other fields), so
// Build's result does not depend on the order of its input.
func olderFirst(a, b Container) bool {
	switch {
	case !a.Created.Equal(b.Created):
		return a.Created.Before(b.Created)
	case a.Name != b.Name:
		return a.Name < b.Name
	case a.ID != b.ID:
		return a.ID < b.ID
	case a.RProxy != b.RProxy:
		return a.RProxy < b.RProxy
	case a.Health != b.Health:
		return a.Health < b.Health
	case a.Running != b.Running:
		return !a.Running
	}
	return fmt.Sprint(a.Networks) < fmt.Sprint(b.Networks)
}

func (m *Model) warn(c Container, raw, reason string) {
	m.Warnings = append(m.Warnings, Warning{Container: c.DisplayName(), Entry: raw, Reason: reason})
}
