package live

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/rproxy-gen/rproxy-gen/render"
)

// files is one rendered output as a live apply sees it: the parsed config
// and its auxiliary files by name.
type files struct {
	main []byte
	cfg  *config
	aux  map[string][]byte
	// fromDisk: read from the destination's directory, where files of
	// other outputs or of the operator may sit beside the output's own.
	fromDisk bool
}

// newFiles parses a rendered output.
func newFiles(r *render.Rendered) *files {
	f := &files{main: r.Main, cfg: parseConfig(r.Main), aux: map[string][]byte{}}
	for _, a := range r.Files {
		f.aux[a.Name] = a.Data
	}
	return f
}

// ref names a server: "BACKEND/SERVER".
type ref struct{ backend, server string }

func (r ref) String() string { return r.backend + "/" + r.server }

// plan is what separates two renders that differ only in what the Runtime
// API can change.
type plan struct {
	add, remove, addr []ref
	// maps are the map files whose entries changed (auxiliary file names).
	maps []string
	// touched lists the backends with added, removed or moved servers.
	touched []string
}

// empty reports whether nothing needs to be applied.
func (p *plan) empty() bool {
	return len(p.add)+len(p.remove)+len(p.addr)+len(p.maps) == 0
}

// String sums the plan up for the log.
func (p *plan) String() string {
	var parts []string
	for _, l := range []struct {
		what string
		refs []ref
	}{{"added", p.add}, {"removed", p.remove}, {"moved", p.addr}} {
		if len(l.refs) > 0 {
			names := make([]string, len(l.refs))
			for i, r := range l.refs {
				names[i] = r.String()
			}
			parts = append(parts, l.what+" "+strings.Join(names, ","))
		}
	}
	if len(p.maps) > 0 {
		parts = append(parts, "maps "+strings.Join(p.maps, ","))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// errReload is why a change needs a reload.
type errReload struct{ reason string }

func (e *errReload) Error() string { return e.reason }

func reload(format string, a ...any) error { return &errReload{fmt.Sprintf(format, a...)} }

// decide returns the plan that takes HAProxy from old to cur over the
// Runtime API, or an error saying why only a reload can: the configs must
// be equal but for server lines, servers that stay must keep their
// settings, added servers must go to backends that take servers at run time
// and have only settings "add server" accepts, and auxiliary files may
// differ only in the entries of map files the config looks up.
func decide(old, cur *files) (*plan, error) {
	if i, ok := firstDiff(old.cfg.skeleton, cur.cfg.skeleton); !ok {
		line := ""
		if i < len(cur.cfg.skeleton) {
			line = strings.TrimSpace(cur.cfg.skeleton[i])
		} else if i < len(old.cfg.skeleton) {
			line = "(removed) " + strings.TrimSpace(old.cfg.skeleton[i])
		}
		return nil, reload("the config changed beyond server lines (%q)", line)
	}
	p := &plan{}
	touched := map[string]bool{}
	for _, name := range cur.cfg.order {
		nb, ob := cur.cfg.backends[name], old.cfg.backends[name]
		if ob == nil { // cannot happen with equal skeletons; be safe
			return nil, reload("backend %s is new", name)
		}
		for _, s := range sortedServers(nb) {
			r := ref{name, s.name}
			o, ok := ob.servers[s.name]
			switch {
			case !ok:
				if !nb.dynamic {
					return nil, reload("server %s is new and backend %s cannot take servers at run time: %s", r, name, nb.why)
				}
				if s.refused != "" {
					return nil, reload("server %s is new and has %q, which HAProxy refuses for servers added at run time", r, s.refused)
				}
				p.add = append(p.add, r)
				touched[name] = true
			case o.options != s.options:
				return nil, reload("the settings of server %s changed", r)
			case o.addr != s.addr:
				p.addr = append(p.addr, r)
				touched[name] = true
			}
		}
		for _, s := range sortedServers(ob) {
			if _, ok := nb.servers[s.name]; !ok {
				p.remove = append(p.remove, ref{name, s.name})
				touched[name] = true
			}
		}
	}
	names := map[string]bool{}
	for n := range old.aux {
		names[n] = true
	}
	for n := range cur.aux {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		od, oldOK := old.aux[n]
		nd, curOK := cur.aux[n]
		switch {
		case !curOK && old.fromDisk:
			continue // some other file beside the output
		case !oldOK || !curOK:
			return nil, reload("auxiliary file %s was added or removed", n)
		case bytes.Equal(od, nd):
			continue
		}
		if _, isMap := cur.cfg.maps[n]; !isMap {
			return nil, reload("auxiliary file %s changed and is not a map the config looks up", n)
		}
		if !parseMap(od).equal(parseMap(nd)) {
			p.maps = append(p.maps, n)
		}
	}
	p.touched = sortedKeys(touched)
	return p, nil
}

// firstDiff returns the index of the first line where a and b differ, and
// whether they are equal.
func firstDiff(a, b []string) (int, bool) {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i, false
		}
	}
	return min(len(a), len(b)), len(a) == len(b)
}

func sortedServers(b *backend) []server {
	out := make([]server, 0, len(b.servers))
	for _, s := range b.servers {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
