package live

import (
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
)

// config is a rendered HAProxy configuration split the way a live apply
// needs it: the server lines of its backends on one side, everything else
// (the skeleton) on the other, plus what decides whether a backend takes
// servers at run time.
type config struct {
	// skeleton is the text without the server lines that can be applied at
	// run time; two configs whose skeletons are equal differ only in such
	// servers.
	skeleton []string
	// backends holds every backend and listen section by name.
	backends map[string]*backend
	// order lists the backend names in the order of the file.
	order []string
	// defaultServer: some defaults section has a default-server line.
	defaultServer bool
	// maps are the map files the config looks up (map(), map_beg(), ...), by
	// base name, with the name as the config wrote it (HAProxy's name for
	// them in map commands).
	maps map[string]string
	// anyText holds the maps, by base name, that every lookup matches as
	// strings with a string result (map, map_str, map_beg, map_end, map_sub,
	// map_dom; set-map, del-map): HAProxy loads any plain "KEY VALUE" line
	// of those, where an ip, int or regex match would parse the keys.
	anyText map[string]bool
}

// textMatch are the converters and actions of anyText.
var textMatch = map[string]bool{"map": true, "map_str": true, "map_beg": true, "map_end": true,
	"map_sub": true, "map_dom": true, "set-map": true, "del-map": true}

// backend is a backend (or listen) section.
type backend struct {
	name    string
	servers map[string]server
	// dynamic says whether "add server" can give a server exactly the
	// settings of its line here: a dynamic balance algorithm and no
	// default-server line that runtime servers would not inherit; why says
	// why not.
	dynamic bool
	why     string
	// spare: the section has the spare marker (SpareMarker): it has no
	// servers in the files and takes a new route's servers until the reload
	// that gives the route its own backend.
	spare bool
	// body is the section's skeleton without its header, blank lines and
	// comments: two backends with the same body are configured alike.
	body string
	// start and end delimit the section in the config's skeleton (its
	// header line to the next section's).
	start, end int
}

// SpareMarker, alone on a comment line of a backend section, marks the
// section as a spare backend: one that has no servers in the files, so
// that a route new since HAProxy's last reload can be served through it
// over the Runtime API until the reload that gives the route its own
// backend (a backend configured exactly like the spare).
const SpareMarker = "# rproxy-gen: spare"

// server is one server line.
type server struct {
	name string
	addr netip.AddrPort
	// options are the words after the address, joined by one blank.
	options string
	// refused is an option "add server" refuses, if any.
	refused string
}

// sections are HAProxy's section keywords (a line starting with one opens
// a section).
var sections = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"peers": true, "resolvers": true, "userlist": true, "program": true, "http-errors": true,
	"ring": true, "mailers": true, "cache": true, "namespace_list": true, "fcgi-app": true,
	"dynamic-update": true, "crt-store": true, "traces": true,
}

// plain reports whether line holds only characters a server line may have
// for rproxy-gen to take it apart: no quotes, escapes or comments, whose
// meaning would need HAProxy's own parser.
func plain(line string) bool {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" \t._:/@,=+[]%-", c) >= 0) {
			return false
		}
	}
	return true
}

// mapRef finds map files looked up by a converter or action: map(F),
// map_beg(F), ..., set-map(F), del-map(F).
var mapRef = regexp.MustCompile(`(?:^|[\s,(])(map(?:_[a-z]+)?|set-map|del-map)\(([^,()\s]+)`)

