package live

import (
	"slices"
	"strings"
)

// A backend new since HAProxy's last reload needs a reload, which the
// notifier paces (--wait MAX): HAProxy 2.6 cannot add a backend at run
// time. Until that reload, the Applier serves such a route through a spare
// backend (a section with SpareMarker, configured exactly like the route's
// own backend and empty in the files): it adds the route's servers to the
// spare and points the route's map entries at it. The reload then loads the
// route's own backend and an empty spare from the files, and the Applier,
// bringing the new worker to the files, takes the spare's servers out and
// the entries back, so the bridge lasts until the apply it stands in for.

// assign returns the bridges of next on a worker that runs base: its
// backends that base lacks (fresh, in next's order), and the spare of base
// that each of those it can serve goes into ("" when none). Earlier bridges
// (prev) stay where they are; a fresh backend gets a free spare with the
// same body when it is one servers can be added to at run time.
func assign(base, next *files, prev map[string]string) (bridges map[string]string, fresh []string) {
	for _, n := range next.cfg.order {
		if base.cfg.backends[n] == nil {
			fresh = append(fresh, n)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	var spares []string
	for _, n := range next.cfg.order {
		s, b := next.cfg.backends[n], base.cfg.backends[n]
		if s.spare && s.dynamic && len(s.servers) == 0 && b != nil && b.spare && b.body == s.body {
			spares = append(spares, n)
		}
	}
	used := map[string]bool{}
	fits := func(name, spare string) bool {
		b, s := next.cfg.backends[name], next.cfg.backends[spare]
		return !used[spare] && s != nil && slices.Contains(spares, spare) && b.body == s.body
	}
	bridges = map[string]string{}
	for _, n := range fresh {
		if s, ok := prev[n]; ok && bridgeable(next.cfg.backends[n]) && fits(n, s) {
			bridges[n], used[s] = s, true
		}
	}
	for _, n := range fresh {
		if _, ok := bridges[n]; ok || !bridgeable(next.cfg.backends[n]) {
			continue
		}
		for _, s := range spares {
			if fits(n, s) {
				bridges[n], used[s] = s, true
				break
			}
		}
	}
	return bridges, fresh
}

// bridgeable reports whether a spare can stand in for b: b is no spare
// itself, and every server of b can be added at run time.
func bridgeable(b *backend) bool {
	if b.spare || !b.dynamic {
		return false
	}
	for _, s := range b.servers {
		if s.refused != "" {
			return false
		}
	}
	return true
}

// onto returns next as a worker that runs base can hold it: without its
// fresh backends' sections; the servers of each bridged one in its spare;
// map entries that point at a bridged backend pointing at its spare, and
// those that point at another fresh backend as base has them (kept or
// absent). With no fresh backend it is next itself.
func onto(base, next *files, bridges map[string]string, fresh []string) *files {
	if len(fresh) == 0 {
		return next
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, n := range fresh {
		isFresh[n] = true
	}
	nc := next.cfg
	cfg := &config{
		defaultServer: nc.defaultServer,
		maps:          nc.maps,
		anyText:       nc.anyText,
		backends:      make(map[string]*backend, len(nc.backends)),
		order:         make([]string, 0, len(nc.order)),
		skeleton:      nc.skeletonWithout(isFresh),
	}
	for _, n := range nc.order {
		if !isFresh[n] {
			cfg.order = append(cfg.order, n)
			cfg.backends[n] = nc.backends[n]
		}
	}
	for n, s := range bridges {
		spare := *nc.backends[s]
		spare.servers = nc.backends[n].servers
		cfg.backends[s] = &spare
	}
	eff := &files{main: next.main, cfg: cfg, aux: make(map[string][]byte, len(next.aux))}
	for name, data := range next.aux {
		if _, isMap := nc.maps[name]; !isMap {
			eff.aux[name] = data
			continue
		}
		m, changed := parseMap(data), false
		var was mapFile
		for k, v := range m {
			if !isFresh[v] {
				continue
			}
			changed = true
			if s, ok := bridges[v]; ok {
				m[k] = s
				continue
			}
			if was == nil {
				was = parseMap(base.aux[name])
			}
			if w, ok := was[k]; ok {
				m[k] = w
			} else {
				delete(m, k)
			}
		}
		if changed {
			data = m.bytes()
		}
		eff.aux[name] = data
	}
	return eff
}

// skeletonWithout returns the skeleton without the sections of the
// backends in drop.
func (c *config) skeletonWithout(drop map[string]bool) []string {
	out := make([]string, 0, len(c.skeleton))
	from := 0
	for _, n := range c.order { // sections are in file order
		if b := c.backends[n]; drop[n] {
			out = append(out, c.skeleton[from:b.start]...)
			from = b.end
		}
	}
	return append(out, c.skeleton[from:]...)
}

// bytes writes the map in the format parseMap reads, sorted by key.
func (m mapFile) bytes() []byte {
	var b strings.Builder
	for _, e := range m.entries() {
		b.WriteString(e.Key)
		b.WriteByte(' ')
		b.WriteString(e.Value)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// sameBackends reports whether f has exactly the backends names lists (a
// worker's "show backend").
func sameBackends(f *files, names []string) bool {
	if len(names) != len(f.cfg.backends) {
		return false
	}
	for _, n := range names {
		if f.cfg.backends[n] == nil {
			return false
		}
	}
	return true
}
