package model

import (
	"net"
	"slices"
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
// It costs one map entry per route and compares the server lists of a route
// as a whole: only routes whose servers changed are looked at server by
// server, so a watcher with 10,000 containers spends little on it.
func Compare(old, cur *Model) Diff {
	o, c := inventory(old), inventory(cur)
	var d Diff
	for k, cr := range c.routes {
		or, ok := o.routes[k]
		switch {
		case !ok:
			d.RoutesAdded = append(d.RoutesAdded, k.String())
			d.ServersAdded = appendServers(d.ServersAdded, cr.backend, cr.servers)
		case or.backend != cr.backend || !slices.Equal(or.servers, cr.servers):
			added, removed := setDiff(serverKeys(or.backend, or.servers), serverKeys(cr.backend, cr.servers))
			d.ServersAdded = append(d.ServersAdded, added...)
			d.ServersRemoved = append(d.ServersRemoved, removed...)
		}
	}
	for k, or := range o.routes {
		if _, ok := c.routes[k]; !ok {
			d.RoutesRemoved = append(d.RoutesRemoved, k.String())
			d.ServersRemoved = appendServers(d.ServersRemoved, or.backend, or.servers)
		}
	}
	for _, l := range [][]string{d.RoutesAdded, d.RoutesRemoved, d.ServersAdded, d.ServersRemoved} {
		sort.Strings(l)
	}
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

// routeKey identifies a route (or a redirect: redirectTo > 0) across models.
type routeKey struct {
	scheme     string
	host       string
	port       int
	path       string
	redirectTo int
}

// String formats the key as a URL: "http://HOST:PORT/PATH", "tcp://:PORT",
// a redirect as "http://HOST:PORT/PATH => https://HOST:TO/PATH".
func (k routeKey) String() string {
	u := k.scheme + "://" + k.host + ":" + strconv.Itoa(k.port) + k.path
	if k.redirectTo > 0 {
		u += " => https://" + k.host + ":" + strconv.Itoa(k.redirectTo) + k.path
	}
	return u
}

// routeServers is what a route points at.
type routeServers struct {
	backend string
	servers []Server
}

// sets is a model flattened for comparison.
type sets struct {
	routes    map[routeKey]routeServers
	certs     map[string]bool
	uncovered map[string]bool
	warnings  map[Warning]bool
}

// inventory flattens a model into its routes (with their servers),
// certificate keys, uncovered hosts and warnings.
func inventory(m *Model) sets {
	s := sets{routes: map[routeKey]routeServers{}, certs: map[string]bool{}, uncovered: map[string]bool{}, warnings: map[Warning]bool{}}
	if m == nil {
		return s
	}
	for _, p := range m.HTTP {
		for _, r := range p.Routes {
			s.routes[routeKey{scheme: "http", host: r.Host, port: p.Port, path: r.Path}] = routeServers{r.Backend, r.Servers}
		}
		for _, r := range p.Redirects {
			s.routes[routeKey{scheme: "http", host: r.Host, port: p.Port, path: r.Path, redirectTo: r.To}] = routeServers{}
		}
	}
	for _, p := range m.HTTPS {
		for _, r := range p.Routes {
			s.routes[routeKey{scheme: "https", host: r.Host, port: p.Port, path: r.Path}] = routeServers{r.Backend, r.Servers}
		}
	}
	for _, p := range m.TLS {
		for _, r := range p.Routes {
			s.routes[routeKey{scheme: "tls", host: r.Host, port: p.Port}] = routeServers{r.Backend, r.Servers}
		}
	}
	for _, p := range m.TCP {
		s.routes[routeKey{scheme: "tcp", port: p.Port}] = routeServers{p.Backend, p.Servers}
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

// serverKey formats a server as "BACKEND/NAME@ADDR:PORT".
func serverKey(backend string, sv Server) string {
	return backend + "/" + sv.Name + "@" + net.JoinHostPort(sv.Address, strconv.Itoa(sv.Port))
}

func appendServers(out []string, backend string, ss []Server) []string {
	for _, sv := range ss {
		out = append(out, serverKey(backend, sv))
	}
	return out
}

func serverKeys(backend string, ss []Server) map[string]bool {
	keys := make(map[string]bool, len(ss))
	for _, sv := range ss {
		keys[serverKey(backend, sv)] = true
	}
	return keys
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
