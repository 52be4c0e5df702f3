package model

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkTokens fails when a value a template may print holds anything but
// the characters of its validated token class, or breaks the name bounds
// Build promises (built is true for models from Build).
func checkTokens(t *testing.T, m *Model, built bool) {
	t.Helper()
	const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"
	const hostChars = "abcdefghijklmnopqrstuvwxyz0123456789-."
	const pathChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~!$&+=;:@%"
	token := func(what, s, chars string, max int) {
		t.Helper()
		if s == "" || len(s) > max || strings.Trim(s, chars) != "" {
			t.Fatalf("%s %q: outside its token class (max %d)", what, s, max)
		}
	}
	port := func(what string, p int) {
		t.Helper()
		if p < 1 || p > 65535 {
			t.Fatalf("%s port %d", what, p)
		}
	}
	backendMax, serverMax := 200, 200
	if built {
		backendMax, serverMax = MaxBackendName, MaxServerName
	}
	servers := func(ss []Server) {
		for _, s := range ss {
			token("server", s.Name, nameChars, serverMax)
			if s.Container != "" {
				token("container", s.Container, nameChars, 200)
			}
			if strings.Trim(s.Address, "0123456789abcdefABCDEF.:") != "" {
				t.Fatalf("address %q", s.Address)
			}
			port("server", s.Port)
		}
	}
	if m.Bind != "" && strings.Trim(m.Bind, "0123456789abcdefABCDEF.:") != "" {
		t.Fatalf("bind %q", m.Bind)
	}
	if strings.Trim(m.Stats.Addr, "0123456789abcdefABCDEF.:[]") != "" {
		t.Fatalf("stats addr %q", m.Stats.Addr)
	}
	for _, list := range [][]HTTPPort{m.HTTP, m.HTTPS} {
		for _, p := range list {
			port("http", p.Port)
			for _, r := range p.Routes {
				token("host", r.Host, hostChars, 253)
				token("path", r.Path, pathChars, 1024)
				token("backend", r.Backend, nameChars, backendMax)
				servers(r.Servers)
			}
			for _, r := range p.Redirects {
				token("redirect host", r.Host, hostChars, 253)
				token("redirect path", r.Path, pathChars, 1024)
				token("redirect backend", r.Backend, nameChars, backendMax)
				port("redirect", r.To)
			}
		}
	}
	for _, p := range m.TLS {
		port("tls", p.Port)
		for _, r := range p.Routes {
			token("tls host", r.Host, hostChars, 253)
			token("tls backend", r.Backend, nameChars, backendMax)
			servers(r.Servers)
		}
	}
	for _, p := range m.TCP {
		port("tcp", p.Port)
		token("tcp backend", p.Backend, nameChars, backendMax)
		for _, n := range p.Names {
			token("tcp name", n, hostChars, 253)
		}
		servers(p.Servers)
	}
	if c := m.Certificates; c != nil {
		token("cert dir", c.Dir, nameChars+"/+@~=", 1024)
		for _, f := range c.Files {
			token("cert file", f.File, nameChars+"+", 255)
			for _, n := range f.Names {
				token("cert name", n, hostChars+"*", 255)
			}
		}
		for _, h := range c.Uncovered {
			token("uncovered", h, hostChars, 253)
		}
	}
}

// roundTrip checks that m survives Marshal and Unmarshal unchanged, bytes
// included.
func roundTrip(t *testing.T, m *Model) []byte {
	t.Helper()
	b, err := Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("the model's own YAML does not read back: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatalf("round trip changed the model:\n%#v\n%#v", m, back)
	}
	b2, err := Marshal(back)
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("YAML differs after a round trip (%v):\n%s\n%s", err, b, b2)
	}
	return b
}

