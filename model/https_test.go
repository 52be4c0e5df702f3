package model

import (
	"reflect"
	"strings"
	"testing"
)

// testCerts is a certificate directory with one wildcard certificate.
func testCerts() *Certificates {
	return &Certificates{Dir: "/etc/rproxy/certs", Default: "default.pem", Files: []CertFile{
		{File: "default.pem", Names: []string{"*.example.com", "example.com"}},
		{File: "shop.pem", Names: []string{"shop.example.org"}},
	}}
}

func TestBuildHTTPSAndTLS(t *testing.T) {
	certs := Options{Certs: testCerts()}
	tests := []struct {
		name       string
		containers []Container
		opts       Options
		want       []string // routes(m)
		warn       []string // substrings, one per warning, in order
		uncovered  []string
	}{
		{
			name: "the contract of issue 8",
			containers: []Container{
				ctr(1, "app", "https://app.example.com?to=3000"),
				ctr(2, "api", "https://app.example.com/api?to=8080"),
				ctr(3, "shop", "https://shop.example.org:8443?to=80&redirect=8080"),
				ctr(4, "mail", "tls://mail.example.com:993"),
				ctr(5, "wiki", "http://wiki.example.com?to=3000"),
				ctr(6, "db", "tcp://db:5432?to=15432"),
			},
			opts: certs,
			want: []string{
				"http 80 wiki.example.com/ -> wiki@172.17.0.5:3000",
				"redirect 80 app.example.com/api -> https 443 (https_redirect_443)",
				"redirect 80 app.example.com/ -> https 443 (https_redirect_443)",
				"redirect 8080 shop.example.org/ -> https 8443 (https_redirect_8443)",
				"https 443 app.example.com/api -> api@172.17.0.2:8080",
				"https 443 app.example.com/ -> app@172.17.0.1:3000",
				"https 8443 shop.example.org/ -> shop@172.17.0.3:80",
				"tls 993 mail.example.com -> mail@172.17.0.4",
				"tcp 5432 db -> db@172.17.0.6:15432",
			},
		},
		{
			name:       "https without --certs is skipped with a warning that says so",
			containers: []Container{ctr(1, "app", "https://app.example.com,http://b.com")},
			want:       []string{"http 80 b.com/ -> app@172.17.0.1"},
			warn:       []string{"app: https://app.example.com: https needs certificates: pass --certs DIR"},
		},
		{
			name:       "https with an empty certificate directory",
			containers: []Container{ctr(1, "app", "https://app.example.com")},
			opts:       Options{Certs: &Certificates{Dir: "/certs"}},
			warn:       []string{`no usable .pem file in "/certs"; check --certs DIR`},
		},
		{
			name: "tls: replicas share a backend, longest host first, no redirect",
			containers: []Container{
				ctr(1, "mx1", "tls://mail.example.com"),
				ctr(2, "mx2", "TLS://Mail.Example.com:443?to=443"),
				ctr(3, "catchall", "tls://example.com"),
			},
			want: []string{
				"tls 443 mail.example.com -> mx1@172.17.0.1,mx2@172.17.0.2",
				"tls 443 example.com -> catchall@172.17.0.3",
			},
		},
		{
			name: "https and tls share a port; the same host on both: the oldest wins",
			containers: []Container{
				ctr(1, "site", "https://example.com?redirect=off"),
				ctr(2, "mail", "tls://mail.example.com"),
				ctr(3, "thief", "tls://example.com"),
				ctr(4, "late", "https://mail.example.com"),
			},
			opts: certs,
			want: []string{
				"https 443 example.com/ -> site@172.17.0.1:80",
				"tls 443 mail.example.com -> mail@172.17.0.2",
			},
			warn: []string{
				"late: https://mail.example.com: host mail.example.com on port 443 is already used for tls by older container mail",
				"thief: tls://example.com: host example.com on port 443 is already used for https by older container site",
			},
		},
		{
			name: "http/tcp against https/tls: the oldest kind keeps the port",
			containers: []Container{
				ctr(1, "ssh", "tcp://ssh:443"),
				ctr(2, "web", "https://a.example.com"),
				ctr(3, "mail", "tls://mail.example.com"),
				ctr(4, "sec", "https://b.example.com:8443"),
				ctr(5, "plain", "http://c.example.com:8443"),
				ctr(6, "tcp", "tcp://x:8443"),
			},
			opts: certs,
			want: []string{
				"https 8443 b.example.com/ -> sec@172.17.0.4:80",
				"tcp 443 ssh -> ssh@172.17.0.1",
			},
			warn: []string{
				"mail: tls://mail.example.com: port 443 is already used for tcp by older container ssh",
				"plain: http://c.example.com:8443: port 8443 is already used for https by older container sec",
				"tcp: tcp://x:8443: port 8443 is already used for https by older container sec",
				"web: https://a.example.com: port 443 is already used for tcp by older container ssh",
			},
		},
		{
			name: "a redirect is an http claim: an older tcp port 80 skips the https entry",
			containers: []Container{
				ctr(1, "raw", "tcp://raw:80"),
				ctr(2, "web", "https://a.example.com"),
				ctr(3, "web2", "https://b.example.com?redirect=off"),
			},
			opts: certs,
			want: []string{"https 443 b.example.com/ -> web2@172.17.0.3:80", "tcp 80 raw -> raw@172.17.0.1"},
			warn: []string{"web: https://a.example.com: redirect port 80 is already used for tcp by older container raw; set redirect=off"},
		},
		{
			name: "an older redirect keeps port 80 for http against a newer tcp entry",
			containers: []Container{
				ctr(1, "web", "https://a.example.com"),
				ctr(2, "raw", "tcp://raw:80"),
			},
			opts: certs,
			want: []string{"redirect 80 a.example.com/ -> https 443 (https_redirect_443)", "https 443 a.example.com/ -> web@172.17.0.1:80"},
			warn: []string{"raw: tcp://raw:80: port 80 is already used for an https redirect by older container web"},
		},
		{
			name: "an explicit http route with the same host and path wins over the redirect; other paths share the lookup",
			containers: []Container{
				ctr(1, "web", "https://a.example.com,https://b.example.com"),
				ctr(2, "plain", "http://a.example.com"),
				ctr(3, "acme", "http://b.example.com/.well-known/acme-challenge/"),
			},
			opts: certs,
			want: []string{
				"http 80 a.example.com/ -> plain@172.17.0.2",
				"http 80 b.example.com/.well-known/acme-challenge/ -> acme@172.17.0.3",
				"redirect 80 b.example.com/ -> https 443 (https_redirect_443)",
				"https 443 a.example.com/ -> web@172.17.0.1:80",
				"https 443 b.example.com/ -> web@172.17.0.1:80",
			},
		},
		{
			name: "two https ports redirecting the same host and path from one http port: the oldest wins",
			containers: []Container{
				ctr(1, "a", "https://a.example.com:8443?redirect=80"),
				ctr(2, "b", "https://a.example.com"),
				ctr(3, "c", "https://a.example.com"),
			},
			opts: certs,
			want: []string{
				"redirect 80 a.example.com/ -> https 8443 (https_redirect_8443)",
				"https 8443 a.example.com/ -> a@172.17.0.1:80",
			},
			warn: []string{
				"b: https://a.example.com: http port 80 already redirects a.example.com/ to https port 8443 for older container a",
				"c: https://a.example.com: http port 80 already redirects",
			},
		},
		{
			name:       "redirect or port on the statistics port",
			containers: []Container{ctr(1, "web", "https://a.example.com:8443?redirect=1,https://b.example.com:1")},
			opts:       certs,
			warn: []string{
				"web: https://a.example.com:8443?redirect=1: redirect port 1 is reserved for the statistics page",
				"web: https://b.example.com:1: port 1 is reserved",
			},
		},
		{
			name:       "entries without redirect are not taken for the statistics port when it has none",
			containers: []Container{ctr(1, "web", "https://a.example.com:8443,http://b.com")},
			opts:       Options{Certs: testCerts(), StatsAddr: "unix@/x"},
			want:       []string{"http 80 b.com/ -> web@172.17.0.1", "https 8443 a.example.com/ -> web@172.17.0.1:80"},
		},
		{
			name: "an unhealthy https container keeps its ports and makes no redirect",
			containers: []Container{
				with(ctr(1, "sick", "https://a.example.com"), func(c *Container) { c.Health = "unhealthy" }),
				ctr(2, "raw", "tcp://raw:80"),
				ctr(3, "raw2", "tcp://raw:443"),
			},
			opts: certs,
			warn: []string{
				"raw: tcp://raw:80: port 80 is already used for an https redirect by older container sick",
				"raw2: tcp://raw:443: port 443 is already used for https by older container sick",
			},
		},
		{
			name: "uncovered hosts are routed and listed",
			containers: []Container{
				ctr(1, "a", "https://example.com?redirect=off"),
				ctr(2, "b", "https://a.example.com?redirect=off"),
				ctr(3, "c", "https://a.b.example.com?redirect=off"),
				ctr(4, "d", "https://other.org?redirect=off"),
				ctr(5, "e", "https://other.org/x?redirect=off"),
			},
			opts: certs,
			want: []string{
				"https 443 a.b.example.com/ -> c@172.17.0.3:80",
				"https 443 a.example.com/ -> b@172.17.0.2:80",
				"https 443 example.com/ -> a@172.17.0.1:80",
				"https 443 other.org/x -> e@172.17.0.5:80",
				"https 443 other.org/ -> d@172.17.0.4:80",
			},
			uncovered: []string{"a.b.example.com", "other.org"},
		},
		{
			name: "to= on every scheme; one container on two container ports of one route",
			containers: []Container{
				ctr(1, "w", "http://a.com?to=8080,http://a.com?to=8081,http://a.com:80/?to=8080"),
				ctr(2, "t", "tcp://x:7000?to=7001,tcp://y:7000?to=7001"),
				ctr(3, "s", "tls://s.example.com?to=8443"),
			},
			want: []string{
				"http 80 a.com/ -> w@172.17.0.1:8080,w-bbbbbbbbbbbb@172.17.0.1:8081",
				"tls 443 s.example.com -> s@172.17.0.3:8443",
				"tcp 7000 x+y -> t@172.17.0.2:7001",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Build(tt.containers, tt.opts)
			if err := m.Validate(); err != nil && tt.opts.Validate() == nil {
				t.Fatalf("built model does not validate: %v", err)
			}
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
			var unc []string
			if m.Certificates != nil {
				unc = m.Certificates.Uncovered
			}
			if !reflect.DeepEqual(unc, tt.uncovered) {
				t.Errorf("uncovered = %q, want %q", unc, tt.uncovered)
			}
			if tt.opts.Certs != nil && (m.Certificates == nil || m.Certificates == tt.opts.Certs) {
				t.Errorf("certificates not copied into the model")
			}
		})
	}
}