// parseConfig splits a rendered HAProxy configuration.
func parseConfig(text []byte) *config {
	c := &config{backends: map[string]*backend{}, maps: map[string]string{}, anyText: map[string]bool{}}
	var cur *backend // the backend or listen section being read
	section := ""    // keyword of the current section
	// balance and hash-type lines of the last defaults section and of the
	// current backend (which win); "" when absent.
	defBalance, defHash, curBalance, curHash := "", "", "", ""
	finish := func() {
		if cur == nil {
			return
		}
		cur.end = len(c.skeleton)
		var body []string
		for _, l := range c.skeleton[cur.start+1 : cur.end] {
			switch l = strings.TrimSpace(l); {
			case l == SpareMarker:
				cur.spare = true
			case l != "" && l[0] != '#':
				body = append(body, strings.Join(strings.Fields(l), " "))
			}
		}
		cur.body = strings.Join(body, "\n")
		algo, hash := curBalance, curHash
		if algo == "" {
			algo = defBalance
		}
		if hash == "" {
			hash = defHash
		}
		ok, why := dynamicBalance(algo, strings.HasPrefix(hash, "consistent"))
		if !ok && cur.why == "" {
			cur.why = why
		}
		cur = nil
	}
	lines := strings.Split(string(text), "\n")
	c.skeleton = make([]string, 0, len(lines))
	for _, line := range lines {
		if strings.Contains(line, "map") {
			for _, m := range mapRef.FindAllStringSubmatch(line, -1) {
				base := filepath.Base(m[2])
				if _, seen := c.maps[base]; !seen {
					c.anyText[base] = true
				}
				c.maps[base] = m[2]
				c.anyText[base] = c.anyText[base] && textMatch[m[1]]
			}
		}
		kw := firstWord(line)
		if kw == "" || kw[0] == '#' {
			c.skeleton = append(c.skeleton, line)
			continue
		}
		if !sections[kw] && !(kw == "server" || kw == "default-server" || kw == "balance" || kw == "hash-type") {
			c.skeleton = append(c.skeleton, line) // nothing a live apply looks at
			continue
		}
		fields := strings.Fields(line)
		if sections[kw] {
			finish()
			section = kw
			curBalance, curHash = "", ""
			if kw == "defaults" {
				defBalance, defHash = "", ""
			}
			if (kw == "backend" || kw == "listen") && len(fields) >= 2 {
				cur = &backend{name: fields[1], servers: map[string]server{}, start: len(c.skeleton)}
				if len(fields) > 2 {
					cur.why = "its section header has options (" + strings.Join(fields[2:], " ") + ")"
				}
				c.backends[cur.name] = cur
				c.order = append(c.order, cur.name)
			}
			c.skeleton = append(c.skeleton, line)
			continue
		}
		switch {
		case section == "defaults" && kw == "default-server":
			c.defaultServer = true
		case section == "defaults" && kw == "balance":
			defBalance = strings.Join(fields[1:], " ")
		case section == "defaults" && kw == "hash-type":
			defHash = strings.Join(fields[1:], " ")
		case cur != nil && kw == "default-server":
			cur.why = "it has a default-server line, which servers added at run time do not inherit"
		case cur != nil && kw == "balance":
			curBalance = strings.Join(fields[1:], " ")
		case cur != nil && kw == "hash-type":
			curHash = strings.Join(fields[1:], " ")
		case cur != nil && kw == "server":
			if s, ok := parseServer(line, fields); ok {
				if _, dup := cur.servers[s.name]; !dup {
					cur.servers[s.name] = s
					continue // not part of the skeleton
				}
			}
		}
		c.skeleton = append(c.skeleton, line)
	}
	finish()
	if c.defaultServer {
		for _, b := range c.backends {
			if b.why == "" {
				b.why = "a defaults section has a default-server line, which servers added at run time do not inherit"
			}
		}
	}
	for _, b := range c.backends {
		b.dynamic = b.why == ""
	}
	return c
}

// firstWord returns the first blank-separated word of line ("" for none).
func firstWord(line string) string {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	j := i
	for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' {
		j++
	}
	return line[i:j]
}

// parseServer reads "server NAME IP:PORT [OPTIONS...]"; ok is false for a
// line rproxy-gen cannot reproduce over the Runtime API (no IP literal and
// port, quotes or comments), which then belongs to the skeleton.
func parseServer(line string, fields []string) (server, bool) {
	if len(fields) < 3 || !plain(line) {
		return server{}, false
	}
	ap, err := netip.ParseAddrPort(fields[2])
	if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return server{}, false
	}
	s := server{name: fields[1], addr: ap, options: strings.Join(fields[3:], " ")}
	for _, o := range fields[3:] {
		if haproxyapi.DynamicServerRefuses(o) {
			s.refused = o
			break
		}
	}
	return s, true
}

// dynamicBalance tells whether a backend with this balance line (empty:
// HAProxy's default, roundrobin) takes servers at run time: HAProxy 2.6
// refuses "add server" unless the algorithm is roundrobin, leastconn,
// first, random or a hash with "hash-type consistent".
func dynamicBalance(algo string, consistent bool) (bool, string) {
	name := "roundrobin"
	if f := strings.Fields(algo); len(f) > 0 {
		name = f[0]
	}
	switch {
	case name == "roundrobin" || name == "leastconn" || name == "first" || strings.HasPrefix(name, "random"):
		return true, ""
	case consistent && name != "static-rr":
		return true, ""
	}
	return false, "its balance algorithm " + name + " is static (servers added at run time need roundrobin, leastconn, first, random or a consistent hash)"
}

// serverSet returns the servers of every backend as "BACKEND/NAME" → server.
func (c *config) serverSet() map[string]server {
	out := map[string]server{}
	for bn, b := range c.backends {
		for n, s := range b.servers {
			out[bn+"/"+n] = s
		}
	}
	return out
}

// mapFile is one map file's entries (key → value), as HAProxy reads it.
type mapFile map[string]string

// parseMap reads a map file: one "KEY VALUE" per line, blank lines and
// lines starting with '#' skipped; the value is the rest of the line.
func parseMap(data []byte) mapFile {
	m := mapFile{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(strings.TrimLeft(line, " \t"), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, _ := strings.Cut(strings.Replace(line, "\t", " ", 1), " ")
		m[key] = strings.TrimSpace(value)
	}
	return m
}

// entries lists the map's entries sorted by key.
func (m mapFile) entries() []haproxyapi.MapEntry {
	out := make([]haproxyapi.MapEntry, 0, len(m))
	for k, v := range m {
		out = append(out, haproxyapi.MapEntry{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// equal reports whether two maps have the same entries.
func (m mapFile) equal(o mapFile) bool {
	if len(m) != len(o) {
		return false
	}
	for k, v := range m {
		if w, ok := o[k]; !ok || w != v {
			return false
		}
	}
	return true
}
