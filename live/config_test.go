package live

import (
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// cfgText builds a small config: global and defaults, then the sections.
func cfgText(defaults string, sections ...string) string {
	return "global\n    maxconn 100\n\ndefaults\n    mode http\n" + defaults + "\n" + strings.Join(sections, "\n") + "\n"
}

func TestParseConfig(t *testing.T) {
	text := cfgText("",
		"frontend f\n    bind :80\n    use_backend %[req.hdr(host),lower,map_beg(out.http.map)]\n    tcp-request content set-var(txn.b) dst_port,map(/etc/haproxy/out.tcp.map)",
		"backend b1\n    balance roundrobin\n    server s1 10.0.0.1:80 check inter 2s\n    server s2 [fd00::2]:8080 check",
		"backend static\n    balance static-rr\n    server s1 10.0.0.1:80",
		"backend src\n    balance source\n    hash-type consistent\n    server s1 10.0.0.1:80",
		"backend defsrv\n    default-server check\n    server s1 10.0.0.1:80",
		"backend odd\n    server quoted 10.0.0.1:80 check # comment\n    server named app:80 check\n    server noport 10.0.0.1 check",
		"listen l\n    bind :81\n    server s1 10.0.0.9:81",
	)
	c := parseConfig([]byte(text))
	if got := strings.Join(c.order, ","); got != "b1,static,src,defsrv,odd,l" {
		t.Errorf("backends %s", got)
	}
	for name, want := range map[string]bool{"b1": true, "static": false, "src": true, "defsrv": false, "odd": true, "l": true} {
		if b := c.backends[name]; b.dynamic != want {
			t.Errorf("backend %s dynamic = %v (%s), want %v", name, b.dynamic, b.why, want)
		}
	}
	b1 := c.backends["b1"]
	if s := b1.servers["s2"]; s.addr.String() != "[fd00::2]:8080" || s.options != "check" {
		t.Errorf("s2 = %+v", s)
	}
	if s := b1.servers["s1"]; s.options != "check inter 2s" {
		t.Errorf("s1 options %q", s.options)
	}
	// Lines rproxy-gen cannot reproduce stay in the skeleton.
	odd := c.backends["odd"]
	if len(odd.servers) != 0 {
		t.Errorf("odd servers %v, want none parsed", odd.servers)
	}
	skel := strings.Join(c.skeleton, "\n")
	for _, want := range []string{"server quoted", "server named app:80", "server noport"} {
		if !strings.Contains(skel, want) {
			t.Errorf("skeleton lacks %q", want)
		}
	}
	if strings.Contains(skel, "10.0.0.9") || strings.Contains(skel, "fd00::2") {
		t.Errorf("skeleton holds server lines:\n%s", skel)
	}
	if c.maps["out.http.map"] != "out.http.map" || c.maps["out.tcp.map"] != "/etc/haproxy/out.tcp.map" {
		t.Errorf("maps %v", c.maps)
	}
	withDefault := parseConfig([]byte(cfgText("    default-server check", "backend b\n    server s 10.0.0.1:80")))
	if b := withDefault.backends["b"]; b.dynamic || !strings.Contains(b.why, "default-server") {
		t.Errorf("default-server in defaults: dynamic %v (%s)", b.dynamic, b.why)
	}
	named := parseConfig([]byte(cfgText("", "backend b from other\n    server s 10.0.0.1:80")))
	if named.backends["b"].dynamic {
		t.Errorf("a backend with options in its header must not be taken as dynamic")
	}
}

func TestDynamicBalance(t *testing.T) {
	for _, tt := range []struct {
		algo       string
		consistent bool
		want       bool
	}{
		{"", false, true}, {"roundrobin", false, true}, {"leastconn", false, true}, {"first", false, true},
		{"random(2)", false, true}, {"static-rr", false, false}, {"static-rr", true, false},
		{"source", false, false}, {"source", true, true}, {"uri whole", false, false}, {"uri", true, true},
		{"hdr(host)", false, false}, {"hdr(host)", true, true},
	} {
		if got, why := dynamicBalance(tt.algo, tt.consistent); got != tt.want {
			t.Errorf("dynamicBalance(%q, %v) = %v (%s), want %v", tt.algo, tt.consistent, got, why, tt.want)
		}
	}
}

func TestParseMap(t *testing.T) {
	m := parseMap([]byte("# header\n\na.example:80/ be_a\n  b.example:80/x\tbe_b  \nc be c\n"))
	want := mapFile{"a.example:80/": "be_a", "b.example:80/x": "be_b", "c": "be c"}
	if !m.equal(want) {
		t.Errorf("parseMap = %v, want %v", m, want)
	}
}

// rendered makes a render of a config and its map files.
func rendered(cfg string, maps map[string]string) *render.Rendered {
	r := &render.Rendered{Main: []byte(cfg)}
	for name, data := range maps {
		r.Files = append(r.Files, render.AuxFile{Name: name, Data: []byte(data)})
	}
	return r
}

func TestDecide(t *testing.T) {
	front := "frontend f\n    bind :80\n    use_backend %[req.hdr(host),map_beg(out.http.map)]"
	be := func(servers ...string) string {
		return "backend b1\n    balance roundrobin\n" + strings.Join(servers, "\n")
	}
	s1 := "    server s1 10.0.0.1:80 check inter 2s"
	s2 := "    server s2 10.0.0.2:80 check inter 2s"
	base := rendered(cfgText("", front, be(s1, s2)), map[string]string{"out.http.map": "# routes\na:80/ b1\n", "out.tcp.map": "# none\n"})
	tests := []struct {
		name   string
		cfg    string
		maps   map[string]string
		plan   string // plan.String(), or "" when a reload is wanted
		reason string // part of the reload reason
	}{
		{"nothing", cfgText("", front, be(s1, s2)), nil, "nothing", ""},
		{"server order", cfgText("", front, be(s2, s1)), nil, "nothing", ""},
		{"added", cfgText("", front, be(s1, s2, "    server s3 10.0.0.3:80 check inter 2s")), nil, "added b1/s3", ""},
		{"removed", cfgText("", front, be(s1)), nil, "removed b1/s2", ""},
		{"moved", cfgText("", front, be(s1, "    server s2 10.0.0.9:80 check inter 2s")), nil, "moved b1/s2", ""},
		{"port moved", cfgText("", front, be(s1, "    server s2 10.0.0.2:81 check inter 2s")), nil, "moved b1/s2", ""},
		{"all at once", cfgText("", front, be("    server s1 10.0.0.5:80 check inter 2s", "    server s4 10.0.0.4:80 check inter 2s")), nil,
			"added b1/s4; removed b1/s2; moved b1/s1", ""},
		{"settings changed", cfgText("", front, be(s1, "    server s2 10.0.0.2:80 check inter 5s")), nil, "", "settings of server b1/s2"},
		{"new backend", cfgText("", front, be(s1, s2), "backend b2\n    server x 10.0.0.7:80"), nil, "", "beyond server lines"},
		{"global changed", strings.Replace(cfgText("", front, be(s1, s2)), "maxconn 100", "maxconn 200", 1), nil, "", "maxconn 200"},
		{"cookie refused", cfgText("", front, be(s1, s2, "    server s3 10.0.0.3:80 cookie s3")), nil, "", `"cookie"`},
		{"map entry", cfgText("", front, be(s1, s2)), map[string]string{"out.http.map": "# routes\na:80/ b1\nb:80/ b1\n"}, "maps out.http.map", ""},
		{"map comment only", cfgText("", front, be(s1, s2)), map[string]string{"out.http.map": "# routes!\na:80/ b1\n"}, "nothing", ""},
		{"file not a map", cfgText("", front, be(s1, s2)), map[string]string{"out.tcp.map": "# other\n"}, "", "not a map"},
		{"file added", cfgText("", front, be(s1, s2)), map[string]string{"out.extra": "x\n"}, "", "added or removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maps := map[string]string{"out.http.map": "# routes\na:80/ b1\n", "out.tcp.map": "# none\n"}
			for k, v := range tt.maps {
				maps[k] = v
			}
			p, err := decide(newFiles(base), newFiles(rendered(tt.cfg, maps)))
			switch {
			case tt.plan == "" && err == nil:
				t.Fatalf("plan %q, want a reload (%s)", p, tt.reason)
			case tt.plan == "" && !strings.Contains(err.Error(), tt.reason):
				t.Errorf("reload reason %q, want it to mention %q", err, tt.reason)
			case tt.plan != "" && err != nil:
				t.Fatalf("reload (%v), want plan %q", err, tt.plan)
			case tt.plan != "" && p.String() != tt.plan:
				t.Errorf("plan %q, want %q", p, tt.plan)
			}
		})
	}
	// A backend with a static algorithm: servers may go and move, not come.
	st := func(servers ...string) string {
		return cfgText("", front, "backend b1\n    balance static-rr\n"+strings.Join(servers, "\n"))
	}
	stBase := newFiles(rendered(st(s1, s2), map[string]string{"out.http.map": "a:80/ b1\n"}))
	if p, err := decide(stBase, newFiles(rendered(st(s1), map[string]string{"out.http.map": "a:80/ b1\n"}))); err != nil || p.String() != "removed b1/s2" {
		t.Errorf("static-rr removal: %v %v", p, err)
	}
	if _, err := decide(stBase, newFiles(rendered(st(s1, s2, "    server s3 10.0.0.3:80 check inter 2s"), map[string]string{"out.http.map": "a:80/ b1\n"}))); err == nil || !strings.Contains(err.Error(), "static") {
		t.Errorf("static-rr addition: %v, want a reload naming the algorithm", err)
	}
}