// FuzzBuild feeds random RPROXY values, names, IDs, addresses, networks and
// health states to Build, with and without certificates, bind, network and
// stats options. Whatever the containers say, the model validates, holds
// nothing outside its token classes, round-trips through YAML, does not
// depend on the order of the containers, and every warning names a
// container.
func FuzzBuild(f *testing.F) {
	long := longHost(253)
	seeds := [][5]string{
		{"http://example.com,tcp://x:22", "https://app.example.com?to=3000", "tls://mail.example.com", "web", "10.0.0.2"},
		{"http://" + long, "http://" + long + "/" + strings.Repeat("p", 1000), "https://" + long, strings.Repeat("n", 200), "10.0.0.3"},
		{"https://a.com:8443?to=80&redirect=8080", "http://a.com:8080", "tcp://raw:8080", "x", "fd00::1"},
		{"http://a.com/api:@:=@~~&@:", "http://a.com/api:;!@~~+;~;", "https://a.com?redirect=off", "y", "10.0.0.4"},
		{"tcp://sneaky:80", "https://a.example.com", "http://a.example.com", "z", "::1%lo]:80 ...\n    server EVIL 1.2.3.4:80"},
		{"https://a.com?to=3000\n    server EVIL 1.2.3.4:80", "http://a.com?to=1&to=2", "tls://a.com/x", "bad name\n", "fe80::1%eth0"},
		{"tls://example.com,https://example.com", "tls://a.example.com,https://b.example.com", "https://example.com:1", "", ""},
		{"http://a.com?to=8080,http://a.com?to=8081,http://a.com", "tcp://a:7?to=1,tcp://b:7?to=1", "https://x.org:444?redirect=443", "w", "0.0.0.0"},
		{"\xff\xfe", "http://\x00", "https://a.com?redirect=\xff", "\xff", "1.2.3.4"},
	}
	for i, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], "bridge", strconv.Itoa(i)+"abc", "healthy", uint8(i*37))
	}
	certs := testCerts()
	f.Fuzz(func(t *testing.T, r1, r2, r3, name, ip, network, id, health string, flags uint8) {
		t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cs := []Container{
			{ID: id, Name: name, Created: t1, Running: true, Health: health, RProxy: r1,
				Networks: []Network{{Name: network, IP: ip}, {Name: "bridge", IP: "172.17.0.2"}}},
			{ID: id + "2", Name: "b", Created: t1.Add(time.Duration(flags&1) * time.Second), Running: true, RProxy: r2,
				Networks: []Network{{Name: "bridge", IP: "172.17.0.3"}}},
			{ID: id, Name: name, Created: t1.Add(time.Minute), Running: flags&2 == 0, RProxy: r3,
				Networks: []Network{{Name: Ingress, IP: "10.255.0.2"}, {Name: network, IP: "fd00::3"}}},
			{ID: "ffff", Name: "web", Created: t1.Add(time.Duration(flags%7) * time.Second), Running: true,
				RProxy:   "https://example.com,tls://example.org,tcp://x:80,http://example.com:8443",
				Networks: []Network{{Name: "bridge", IP: "172.17.0.9"}}},
		}
		var opts Options
		if flags&4 != 0 {
			opts.Certs = certs
		}
		if flags&8 != 0 {
			opts.Bind = "127.0.0.1"
		}
		if flags&16 != 0 {
			opts.Network = network
		}
		if flags&32 != 0 {
			opts.StatsAddr = "127.0.0.1:8080"
		}
		m := Build(cs, opts)
		if err := m.Validate(); err != nil {
			t.Fatalf("Build gave an invalid model: %v", err)
		}
		checkTokens(t, m, true)
		b := roundTrip(t, m)
		rev := []Container{cs[3], cs[2], cs[1], cs[0]}
		if b2, _ := Marshal(Build(rev, opts)); !bytes.Equal(b, b2) {
			t.Fatalf("the order of the containers changed the model:\n%s\n%s", b, b2)
		}
		names := map[string]bool{}
		for _, c := range cs {
			names[c.DisplayName()] = true
		}
		for _, w := range m.Warnings {
			if !names[w.Container] || w.Entry == "" || w.Reason == "" {
				t.Fatalf("warning does not name container, entry and reason: %+v", w)
			}
		}
	})
}

// FuzzUnmarshal feeds random YAML to Unmarshal: it never panics, and a model
// it accepts validates, holds nothing outside its token classes and
// round-trips through Marshal and Unmarshal unchanged.
func FuzzUnmarshal(f *testing.F) {
	goldens, _ := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.model.yaml"))
	for _, g := range goldens {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(b)
		}
	}
	const head = "version: 2\nstats: {addr: ':1'}\n"
	const certs = "certificates: {dir: /c, default: a.pem, files: [{file: a.pem, names: ['*.example.com']}]}\n"
	for _, s := range []string{
		"version: 1\nstats: {addr: ':1'}\nhttp: [{port: 80, routes: [{host: a.com, servers: [{name: s, address: 10.0.0.1, port: 80}]}]}]\n",
		head + certs + "http: [{port: 80, routes: [], redirects: [{host: a.example.com, to: 443}]}]\nhttps: [{port: 443, routes: [{host: a.example.com, servers: [{name: s, address: 10.0.0.1, port: 3000}]}]}]\ntls: [{port: 443, routes: [{host: mail.example.com, servers: []}]}]\n",
		head + "bind: \"::1%lo]:80 ...\\n    server EVIL 1.2.3.4:80\"\n",
		head + "tcp: [{port: 9, servers: [{name: a, address: \"::1%lo]:80 ...\\n    server EVIL 1.2.3.4:80\", port: 9}]}]\n",
		head + "tcp: [{port: 9, servers: [{name: w, container: c, address: ::1, port: 9}, {name: w, container: c, address: ::1, port: 9}]}]\n",
		head + "tcp: [{port: 9, servers: [{name: w, address: ::1, port: 9}, {name: w, address: ::1, port: 9}]}]\n",
		head + "http: [{port: 80, routes: [{host: a.com, path: \"/\\nx\", servers: []}]}]\n",
		head + certs + "uncovered: [x]\n",
		head + "warnings: [{container: \"\\u0085\", entry: \"\\xff\", reason: \"a\\nb\"}]\nexcluded: [{container: '', reason: ''}]\n",
		head + "http: []\nhttps: []\ntls: []\ntcp: []\nwarnings: []\n",
		head + "http: [{port: 80, routes: [{host: a.com, servers: [{name: s, address: 10.0.0.1, port: 80}]}, {host: a.com, backend: http_80_a.com, servers: []}]}]\n",
		"version: 2\nstats: {addr: '[fe80::1%eth0]:1'}\n",
		"version: 1\nstats: {addr: ':1'}\nhttps: []\ncertificates: {dir: /c}\n",
		"&a [*a]", "version: !!binary AQ==\n", "- 1\n- 2\n", "version: 2\nversion: 2\n", "{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Unmarshal accepted an invalid model: %v", err)
		}
		checkTokens(t, m, false)
		roundTrip(t, m)
	})
}