func TestCovers(t *testing.T) {
	names := []string{"example.com", "*.example.com", "*.b.example.org"}
	tests := []struct {
		host string
		want bool
	}{
		{"example.com", true},
		{"a.example.com", true},
		{"a.b.example.com", false},
		{"badexample.com", false},
		{"example.com.evil.net", false},
		{"b.example.org", false},
		{"x.b.example.org", true},
		{".example.com", false},
		{"other.org", false},
	}
	for _, tt := range tests {
		if got := Covers(names, tt.host); got != tt.want {
			t.Errorf("Covers(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if Covers(nil, "a.com") {
		t.Error("no names cover a host")
	}
}

func TestCertificateChecks(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "Example.COM.", want: "example.com"},
		{in: "*.Example.com", want: "*.example.com"},
		{in: "*.com", err: "top-level"},
		{in: "*", err: "invalid character"},
		{in: "a.*.com", err: "invalid character"},
		{in: "**.a.com", err: "invalid character"},
		{in: "*.a.com\nbackend x", err: "invalid character"},
		{in: "a_b.com", err: "invalid character"},
	} {
		got, err := NormalizeCertName(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeCertName(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("NormalizeCertName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for name, ok := range map[string]bool{
		"default.pem": true, "a-b_c+d.1.pem": true, "x.pem.pem": true,
		".hidden.pem": false, "a.key": false, "a/b.pem": false, "a b.pem": false, "a\n.pem": false,
		"..pem": false, "é.pem": false, "a\".pem": false, strings.Repeat("a", 252) + ".pem": false,
	} {
		if err := ValidateCertFile(name); (err == nil) != ok {
			t.Errorf("ValidateCertFile(%q) = %v, want ok=%v", name, err, ok)
		}
	}
	for dir, ok := range map[string]bool{
		"/etc/rproxy/certs": true, "certs": true, "/a/b-c_d.e/@x:~=+": true,
		"": false, "/a b": false, "/a\nb": false, "/a#b": false, "/a\"b": false, "/a'b": false, "/a\\b": false,
	} {
		if err := ValidateCertDir(dir); (err == nil) != ok {
			t.Errorf("ValidateCertDir(%q) = %v, want ok=%v", dir, err, ok)
		}
	}
	bad := []struct {
		name string
		c    Certificates
		want string
	}{
		{"default not a file", Certificates{Dir: "/c", Default: "x.pem", Files: []CertFile{{File: "a.pem"}}}, "not one of the files"},
		{"default without files", Certificates{Dir: "/c", Default: "x.pem"}, "no files"},
		{"no dir", Certificates{Default: "a.pem", Files: []CertFile{{File: "a.pem"}}}, "certificate dir"},
		{"uppercase name", Certificates{Dir: "/c", Default: "a.pem", Files: []CertFile{{File: "a.pem", Names: []string{"A.com"}}}}, "lowercase hostname"},
		{"file twice", Certificates{Dir: "/c", Default: "a.pem", Files: []CertFile{{File: "a.pem"}, {File: "a.pem"}}}, "twice"},
		{"uncovered bad", Certificates{Dir: "/c", Uncovered: []string{"a b"}}, "uncovered"},
		{"sha256 short", Certificates{Dir: "/c", Default: "a.pem", Files: []CertFile{{File: "a.pem", SHA256: "abc"}}}, "sha256"},
		{"sha256 uppercase", Certificates{Dir: "/c", Default: "a.pem", Files: []CertFile{{File: "a.pem", SHA256: strings.Repeat("A", 64)}}}, "sha256"},
		{"sha256 injection", Certificates{Dir: "/c", Default: "a.pem", Files: []CertFile{{File: "a.pem", SHA256: strings.Repeat("a", 63) + "\n"}}}, "sha256"},
	}
	for _, tt := range bad {
		if err := tt.c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := testCerts().Validate(); err != nil {
		t.Errorf("good certificates: %v", err)
	}
	withSum := testCerts()
	withSum.Files[0].SHA256 = strings.Repeat("0123456789abcdef", 4)
	if err := withSum.Validate(); err != nil {
		t.Errorf("certificates with a fingerprint: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	good := []Options{{}, {Bind: "127.0.0.1", StatsAddr: "127.0.0.1:8404"}, {Bind: "::1"}, {Certs: testCerts()}}
	for _, o := range good {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	bad := []Options{
		{Bind: "::1%lo]:80 ...\n    server EVIL 1.2.3.4:80"}, {Bind: "fe80::1%eth0"}, {Bind: "localhost"},
		{StatsAddr: "[fe80::1%eth0]:1"}, {StatsAddr: "1"}, {Certs: &Certificates{}},
	}
	for _, o := range bad {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestUnmarshalVersion2 checks hand-written version 2 models: what is
// filled in, and what Validate refuses.
func TestUnmarshalVersion2(t *testing.T) {
	const head = "version: 2\nstats: {addr: ':1'}\n"
	const certs = "certificates: {dir: /c, default: a.pem, files: [{file: a.pem, names: ['*.example.com']}]}\n"
	ok := head + certs + `http:
  - port: 80
    routes: []
    redirects: [{host: a.example.com, to: 443}]
https:
  - port: 443
    routes:
      - {host: a.example.com, servers: [{name: s, address: 10.0.0.1, port: 3000}]}
      - {host: other.org, path: /x, servers: []}
tls:
  - port: 443
    routes:
      - {host: example.com, servers: [{name: m, address: 10.0.0.2, port: 443}]}
      - {host: mail.example.com, servers: []}
`
	m, err := Unmarshal([]byte(ok))
	if err != nil {
		t.Fatalf("hand-written model: %v", err)
	}
	if r := m.HTTP[0].Redirects[0]; r.Path != "/" || r.Backend != "https_redirect_443" {
		t.Errorf("redirect not filled in: %+v", r)
	}
	if r := m.HTTPS[0].Routes; r[0].Backend != "https_443_a.example.com" || r[1].Path != "/x" || r[1].Backend != HTTPSBackendName(443, "other.org", "/x") || r[1].Servers != nil {
		t.Errorf("https routes not normalized: %+v", r)
	}
	if r := m.TLS[0].Routes; r[0].Host != "mail.example.com" || r[1].Backend != "tls_443_example.com" {
		t.Errorf("tls routes not normalized: %+v", r)
	}
	if got := m.Certificates.Uncovered; !reflect.DeepEqual(got, []string{"other.org"}) {
		t.Errorf("uncovered = %q", got)
	}

	bad := []struct{ name, yaml, want string }{
		{"https without certificates", head + "https: [{port: 443, routes: []}]\n", "need certificates"},
		{"redirect to a port that is not https", head + certs + "http: [{port: 80, routes: [], redirects: [{host: a.com, to: 8443}]}]\n", "not an https port"},
		{"redirect on an https port", head + certs + "https: [{port: 443, routes: [], redirects: [{host: a.com, to: 443}]}]\n", "plain http ports"},
		{"redirect and route", head + certs + "https: [{port: 443, routes: []}]\nhttp: [{port: 80, routes: [{host: a.com, servers: []}], redirects: [{host: a.com, to: 443}]}]\n", "both a route and a redirect"},
		{"redirect twice", head + certs + "https: [{port: 443, routes: []}]\nhttp: [{port: 80, routes: [], redirects: [{host: a.com, to: 443}, {host: a.com, path: /, to: 443}]}]\n", "listed twice"},
		{"redirect backend reused", head + certs + "https: [{port: 443, routes: []}, {port: 8443, routes: []}]\nhttp: [{port: 80, routes: [], redirects: [{host: a.com, to: 443, backend: r}, {host: b.com, to: 8443, backend: r}]}]\n", "redirects to https ports"},
		{"redirect backend is a route backend", head + certs + "https: [{port: 443, routes: []}]\nhttp: [{port: 80, routes: [{host: b.com, backend: r, servers: []}], redirects: [{host: a.com, to: 443, backend: r}]}]\n", "also the backend"},
		{"redirect host injection", head + certs + "https: [{port: 443, routes: []}]\nhttp: [{port: 80, routes: [], redirects: [{host: \"a.com\\n\", to: 443}]}]\n", "RFC 1123"},
		{"redirect path injection", head + certs + "https: [{port: 443, routes: []}]\nhttp: [{port: 80, routes: [], redirects: [{host: a.com, path: \"/ x\", to: 443}]}]\n", "not allowed"},
		{"https on an http port", head + certs + "https: [{port: 80, routes: []}]\nhttp: [{port: 80, routes: []}]\n", "already used"},
		{"tls on a tcp port", head + "tls: [{port: 22, routes: []}]\ntcp: [{port: 22, servers: []}]\n", "already used"},
		{"tls port twice", head + "tls: [{port: 443, routes: []}, {port: 443, routes: []}]\n", "listed twice"},
		{"tls host twice", head + "tls: [{port: 443, routes: [{host: a.com, servers: []}, {host: a.com, backend: x, servers: []}]}]\n", "listed twice"},
		{"tls and https host", head + certs + "https: [{port: 443, routes: [{host: a.com, servers: []}]}]\ntls: [{port: 443, routes: [{host: a.com, servers: []}]}]\n", "both passed through"},
		{"tls host injection", head + "tls: [{port: 443, routes: [{host: \"a.com b\", servers: []}]}]\n", "RFC 1123"},
		{"tls stats port", "version: 2\nstats: {addr: ':443'}\ntls: [{port: 443, routes: []}]\n", "statistics port"},
		{"https route twice", head + certs + "https: [{port: 443, routes: [{host: a.com, servers: []}, {host: a.com, path: /, backend: y, servers: []}]}]\n", "listed twice"},
		{"server zone", head + "tls: [{port: 443, routes: [{host: a.com, servers: [{name: a, address: 'fe80::1%lo', port: 1}]}]}]\n", "zones"},
		{"cert file injection", head + "certificates: {dir: /c, default: \"a.pem\\n\", files: [{file: \"a.pem\\n\", names: []}]}\n", "certificate file"},
		{"cert dir injection", head + "certificates: {dir: \"/c d\", default: a.pem, files: [{file: a.pem, names: []}]}\n", "certificate dir"},
		{"cert name injection", head + "certificates: {dir: /c, default: a.pem, files: [{file: a.pem, names: [\"a.com b\"]}]}\n", "lowercase hostname"},
		{"uncovered is recomputed, not trusted", head + "certificates: {dir: /c, default: a.pem, files: [{file: a.pem, names: []}], uncovered: [\"a b\"]}\n", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Unmarshal([]byte(tt.yaml))
			if tt.want == "" {
				if err != nil || m.Certificates.Uncovered != nil {
					t.Fatalf("got %v, %+v", err, m)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
		})
	}
}
