package model

import (
	"net"
	"sort"
	"strconv"
)

// Diff is what changed between two models, small enough for one log line.
type Diff struct {
	// RoutesAdded and RoutesRemoved hold routes as URLs:
	// "http://HOST:PORT/PATH" or "tcp://:PORT".
	RoutesAdded, RoutesRemoved []string
	// ServersAdded and ServersRemoved hold servers as "BACKEND/NAME@ADDR:PORT".
	ServersAdded, ServersRemoved []string
	// WarningsAdded are skipped entries that were not skipped before, so a
	// long-running watcher reports a bad RPROXY once, not on every render.
	WarningsAdded []Warning
	// ExcludedAdded are containers newly left out (e.g. turned unhealthy).
	ExcludedAdded []Exclusion
}

// Empty reports whether nothing routing-related changed.
func (d Diff) Empty() bool {
	return len(d.RoutesAdded)+len(d.RoutesRemoved)+len(d.ServersAdded)+len(d.ServersRemoved) == 0
}

// Compare returns what changed from old to cur; a nil old is an empty model.
func Compare(old, cur *Model) Diff {
	oldRoutes, oldServers, oldWarn := inventory(old)
	curRoutes, curServers, _ := inventory(cur)
	var d Diff
	d.RoutesAdded, d.RoutesRemoved = setDiff(oldRoutes, curRoutes)
	d.ServersAdded, d.ServersRemoved = setDiff(oldServers, curServers)
	if cur == nil {
		return d
	}
	for _, w := range cur.Warnings {
		if !oldWarn[w] {
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

// inventory flattens a model into sets of route and server keys.
func inventory(m *Model) (routes, servers map[string]bool, warnings map[Warning]bool) {
	routes, servers, warnings = map[string]bool{}, map[string]bool{}, map[Warning]bool{}
	if m == nil {
		return
	}
	addServers := func(backend string, ss []Server) {
		for _, s := range ss {
			servers[backend+"/"+s.Name+"@"+net.JoinHostPort(s.Address, strconv.Itoa(s.Port))] = true
		}
	}
	for _, p := range m.HTTP {
		for _, r := range p.Routes {
			routes["http://"+r.Host+":"+strconv.Itoa(p.Port)+r.Path] = true
			addServers(r.Backend, r.Servers)
		}
	}
	for _, p := range m.TCP {
		routes["tcp://:"+strconv.Itoa(p.Port)] = true
		addServers(p.Backend, p.Servers)
	}
	for _, w := range m.Warnings {
		warnings[w] = true
	}
	return
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
