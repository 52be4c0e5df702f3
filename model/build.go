package model

import (
	"fmt"
	"net"
	"sort"
	"strconv"
)

// Options steer Build.
type Options struct {
	// Network, when set, is the only network whose address is used.
	Network string
	// PreferNetworks are the networks of the container rproxy-gen runs in, if
	// any; a shared one is preferred over the others.
	PreferNetworks []string
	// Bind is copied into the model (see Model.Bind).
	Bind string
	// StatsAddr is the statistics listener; DefaultStatsAddr when empty. Its
	// port is reserved: entries on it are skipped.
	StatsAddr string
}

// candidate is one parsed entry of one container, before conflicts are settled.
type candidate struct {
	c     Container
	entry Entry
	raw   string
	addr  string // empty when the container cannot serve (see excluded)
}

// Build turns containers into a Model. It never fails: bad entries become
// Warnings and everything else is still routed. Only running containers count;
// those with a health check count only while healthy.
func Build(containers []Container, opts Options) *Model {
	m := &Model{Version: Version, Bind: opts.Bind, Stats: Stats{Addr: opts.StatsAddr}}
	if m.Stats.Addr == "" {
		m.Stats.Addr = DefaultStatsAddr
	}
	statsPort := addrPort(m.Stats.Addr)

	cs := append([]Container(nil), containers...)
	sort.Slice(cs, func(i, j int) bool { return olderFirst(cs[i], cs[j]) })

	var cands []candidate
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
		seen := map[Entry]bool{}
		for _, raw := range SplitList(c.RProxy) {
			e, err := ParseEntry(raw)
			if err != nil {
				m.warn(c, raw, err.Error())
				continue
			}
			if e.Port == statsPort {
				m.warn(c, raw, fmt.Sprintf("port %d is reserved for the statistics page", e.Port))
				continue
			}
			if seen[e] {
				continue
			}
			seen[e] = true
			cands = append(cands, candidate{c: c, entry: e, raw: raw, addr: addr})
		}
	}

	// A port claimed by both schemes belongs to the scheme of its oldest
	// running claimant (cands is in age order), so a newcomer cannot hijack it.
	owner := map[int]candidate{}
	for _, cd := range cands {
		if _, ok := owner[cd.entry.Port]; !ok {
			owner[cd.entry.Port] = cd
		}
	}
	httpRoutes := map[int]map[[2]string]*HTTPRoute{}
	tcpPorts := map[int]*TCPPort{}
	for _, cd := range cands {
		e := cd.entry
		if o := owner[e.Port]; o.entry.Scheme != e.Scheme {
			m.warn(cd.c, cd.raw, fmt.Sprintf("port %d is already used for %s by older container %s", e.Port, o.entry.Scheme, o.c.DisplayName()))
			continue
		}
		if cd.addr == "" {
			continue
		}
		srv := Server{Name: serverName(cd.c), Container: ShortID(cd.c.ID), Address: cd.addr, Port: e.Port}
		switch e.Scheme {
		case HTTP:
			routes := httpRoutes[e.Port]
			if routes == nil {
				routes = map[[2]string]*HTTPRoute{}
				httpRoutes[e.Port] = routes
			}
			key := [2]string{e.Host, e.Path}
			r := routes[key]
			if r == nil {
				r = &HTTPRoute{Host: e.Host, Path: e.Path}
				routes[key] = r
			}
			r.Servers = append(r.Servers, srv)
		case TCP:
			p := tcpPorts[e.Port]
			if p == nil {
				p = &TCPPort{Port: e.Port}
				tcpPorts[e.Port] = p
			}
			p.Names = append(p.Names, e.Host)
			p.Servers = append(p.Servers, srv)
		}
	}
	for port, routes := range httpRoutes {
		hp := HTTPPort{Port: port}
		for _, r := range routes {
			hp.Routes = append(hp.Routes, *r)
		}
		m.HTTP = append(m.HTTP, hp)
	}
	for _, p := range tcpPorts {
		m.TCP = append(m.TCP, *p)
	}
	m.Normalize()
	return m
}

// olderFirst orders containers by creation time, then name, then ID.
func olderFirst(a, b Container) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.ID < b.ID
}

func (m *Model) warn(c Container, raw, reason string) {
	m.Warnings = append(m.Warnings, Warning{Container: c.DisplayName(), Entry: raw, Reason: reason})
}

// serverName is the container name when it is a safe identifier, else the short ID.
func serverName(c Container) string {
	if c.Name != "" && ValidateIdent(c.Name) == nil {
		return c.Name
	}
	return ShortID(c.ID)
}

// addrPort returns the port of a host:port address, or 0.
func addrPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0
	}
	return n
}
