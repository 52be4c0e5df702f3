package model

import (
	"math/rand"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ctr makes a running container on the bridge network, created i minutes after t0.
func ctr(i int, name, rproxy string) Container {
	return Container{
		ID: strings.Repeat(string(rune('a'+i%26)), 64), Name: name, Created: t0.Add(time.Duration(i) * time.Minute),
		Running: true, RProxy: rproxy, Networks: []Network{{Name: "bridge", IP: "172.17.0." + string(rune('0'+i%10))}},
	}
}

func with(c Container, f func(*Container)) Container { f(&c); return c }

// routes summarises a model as "KIND port host path -> servers" lines; a
// server shows its port when it differs from the listening port.
func routes(m *Model) []string {
	var out []string
	servers := func(port int, ss []Server) string {
		var names []string
		for _, s := range ss {
			n := s.Name + "@" + s.Address
			if s.Port != port {
				n += ":" + strconv.Itoa(s.Port)
			}
			names = append(names, n)
		}
		return strings.Join(names, ",")
	}
	for _, hp := range m.HTTP {
		for _, r := range hp.Routes {
			out = append(out, "http "+strconv.Itoa(hp.Port)+" "+r.Host+r.Path+" -> "+servers(hp.Port, r.Servers))
		}
		for _, r := range hp.Redirects {
			out = append(out, "redirect "+strconv.Itoa(hp.Port)+" "+r.Host+r.Path+" -> https "+strconv.Itoa(r.To)+" ("+r.Backend+")")
		}
	}
	for _, hp := range m.HTTPS {
		for _, r := range hp.Routes {
			out = append(out, "https "+strconv.Itoa(hp.Port)+" "+r.Host+r.Path+" -> "+servers(hp.Port, r.Servers))
		}
	}
	for _, p := range m.TLS {
		for _, r := range p.Routes {
			out = append(out, "tls "+strconv.Itoa(p.Port)+" "+r.Host+" -> "+servers(p.Port, r.Servers))
		}
	}
	for _, p := range m.TCP {
		out = append(out, "tcp "+strconv.Itoa(p.Port)+" "+strings.Join(p.Names, "+")+" -> "+servers(p.Port, p.Servers))
	}
	return out
}

func warnings(m *Model) []string {
	var out []string
	for _, w := range m.Warnings {
		out = append(out, w.Container+": "+w.Entry+": "+w.Reason)
	}
	return out
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name       string
		containers []Container
		opts       Options
		want       []string // routes(m)
		warn       []string // substrings, one per warning, in order
		excluded   []string
	}{
		{
			name: "precedence: longest host first, then longest path",
			containers: []Container{
				ctr(1, "root", "http://example.com"),
				ctr(2, "api", "http://api.example.com"),
				ctr(3, "apinew", "http://api.example.com/new"),
				ctr(4, "apin", "http://api.example.com/n"),
			},
			want: []string{
				"http 80 api.example.com/new -> apinew@172.17.0.3",
				"http 80 api.example.com/n -> apin@172.17.0.4",
				"http 80 api.example.com/ -> api@172.17.0.2",
				"http 80 example.com/ -> root@172.17.0.1",
			},
		},
		{
			name: "replicas on one host form one backend; ports split",
			containers: []Container{
				ctr(3, "shop-3", "http://shop.example.com"),
				ctr(1, "shop-1", "http://shop.example.com"),
				ctr(2, "shop-2", "http://SHOP.example.com.:80/"),
				ctr(4, "wiki", "http://wiki.example.com:8080"),
			},
			want: []string{
				"http 80 shop.example.com/ -> shop-1@172.17.0.1,shop-2@172.17.0.2,shop-3@172.17.0.3",
				"http 8080 wiki.example.com/ -> wiki@172.17.0.4",
			},
		},
		{
			name: "tcp routes by port alone: different names, one backend",
			containers: []Container{
				ctr(1, "znc", "tcp://znc:6667,tcp://znc:6697"),
				ctr(2, "irc", "tcp://other:6667"),
				ctr(3, "game", "tcp://game"),
			},
			want: []string{
				"tcp 4 game -> game@172.17.0.3",
				"tcp 6667 other+znc -> irc@172.17.0.2,znc@172.17.0.1",
				"tcp 6697 znc -> znc@172.17.0.1",
			},
		},
		{
			name:       "repeated entries of one container are deduplicated",
			containers: []Container{ctr(1, "web", "http://a.com, http://A.com:80/, http://a.com")},
			want:       []string{"http 80 a.com/ -> web@172.17.0.1"},
		},
		{
			name: "bad entries are skipped with a warning, the good ones kept",
			containers: []Container{
				ctr(1, "web", "htp://a.com,http://good.com,http://bad_host.com,tcp://x:70000"),
			},
			want: []string{"http 80 good.com/ -> web@172.17.0.1"},
			warn: []string{`web: htp://a.com: unsupported scheme "htp"`, "web: http://bad_host.com: host", "web: tcp://x:70000: port"},
		},
		{
			name: "http/tcp conflict: the older container keeps the port",
			containers: []Container{
				ctr(2, "newcomer", "tcp://sneaky:80"),
				ctr(1, "www", "http://example.com"),
			},
			want: []string{"http 80 example.com/ -> www@172.17.0.1"},
			warn: []string{"newcomer: tcp://sneaky:80: port 80 is already used for http by older container www"},
		},
		{
			name: "conflict: an unhealthy older owner still keeps its port",
			containers: []Container{
				with(ctr(1, "ssh", "tcp://ssh:443"), func(c *Container) { c.Health = "unhealthy" }),
				ctr(2, "web", "http://example.com:443"),
			},
			want:     nil,
			warn:     []string{"web: http://example.com:443: port 443 is already used for tcp by older container ssh"},
			excluded: []string{`ssh: health status is "unhealthy"`},
		},
		{
			name:       "the stats port is reserved",
			containers: []Container{ctr(1, "x", "tcp://x:1,tcp://y:8404,http://z.com")},
			opts:       Options{StatsAddr: "127.0.0.1:8404"},
			want:       []string{"http 80 z.com/ -> x@172.17.0.1", "tcp 1 x -> x@172.17.0.1"},
			warn:       []string{"x: tcp://y:8404: port 8404 is reserved for the statistics page"},
		},
		{
			name: "only running containers; with a health check only healthy ones",
			containers: []Container{
				with(ctr(1, "stopped", "http://a.com"), func(c *Container) { c.Running = false }),
				with(ctr(2, "starting", "http://a.com"), func(c *Container) { c.Health = "starting" }),
				with(ctr(3, "sick", "http://a.com"), func(c *Container) { c.Health = "unhealthy" }),
				with(ctr(4, "fine", "http://a.com"), func(c *Container) { c.Health = "healthy" }),
				ctr(5, "nocheck", "http://a.com"),
				ctr(6, "noenv", ""),
			},
			want:     []string{"http 80 a.com/ -> fine@172.17.0.4,nocheck@172.17.0.5"},
			excluded: []string{`sick: health status is "unhealthy"`, `starting: health status is "starting"`},
		},
		{
			name: "address: --network picks that network, others excluded",
			containers: []Container{
				with(ctr(1, "multi", "http://a.com"), func(c *Container) {
					c.Networks = []Network{{"back", "10.0.0.2"}, {"front", "10.1.0.2"}}
				}),
				ctr(2, "bridgeonly", "http://a.com"),
			},
			opts:     Options{Network: "front"},
			want:     []string{"http 80 a.com/ -> multi@10.1.0.2"},
			excluded: []string{`bridgeonly: no IP address on network "front"`},
		},
		{
			name: "address: a network shared with rproxy-gen wins, never ingress",
			containers: []Container{
				with(ctr(1, "multi", "http://a.com"), func(c *Container) {
					c.Networks = []Network{{"ingress", "10.255.0.2"}, {"back", "10.0.0.2"}, {"proxy", "10.1.0.2"}}
				}),
			},
			opts: Options{PreferNetworks: []string{"ingress", "proxy"}},
			want: []string{"http 80 a.com/ -> multi@10.1.0.2"},
		},
		{
			name: "address: else the first network by name with an IP",
			containers: []Container{
				with(ctr(1, "multi", "http://a.com"), func(c *Container) {
					c.Networks = []Network{{"zeta", "10.9.0.2"}, {"alpha", ""}, {"ingress", "10.255.0.2"}, {"beta", "10.2.0.2"}}
				}),
				with(ctr(2, "hostnet", "http://b.com"), func(c *Container) { c.Networks = []Network{{"host", ""}} }),
			},
			want:     []string{"http 80 a.com/ -> multi@10.2.0.2"},
			excluded: []string{"hostnet: no IP address on any network"},
		},
		{
			name: "unsafe container names fall back to the short ID",
			containers: []Container{
				with(ctr(1, "bad name\n", "http://a.com"), func(c *Container) { c.ID = "0123456789abcdef0123" }),
			},
			want: []string{"http 80 a.com/ -> 0123456789ab@172.17.0.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Build(tt.containers, tt.opts)
			if got := routes(m); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("routes:\n got %q\nwant %q", got, tt.want)
			}
			got := warnings(m)
			if len(got) != len(tt.warn) {
				t.Fatalf("warnings: got %q, want %d matching %q", got, len(tt.warn), tt.warn)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.warn[i]) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], tt.warn[i])
				}
			}
			var ex []string
			for _, e := range m.Excluded {
				ex = append(ex, e.Container+": "+e.Reason)
			}
			if len(ex) != len(tt.excluded) {
				t.Fatalf("excluded: got %q, want %q", ex, tt.excluded)
			}
			for i := range ex {
				if !strings.Contains(ex[i], tt.excluded[i]) {
					t.Errorf("excluded %d = %q, want it to contain %q", i, ex[i], tt.excluded[i])
				}
			}
			if err := m.Validate(); err != nil {
				t.Errorf("built model does not validate: %v", err)
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	var cs []Container
	for i := 0; i < 60; i++ {
		cs = append(cs, ctr(i, "c"+strconv.Itoa(i), []string{
			"http://a.example.com", "http://example.com/x", "tcp://t:7000", "http://b.example.com:8080/y,tcp://u:7001",
		}[i%4]))
	}
	want, err := Marshal(Build(cs, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		rng.Shuffle(len(cs), func(a, b int) { cs[a], cs[b] = cs[b], cs[a] })
		got, err := Marshal(Build(cs, Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("shuffled input gave different YAML:\n%s\nvs\n%s", got, want)
		}
	}
}

func TestModelYAMLRoundTrip(t *testing.T) {
	m := Build([]Container{
		ctr(1, "www", "http://example.com,http://example.com/api,htp://bad"),
		with(ctr(2, "sick", "http://example.com"), func(c *Container) { c.Health = "unhealthy" }),
		ctr(3, "znc", "tcp://znc:6667"),
	}, Options{Bind: "127.0.0.1", StatsAddr: "127.0.0.1:8404"})
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatalf("round trip lost data:\n%+v\n%+v", m, back)
	}
	b2, _ := Marshal(back)
	if string(b) != string(b2) {
		t.Fatalf("bytes differ after round trip:\n%s\n%s", b, b2)
	}
}

func TestUnmarshalFillsAndRejects(t *testing.T) {
	ok := `version: 1
stats: {addr: ":1"}
http:
  - port: 80
    routes:
      - {host: a.com, servers: [{name: s1, address: 10.0.0.1, port: 80}]}
      - {host: long.a.com, path: /x, servers: [{name: s2, address: "::1", port: 80}]}
`
	m, err := Unmarshal([]byte(ok))
	if err != nil {
		t.Fatalf("hand-written model: %v", err)
	}
	if r := m.HTTP[0].Routes; r[0].Host != "long.a.com" || r[1].Path != "/" || r[1].Backend != "http_80_a.com" {
		t.Fatalf("not normalized: %+v", r)
	}
	if m.Version != Version {
		t.Fatalf("version 1 model not upgraded: version %d", m.Version)
	}
	bad := []struct{ name, yaml, want string }{
		{"version", "version: 3\nstats: {addr: ':1'}\n", "version 3"},
		{"no version", "stats: {addr: ':1'}\n", "version 0"},
		{"version 1 with https", "version: 1\nstats: {addr: ':1'}\nhttps: []\ntls: [{port: 443, routes: []}]\n", "version 1 cannot"},
		{"unknown key", "version: 1\nstats: {addr: ':1'}\nbogus: 1\n", "bogus"},
		{"injected host", "version: 1\nstats: {addr: ':1'}\nhttp: [{port: 80, routes: [{host: \"a.com\\nbackend x\", servers: []}]}]\n", "RFC 1123"},
		{"injected path", "version: 1\nstats: {addr: ':1'}\nhttp: [{port: 80, routes: [{host: a.com, path: \"/ x\", servers: []}]}]\n", "not allowed"},
		{"injected server", "version: 1\nstats: {addr: ':1'}\ntcp: [{port: 9, servers: [{name: \"a b\", address: 1.2.3.4, port: 9}]}]\n", "server"},
		{"bad address", "version: 1\nstats: {addr: ':1'}\ntcp: [{port: 9, servers: [{name: a, address: \"1.2.3.4 backup\", port: 9}]}]\n", "not an IP"},
		{"injected backend", "version: 1\nstats: {addr: ':1'}\ntcp: [{port: 9, backend: \"x\\ny\", servers: []}]\n", "backend"},
		{"port twice", "version: 1\nstats: {addr: ':1'}\nhttp: [{port: 9, routes: []}]\ntcp: [{port: 9, servers: []}]\n", "already used"},
		{"stats port", "version: 1\nstats: {addr: ':9'}\ntcp: [{port: 9, servers: []}]\n", "statistics port"},
		{"bad stats", "version: 1\nstats: {addr: 'x y'}\n", "stats addr"},
		{"bad bind", "version: 1\nbind: 'a b'\nstats: {addr: ':1'}\n", "bind"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestHTTPBackendNameDistinguishesPaths(t *testing.T) {
	a := HTTPBackendName(80, "a.com", "/a-b")
	b := HTTPBackendName(80, "a.com", "/a/b")
	c := HTTPBackendName(80, "a.com", "/a_b")
	if a == b || b == c || a == c {
		t.Fatalf("names collide: %s %s %s", a, b, c)
	}
	for _, n := range []string{a, b, c, HTTPBackendName(80, "a.com", "/"), TCPBackendName(22)} {
		if err := ValidateIdent(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
