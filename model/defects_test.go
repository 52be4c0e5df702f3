package model

import (
	"strings"
	"testing"
)

// label63 is a valid 63-character DNS label.
var label63 = strings.Repeat("a", 62) + "b"

// longHost returns a valid hostname of exactly n characters (n >= 5).
func longHost(n int) string {
	var labels []string
	for rest := n - 4; rest > 0; { // 4 = len(".com")
		l := min(rest, 63)
		if rest-l == 1 { // avoid leaving a one-character remainder that needs a dot too
			l--
		}
		labels = append(labels, strings.Repeat("x", l))
		rest -= l + 1
	}
	h := strings.Join(labels, ".") + ".com"
	return h[len(h)-n:]
}

// TestBuildNeverInvalid is defect 1 of issue 7: one container with a long
// but valid host, path or name must not make the whole model invalid.
func TestBuildNeverInvalid(t *testing.T) {
	long195 := strings.Repeat("n", 195)
	tests := []struct {
		name       string
		containers []Container
	}{
		{"host of 200 characters", []Container{ctr(1, "web", "http://"+longHost(200))}},
		{"host of 253 characters", []Container{ctr(1, "web", "http://"+longHost(253))}},
		{"long host plus a path", []Container{ctr(1, "web", "http://"+longHost(180)+"/"+strings.Repeat("p", 100))}},
		{"long container names made unique", []Container{
			with(ctr(1, long195, "http://a.com"), func(c *Container) { c.ID = strings.Repeat("1", 64) }),
			with(ctr(2, long195, "http://a.com"), func(c *Container) { c.ID = strings.Repeat("2", 64) }),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Build(tt.containers, Options{})
			if err := m.Validate(); err != nil {
				t.Fatalf("Build gave an invalid model: %v", err)
			}
			n := 0
			for _, hp := range m.HTTP {
				for _, r := range hp.Routes {
					n++
					if len(r.Backend) > 100 {
						t.Errorf("backend name of %d characters", len(r.Backend))
					}
					for _, s := range r.Servers {
						if len(s.Name) > 64 {
							t.Errorf("server name of %d characters", len(s.Name))
						}
					}
				}
			}
			if n == 0 {
				t.Errorf("the route was dropped: %+v", m.Warnings)
			}
		})
	}
}

// TestZonesRejected is defect 4 of issue 7: an IPv6 zone carries any text,
// so every address that enters a model must be refused when it has one.
func TestZonesRejected(t *testing.T) {
	evil := "::1%lo]:80 ...\n    server EVIL 1.2.3.4:80"
	docs := map[string]string{
		"bind":           "version: 1\nbind: " + quoteYAML(evil) + "\nstats: {addr: ':1'}\n",
		"plain zone":     "version: 1\nbind: 'fe80::1%eth0'\nstats: {addr: ':1'}\n",
		"stats addr":     "version: 1\nstats: {addr: " + quoteYAML("["+evil+"]:1") + "}\n",
		"stats zone":     "version: 1\nstats: {addr: '[fe80::1%eth0]:1'}\n",
		"server address": "version: 1\nstats: {addr: ':1'}\ntcp: [{port: 9, servers: [{name: a, address: " + quoteYAML(evil) + ", port: 9}]}]\n",
		"server zone":    "version: 1\nstats: {addr: ':1'}\ntcp: [{port: 9, servers: [{name: a, address: 'fe80::1%eth0', port: 9}]}]\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			if m, err := Unmarshal([]byte(doc)); err == nil {
				t.Fatalf("accepted: %+v", m)
			}
		})
	}
	t.Run("container address", func(t *testing.T) {
		c := with(ctr(1, "web", "http://a.com"), func(c *Container) {
			c.Networks = []Network{{Name: "a", IP: evil}, {Name: "b", IP: "fe80::1%eth0"}}
		})
		m := Build([]Container{c}, Options{})
		if len(m.HTTP) != 0 || len(m.Excluded) != 1 {
			t.Fatalf("zoned address used: %+v", m)
		}
	})
}

func quoteYAML(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestStatsFollowsBind is defect 12 of issue 7: with --bind and no
// --stats-addr the statistics page listens on the bind address only.
func TestStatsFollowsBind(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{}, ":1"},
		{Options{Bind: "127.0.0.1"}, "127.0.0.1:1"},
		{Options{Bind: "::1"}, "[::1]:1"},
		{Options{Bind: "127.0.0.1", StatsAddr: ":8404"}, ":8404"},
		{Options{StatsAddr: "10.0.0.1:9"}, "10.0.0.1:9"},
	}
	for _, tt := range tests {
		m := Build(nil, tt.opts)
		if m.Stats.Addr != tt.want {
			t.Errorf("%+v: stats addr %q, want %q", tt.opts, m.Stats.Addr, tt.want)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%+v: %v", tt.opts, err)
		}
	}
}