// TestDecideBuiltinTemplate runs decide on renders of the built-in template:
// a replica more is a server added, a new route needs a reload.
func TestDecideBuiltinTemplate(t *testing.T) {
	tmpl, err := render.Load("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	srv := func(name, ip string) model.Server {
		return model.Server{Name: name, Container: name, Address: ip, Port: 80}
	}
	mk := func(routes ...model.HTTPRoute) *files {
		m := &model.Model{Version: model.Version, Stats: model.Stats{Addr: ":1"}, HTTP: []model.HTTPPort{{Port: 80, Routes: routes}}}
		m.Normalize()
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		r, err := tmpl.RenderWith(m, "haproxy", render.Settings{HAProxySocket: "/run/h.sock", HardStopAfter: "5m"})
		if err != nil {
			t.Fatal(err)
		}
		return newFiles(r)
	}
	app := model.HTTPRoute{Host: "app.example.com", Path: "/", Servers: []model.Server{srv("web1", "10.0.0.1")}}
	two := app
	two.Servers = append([]model.Server{}, app.Servers...)
	two.Servers = append(two.Servers, srv("web2", "10.0.0.2"))
	p, err := decide(mk(app), mk(two))
	if err != nil || len(p.add) != 1 || p.add[0].server != "web2" {
		t.Fatalf("a replica more: plan %v, err %v", p, err)
	}
	other := model.HTTPRoute{Host: "other.example.com", Path: "/", Servers: []model.Server{srv("o1", "10.0.0.5")}}
	if p, err := decide(mk(app), mk(app, other)); err == nil {
		t.Fatalf("a new route: plan %v, want a reload", p)
	}
}
