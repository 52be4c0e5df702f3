package model

import (
	"strconv"
	"strings"
	"testing"
)

func TestBackendNamesBounded(t *testing.T) {
	long := longHost(253)
	tests := []struct {
		name string
		got  string
		want string // exact name, or a prefix when wantLen is set
		max  int
	}{
		{"short names unchanged", HTTPBackendName(80, "a.com", "/"), "http_80_a.com", 0},
		{"path names unchanged", HTTPBackendName(80, "shop.example.com", "/api"), "http_80_shop.example.com_api_0b81c40a", 0},
		{"https", HTTPSBackendName(443, "a.com", "/"), "https_443_a.com", 0},
		{"tls", TLSBackendName(443, "a.com"), "tls_443_a.com", 0},
		{"tcp", TCPBackendName(22), "tcp_22", 0},
		{"redirect", RedirectBackendName(8443), "https_redirect_8443", 0},
		{"long host", HTTPBackendName(80, long, "/"), "http_80_" + long[:MaxBackendName-17-8] + "_", MaxBackendName},
		{"long host, path", HTTPSBackendName(65535, long, "/x"), "https_65535_" + long[:MaxBackendName-17-12] + "_", MaxBackendName},
		{"long tls", TLSBackendName(1, long), "tls_1_" + long[:MaxBackendName-17-6] + "_", MaxBackendName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateIdent(tt.got); err != nil {
				t.Fatal(err)
			}
			if tt.max == 0 {
				if tt.got != tt.want {
					t.Fatalf("got %q, want %q", tt.got, tt.want)
				}
				return
			}
			if len(tt.got) != tt.max || !strings.HasPrefix(tt.got, tt.want) {
				t.Fatalf("got %q (%d), want %d characters starting %q", tt.got, len(tt.got), tt.max, tt.want)
			}
		})
	}
	// Long names differing only at the end stay distinct and stable.
	a, b := HTTPBackendName(80, long, "/"), HTTPBackendName(80, "y"+long[1:], "/")
	c := HTTPBackendName(80, long[:len(long)-3]+"org", "/")
	if a == c || a == b || a != HTTPBackendName(80, long, "/") {
		t.Fatalf("shortened names collide or change: %s %s %s", a, b, c)
	}
	a, b = HTTPBackendName(80, "a.com", "/"+strings.Repeat("p", 1000)+"1"), HTTPBackendName(80, "a.com", "/"+strings.Repeat("p", 1000)+"2")
	if a == b {
		t.Fatalf("long paths collide: %s", a)
	}
}

func TestServerNames(t *testing.T) {
	long := strings.Repeat("n", 195)
	tests := []struct {
		name string
		c    Container
		want string
	}{
		{"name", Container{ID: "0123456789abcdef", Name: "web"}, "web"},
		{"unsafe name: short ID", Container{ID: "0123456789abcdef", Name: "bad name"}, "0123456789ab"},
		{"long name shortened", Container{ID: "0123456789abcdef", Name: long}, long[:MaxServerName-17] + "_"},
		{"no name, unsafe ID", Container{ID: "a b"}, "id-"},
		{"no name, no ID", Container{}, "id-"},
	}
	for _, tt := range tests {
		got := serverName(tt.c)
		if err := ValidateIdent(got); err != nil || len(got) > MaxServerName || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: serverName = %q (%v), want prefix %q", tt.name, got, err, tt.want)
		}
		if ref := containerRef(tt.c); ValidateIdent(ref) != nil || len(ref) > 12 {
			t.Errorf("%s: containerRef = %q", tt.name, ref)
		}
	}
}

