package model

import (
	"net"
	"sort"
	"strconv"
	"strings"
)

// Diff is what changed between two models, small enough for one log line.
type Diff struct {
	// RoutesAdded and RoutesRemoved hold routes as URLs:
	// "http://HOST:PORT/PATH", "https://HOST:PORT/PATH", "tls://HOST:PORT",
	// "tcp://:PORT", and redirects as
	// "http://HOST:PORT/PATH => https://HOST:TO/PATH".
	RoutesAdded, RoutesRemoved []string
	// ServersAdded and ServersRemoved hold servers as "BACKEND/NAME@ADDR:PORT".
	ServersAdded, ServersRemoved []string
	// CertificatesAdded and CertificatesRemoved hold certificate files as
	// "FILE: NAME,NAME" (plus " sha256:" and the fingerprint's first 16
	// digits when known, so a renewal shows) and the default one as
	// "default: FILE".
	CertificatesAdded, CertificatesRemoved []string
	// WarningsAdded are skipped entries that were not skipped before, so a
	// long-running watcher reports a bad RPROXY once, not on every render.
	WarningsAdded []Warning
	// ExcludedAdded are containers newly left out (e.g. turned unhealthy).
	ExcludedAdded []Exclusion
	// UncoveredAdded are https hosts newly served with the default
	// certificate because no certificate covers them.
	UncoveredAdded []string
}

// Empty reports whether nothing routing-related changed (routes, redirects,
// servers, certificates).
func (d Diff) Empty() bool {
	return len(d.RoutesAdded)+len(d.RoutesRemoved)+len(d.ServersAdded)+len(d.ServersRemoved)+
		len(d.CertificatesAdded)+len(d.CertificatesRemoved) == 0
}

// Compare returns what changed from old to cur; a nil old is an empty model.
func Compare(old, cur *Model) Diff {
	o, c := inventory(old), inventory(cur)
	var d Diff
	d.RoutesAdded, d.RoutesRemoved = setDiff(o.routes, c.routes)
	d.ServersAdded, d.ServersRemoved = setDiff(o.servers, c.servers)
	d.CertificatesAdded, d.CertificatesRemoved = setDiff(o.certs, c.certs)
	d.UncoveredAdded, _ = setDiff(o.uncovered, c.uncovered)
	if cur == nil {
		return d
	}
	for _, w := range cur.Warnings {
		if !o.warnings[w] {
			d.WarningsAdded = append(d.WarningsAdded, w)
		}
	}
	oldExcl := map[Exclusion]bool{}
	if old != nil {
		for _, e := range old.Excluded {
			oldExcl[e] = true
		}
	}
	for _, e := range cur.Excluded {
		if !oldExcl[e] {
			d.ExcludedAdded = append(d.ExcludedAdded, e)
		}
	}
	return d
}

// sets is a model flattened into sets of keys.
type sets struct {
	routes, servers, certs, uncovered map[string]bool
	warnings                          map[Warning]bool
}

// inventory flattens a model into sets of route, server and certificate keys.
func inventory(m *Model) sets {
	s := sets{routes: map[string]bool{}, servers: map[string]bool{}, certs: map[string]bool{},
		uncovered: map[string]bool{}, warnings: map[Warning]bool{}}
	if m == nil {
		return s
	}
	addServers := func(backend string, ss []Server) {
		for _, sv := range ss {
			s.servers[backend+"/"+sv.Name+"@"+net.JoinHostPort(sv.Address, strconv.Itoa(sv.Port))] = true
		}
	}
	url := func(scheme, host string, port int, path string) string {
		return scheme + "://" + host + ":" + strconv.Itoa(port) + path
	}
	for _, p := range m.HTTP {
		for _, r := range p.Routes {
			s.routes[url("http", r.Host, p.Port, r.Path)] = true
			addServers(r.Backend, r.Servers)
		}
		for _, r := range p.Redirects {
			s.routes[url("http", r.Host, p.Port, r.Path)+" => "+url("https", r.Host, r.To, r.Path)] = true
		}
	}
	for _, p := range m.HTTPS {
		for _, r := range p.Routes {
			s.routes[url("https", r.Host, p.Port, r.Path)] = true
			addServers(r.Backend, r.Servers)
		}
	}
	for _, p := range m.TLS {
		for _, r := range p.Routes {
			s.routes[url("tls", r.Host, p.Port, "")] = true
			addServers(r.Backend, r.Servers)
		}
	}
	for _, p := range m.TCP {
		s.routes["tcp://:"+strconv.Itoa(p.Port)] = true
		addServers(p.Backend, p.Servers)
	}
	if c := m.Certificates; c != nil {
		for _, f := range c.Files {
			key := f.File + ": " + strings.Join(f.Names, ",")
			if f.SHA256 != "" {
				key += " sha256:" + f.SHA256[:16]
			}
			s.certs[key] = true
		}
		if c.Default != "" {
			s.certs["default: "+c.Default] = true
		}
		for _, h := range c.Uncovered {
			s.uncovered[h] = true
		}
	}
	for _, w := range m.Warnings {
		s.warnings[w] = true
	}
	return s
}

// setDiff returns the sorted keys only in cur (added) and only in old (removed).
func setDiff(old, cur map[string]bool) (added, removed []string) {
	for k := range cur {
		if !old[k] {
			added = append(added, k)
		}
	}
	for k := range old {
		if !cur[k] {
			removed = append(removed, k)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}
