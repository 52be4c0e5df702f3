package model

import (
	"strings"
	"testing"
)

// TestServerHealthcheck: a server says whether its container has a Docker
// health check; the YAML mentions it only when it does, and models written
// before the field existed still read (as servers without one).
func TestServerHealthcheck(t *testing.T) {
	m := Build([]Container{
		with(ctr(1, "checked", "http://a.com"), func(c *Container) { c.Health = "healthy" }),
		ctr(2, "plain", "http://a.com"),
	}, Options{MaxFiles: 50000})
	servers := m.HTTP[0].Routes[0].Servers
	if len(servers) != 2 || !servers[0].Healthcheck || servers[1].Healthcheck {
		t.Fatalf("servers %+v: want checked with Healthcheck, plain without", servers)
	}
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "healthcheck: true"); n != 1 || strings.Contains(string(b), "healthcheck: false") {
		t.Errorf("YAML has %d healthcheck lines (want 1, true only):\n%s", n, b)
	}
	if !strings.Contains(string(b), "\nmax_files: 50000\n") {
		t.Errorf("YAML lacks max_files:\n%s", b)
	}
	old := `version: 2
stats: {addr: ":1"}
http:
  - port: 80
    routes:
      - host: a.com
        path: /
        servers: [{name: a, address: 10.0.0.1, port: 80}]
`
	back, err := Unmarshal([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if s := back.HTTP[0].Routes[0].Servers[0]; s.Healthcheck || back.MaxFiles != 0 {
		t.Errorf("an older model reads as %+v, max files %d", s, back.MaxFiles)
	}
}

func TestMaxFilesValidated(t *testing.T) {
	for _, tt := range []struct {
		n  int
		ok bool
	}{{0, true}, {MinMaxFiles, true}, {1 << 20, true}, {MinMaxFiles - 1, false}, {-1, false}} {
		if err := (Options{MaxFiles: tt.n}).Validate(); (err == nil) != tt.ok {
			t.Errorf("Options{MaxFiles: %d}.Validate() = %v", tt.n, err)
		}
		m := &Model{Version: Version, Stats: Stats{Addr: ":1"}, MaxFiles: tt.n}
		if err := m.Validate(); (err == nil) != tt.ok {
			t.Errorf("model with max files %d: Validate() = %v", tt.n, err)
		}
	}
}