func TestNormalizeServersUnique(t *testing.T) {
	long := strings.Repeat("n", 195)
	tests := []struct {
		name string
		in   []Server
		want []string
	}{
		{"distinct", []Server{{Name: "b"}, {Name: "a"}}, []string{"a", "b"}},
		{"two containers, one name", []Server{{Name: "w", Container: "c2"}, {Name: "w", Container: "c1"}}, []string{"w", "w-c2"}},
		{"one container, two ports", []Server{{Name: "w", Container: "c1", Port: 2}, {Name: "w", Container: "c1", Port: 1}, {Name: "w", Container: "c1", Port: 3}},
			[]string{"w", "w-c1", "w-c1-2"}},
		{"renamed name already taken", []Server{{Name: "w", Container: "c1"}, {Name: "w", Container: "c2"}, {Name: "w-c2", Container: "c3"}},
			[]string{"w", "w-c2", "w-c2-c3"}},
		{"long names", []Server{{Name: long, Container: "c1"}, {Name: long, Container: "c2"}}, nil},
		{"hand-written duplicates without container stay", []Server{{Name: "w"}, {Name: "w"}}, []string{"w", "w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := normalizeServers(append([]Server(nil), tt.in...))
			var names []string
			seen := map[string]bool{}
			for _, s := range out {
				names = append(names, s.Name)
				if tt.want == nil && (seen[s.Name] || len(s.Name) > 200) {
					t.Errorf("name %q repeated or too long", s.Name)
				}
				seen[s.Name] = true
			}
			if tt.want != nil && strings.Join(names, " ") != strings.Join(tt.want, " ") {
				t.Errorf("names %q, want %q", names, tt.want)
			}
			again := normalizeServers(append([]Server(nil), out...))
			for i := range again {
				if again[i] != out[i] {
					t.Fatalf("not idempotent: %+v then %+v", out, again)
				}
			}
		})
	}
}

// TestBuildBackendNameCollision: two paths whose FNV-32 hashes collide and
// whose readable forms are equal give one backend name; before the fix a
// container could make the whole model invalid this way. The newer route is
// skipped, with a warning.
func TestBuildBackendNameCollision(t *testing.T) {
	const p1, p2 = "/api:@:=@~~&@:", "/api:;!@~~+;~;"
	if HTTPBackendName(80, "a.com", p1) != HTTPBackendName(80, "a.com", p2) {
		t.Fatal("test paths no longer collide")
	}
	m := Build([]Container{
		ctr(2, "attacker", "http://a.com"+p2+",http://b.com"),
		ctr(1, "victim", "http://a.com"+p1),
	}, Options{})
	if err := m.Validate(); err != nil {
		t.Fatalf("invalid model: %v", err)
	}
	want := []string{"http 80 a.com" + p1 + " -> victim@172.17.0.1", "http 80 b.com/ -> attacker@172.17.0.2"}
	if got := routes(m); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("routes %q, want %q", got, want)
	}
	if w := warnings(m); len(w) != 1 || !strings.Contains(w[0], "attacker: http://a.com"+p2+": backend name") {
		t.Errorf("warnings %q", w)
	}
}

func TestParseAddr(t *testing.T) {
	for s, ok := range map[string]bool{
		"127.0.0.1": true, "::1": true, "fd00::5": true, "::ffff:10.0.0.1": true,
		"": false, "fe80::1%eth0": false, "::1%lo]:80 ...\n    server EVIL 1.2.3.4:80": false, "1.2.3.4%x": false,
		"localhost": false, "1.2.3.4 ": false, "[::1]": false, "01.2.3.4": false, "1.2.3.4:80": false,
	} {
		if _, err := ParseAddr(s); (err == nil) != ok {
			t.Errorf("ParseAddr(%q) = %v, want ok=%v", s, err, ok)
		}
	}
	for s, ok := range map[string]bool{
		":1": true, "127.0.0.1:8404": true, "[::1]:1": true,
		"[fe80::1%eth0]:1": false, "[::1%lo]:80 ...\n    server EVIL 1.2.3.4:80": false, "1": false, "a:1": false, ":0": false,
	} {
		if err := ValidateListenAddr(s); (err == nil) != ok {
			t.Errorf("ValidateListenAddr(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

// TestBuildShortIDCollision: containers whose 12-character IDs collide are
// still distinct servers (an earlier draft merged them).
func TestBuildShortIDCollision(t *testing.T) {
	var cs []Container
	for i, name := range []string{"rr-1", "rr-2", "rr-3"} {
		cs = append(cs, with(ctr(i, name, "http://rr.example.com,tcp://x:7000,tcp://y:7000"), func(c *Container) {
			c.ID = strings.Repeat("0", 63) + strconv.Itoa(i)
		}))
	}
	m := Build(cs, Options{})
	want := []string{
		"http 80 rr.example.com/ -> rr-1@172.17.0.0,rr-2@172.17.0.1,rr-3@172.17.0.2",
		"tcp 7000 x+y -> rr-1@172.17.0.0,rr-2@172.17.0.1,rr-3@172.17.0.2",
	}
	if got := routes(m); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("routes %q, want %q", got, want)
	}
}
