package model

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	h := func(host string, port int, path string) Entry {
		return Entry{Scheme: HTTP, Host: host, Port: port, Path: path, To: port}
	}
	tcp := func(host string, port int) Entry { return Entry{Scheme: TCP, Host: host, Port: port, To: port} }
	tests := []struct {
		in      string
		want    Entry
		wantErr string
	}{
		// Every value valid before options existed keeps its meaning.
		{in: "http://example.com", want: h("example.com", 80, "/")},
		{in: "HTTP://Example.COM.", want: h("example.com", 80, "/")},
		{in: "http://example.com:8080/api", want: h("example.com", 8080, "/api")},
		{in: "http://example.com/api/", want: h("example.com", 80, "/api/")},
		{in: "  http://a.b.example.com/  ", want: h("a.b.example.com", 80, "/")},
		{in: "http://x-1.example.com/p%20q", want: h("x-1.example.com", 80, "/p%20q")},
		{in: "http://10.0.0.1:81", want: h("10.0.0.1", 81, "/")},
		{in: "tcp://znc:6667", want: tcp("znc", 6667)},
		{in: "TCP://Game", want: tcp("game", 4)},
		{in: "tcp://ssh:22/", want: tcp("ssh", 22)},
		{in: "http://example.com:65535", want: h("example.com", 65535, "/")},
		{in: "http://example.com:1", want: h("example.com", 1, "/")},
		{in: "http://example.com:080", want: h("example.com", 80, "/")},
		{in: "http://example.com/a&b=c", want: h("example.com", 80, "/a&b=c")},

		// The contract of issue 8.
		{in: "https://app.example.com?to=3000", want: Entry{HTTPS, "app.example.com", 443, "/", 3000, 80}},
		{in: "https://app.example.com/api?to=8080", want: Entry{HTTPS, "app.example.com", 443, "/api", 8080, 80}},
		{in: "https://shop.example.com:8443?to=80&redirect=8080", want: Entry{HTTPS, "shop.example.com", 8443, "/", 80, 8080}},
		{in: "tls://mail.example.com:993", want: Entry{TLS, "mail.example.com", 993, "", 993, 0}},
		{in: "http://wiki.example.com?to=3000", want: Entry{HTTP, "wiki.example.com", 80, "/", 3000, 0}},
		{in: "tcp://db:5432?to=15432", want: Entry{TCP, "db", 5432, "", 15432, 0}},
		// Defaults: https and tls on 443; https to 80; redirect 80 only on 443.
		{in: "https://a.com", want: Entry{HTTPS, "a.com", 443, "/", 80, 80}},
		{in: "HTTPS://A.com:8443/x", want: Entry{HTTPS, "a.com", 8443, "/x", 80, 0}},
		{in: "https://a.com?redirect=off", want: Entry{HTTPS, "a.com", 443, "/", 80, 0}},
		{in: "https://a.com?REDIRECT=OFF&To=81", want: Entry{HTTPS, "a.com", 443, "/", 81, 0}},
		{in: "https://a.com:8443?redirect=81", want: Entry{HTTPS, "a.com", 8443, "/", 80, 81}},
		{in: "Tls://A.com", want: Entry{TLS, "a.com", 443, "", 443, 0}},
		{in: "tls://a.com:443/", want: Entry{TLS, "a.com", 443, "", 443, 0}},
		{in: "tls://a.com?to=8443", want: Entry{TLS, "a.com", 443, "", 8443, 0}},
		{in: "http://a.com/x?to=1", want: Entry{HTTP, "a.com", 80, "/x", 1, 0}},
		{in: "http://a.com?to=0080", want: Entry{HTTP, "a.com", 80, "/", 80, 0}},

		{in: "ftp://example.com", wantErr: `unsupported scheme "ftp": want http, https, tcp or tls`},
		{in: "htp://example.com", wantErr: `unsupported scheme "htp"`},
		{in: "example.com", wantErr: "missing scheme"},
		{in: "http://", wantErr: "empty host"},
		{in: "http://:80", wantErr: "empty host"},
		{in: "https://?to=1", wantErr: "empty host"},
		{in: "http://example.com:0", wantErr: "out of range"},
		{in: "http://example.com:65536", wantErr: "out of range"},
		{in: "http://example.com:-1", wantErr: "not a number"},
		{in: "http://example.com:+80", wantErr: "not a number"},
		{in: "http://example.com:", wantErr: "empty port"},
		{in: "http://example.com:80x", wantErr: "not a number"},
		{in: "http://bad_host.com", wantErr: "invalid character"},
		{in: "http://-bad.com", wantErr: "hyphen"},
		{in: "http://bad-.com", wantErr: "hyphen"},
		{in: "http://a..com", wantErr: "empty label"},
		{in: "http://" + strings.Repeat("a", 64) + ".com", wantErr: "longer than 63"},
		{in: "http://" + strings.Repeat("abcdefghi.", 26) + "com", wantErr: "longer than 253"},
		{in: "http://*.example.com", wantErr: "invalid character"},
		{in: "tls://*.example.com", wantErr: "invalid character"},
		{in: "http://[::1]:80", wantErr: "invalid character"},
		{in: "http://user@example.com", wantErr: "user info"},
		{in: "http://user:pw@example.com", wantErr: "user info"},
		{in: "https://user@example.com?to=1", wantErr: "user info"},
		{in: "http://example.com/#frag", wantErr: "fragment"},
		{in: "http://example.com?to=1#frag", wantErr: "fragment"},
		{in: "http://example.com/a b", wantErr: "not allowed"},
		{in: "http://example.com/a\nbackend evil", wantErr: "not allowed"},
		{in: "http://example.com\n/x", wantErr: "invalid character"},
		{in: "http://example.com/a\"b", wantErr: "not allowed"},
		{in: "http://example.com/a\\b", wantErr: "not allowed"},
		{in: "http://example.com/%zz", wantErr: "two hex digits"},
		{in: "http://example.com/%2", wantErr: "two hex digits"},
		{in: "http://exämple.com", wantErr: "invalid character"},
		{in: "tcp://ssh:22/path", wantErr: "not allowed for tcp"},
		{in: "tls://a.com/path", wantErr: "not allowed for tls"},

		// Options: unknown, repeated, empty, invalid, on the wrong scheme.
		{in: "http://example.com/a?b=c", wantErr: `unknown option "b"`},
		{in: "http://h/?q", wantErr: `unknown option "q"`},
		{in: "http://a.com?", wantErr: "empty options"},
		{in: "http://a.com?&to=1", wantErr: "empty option"},
		{in: "http://a.com?to=1&", wantErr: "empty option"},
		{in: "http://a.com?to=1&&", wantErr: "empty option"},
		{in: "http://a.com?to", wantErr: "option to needs a value"},
		{in: "http://a.com?to=", wantErr: "option to needs a value"},
		{in: "http://a.com?to=1&to=2", wantErr: "more than once"},
		{in: "http://a.com?to=1&TO=1", wantErr: "more than once"},
		{in: "https://a.com?redirect=off&redirect=off", wantErr: "more than once"},
		{in: "http://a.com?to=0", wantErr: "out of range"},
		{in: "http://a.com?to=65536", wantErr: "out of range"},
		{in: "http://a.com?to=99999999999999999999", wantErr: "out of range"},
		{in: "http://a.com?to=-1", wantErr: "not a number"},
		{in: "http://a.com?to=+1", wantErr: "not a number"},
		{in: "http://a.com?to= 80", wantErr: "not a number"},
		{in: "http://a.com?to=80 ", want: h("a.com", 80, "/")}, // trailing space of the entry is trimmed
		{in: "http://a.com?to=0x50", wantErr: "not a number"},
		{in: "http://a.com?to=８０", wantErr: "not a number"},
		{in: "http://a.com?to=%38%30", wantErr: "not a number"},
		{in: "http://a.com?to=80;redirect=81", wantErr: "not a number"},
		{in: "http://a.com?to=80=81", wantErr: "not a number"},
		{in: "http://a.com?redirect=81", wantErr: "redirect applies to https only"},
		{in: "tcp://a:1?redirect=off", wantErr: "redirect applies to https only"},
		{in: "tls://a.com?redirect=80", wantErr: "redirect applies to https only"},
		{in: "https://a.com?redirect=443", wantErr: "https port itself"},
		{in: "https://a.com?redirect=on", wantErr: "want a port or off"},
		{in: "https://a.com?redirect=", wantErr: "needs a value"},
		{in: "https://a.com?to=3000\n    server EVIL 1.2.3.4:80", wantErr: "not a number"},
		{in: "https://a.com?to=80&x=\nbackend evil", wantErr: "unknown option"},
		{in: "https://a.com?%74o=80", wantErr: "unknown option"},
		{in: "https://a.com?to=80#x", wantErr: "fragment"},
		{in: "https://a.com/p?q/x?to=80", wantErr: "unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEntry(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEntry(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if strings.ContainsAny(err.Error(), "\n\r") {
					t.Fatalf("error carries a line break: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEntry(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseEntry(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"tcp://znc:6667,tcp://znc:6697", []string{"tcp://znc:6667", "tcp://znc:6697"}},
		{" http://a.com , ,http://b.com,", []string{"http://a.com", "http://b.com"}},
		{"https://a.com?to=1&redirect=off,tls://b.com", []string{"https://a.com?to=1&redirect=off", "tls://b.com"}},
	}
	for _, tt := range tests {
		got := SplitList(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEntryString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://Example.com", "http://example.com:80/"},
		{"http://a.example.com:8080/x/y", "http://a.example.com:8080/x/y"},
		{"tcp://znc:6697", "tcp://znc:6697"},
		{"tcp://db:5432?to=15432", "tcp://db:5432?to=15432"},
		{"https://a.com", "https://a.com:443/"},
		{"https://a.com?to=80&redirect=80", "https://a.com:443/"},
		{"https://a.com?redirect=off&to=3000", "https://a.com:443/?to=3000&redirect=off"},
		{"https://a.com:8443", "https://a.com:8443/"},
		{"https://a.com:8443?redirect=80", "https://a.com:8443/?redirect=80"},
		{"tls://a.com?to=443", "tls://a.com:443"},
		{"tls://a.com?to=993", "tls://a.com:443?to=993"},
		{"http://a.com?to=80", "http://a.com:80/"},
	}
	for _, tt := range tests {
		e, err := ParseEntry(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := canonical(e); got != tt.want {
			t.Errorf("%q: String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := ParseEntry(canonical(e))
		if err != nil || again != e {
			t.Errorf("round trip of %q via %q gave %+v, %v", tt.in, canonical(e), again, err)
		}
	}
}

// FuzzParseEntry checks that whatever a container says, an accepted entry is
// canonical, has options only where they belong, and holds nothing that
// could break a line or token of a config.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{
		"http://example.com", "http://example.com:8080/api", "tcp://znc:6667", "HTTP://A.B.", "http://x/%41",
		"http://a b", "http://example.com/a\nb", "tcp://x:99999", "http://user@h", "http://h/?q", "://",
		"https://app.example.com?to=3000", "https://shop.example.com:8443?to=80&redirect=8080",
		"tls://mail.example.com:993", "tcp://db:5432?to=15432", "https://a.com?redirect=off",
		"https://a.com?to=3000\n    server EVIL 1.2.3.4:80", "https://a.com?to=1&to=1", "http://a.com?redirect=1",
		"https://a.com?redirect=443", "tls://a.com/x", "https://a.com?", "https://a.com?&", "https://a.com?to=%31",
		"https://[::1%lo]:80?to=1", "HTTPS://A.COM.:8443/P?TO=01&REDIRECT=OFF", "https://a.com?to=65536",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEntry(s)
		if err != nil {
			return
		}
		if e.Port < 1 || e.Port > 65535 || e.To < 1 || e.To > 65535 {
			t.Fatalf("port %d / to %d accepted from %q", e.Port, e.To, s)
		}
		switch {
		case e.Redirect != 0 && e.Scheme != HTTPS:
			t.Fatalf("redirect on %s from %q", e.Scheme, s)
		case e.Redirect < 0 || e.Redirect > 65535 || e.Redirect == e.Port:
			t.Fatalf("redirect %d (port %d) accepted from %q", e.Redirect, e.Port, s)
		}
		if !validHost(e.Host) {
			t.Fatalf("host %q not canonical (from %q)", e.Host, s)
		}
		text := e.Host + e.Path
		if strings.ContainsAny(text, " \t\r\n#\"'\\{}[]()<>`,?") {
			t.Fatalf("unsafe character accepted: %q from %q", text, s)
		}
		switch e.Scheme {
		case HTTP, HTTPS:
			if !strings.HasPrefix(e.Path, "/") {
				t.Fatalf("%s path %q without leading slash", e.Scheme, e.Path)
			}
		case TCP, TLS:
			if e.Path != "" {
				t.Fatalf("%s entry with path %q", e.Scheme, e.Path)
			}
		default:
			t.Fatalf("scheme %q", e.Scheme)
		}
		again, err := ParseEntry(canonical(e))
		if err != nil || again != e {
			t.Fatalf("canonical form %q does not parse back: %+v, %v", canonical(e), again, err)
		}
	})
}

// canonical formats the entry in its canonical form: every part explicit, and
// options only where they differ from their defaults. ParseEntry of it gives
// the same Entry back.
func canonical(e Entry) string {
	s := fmt.Sprintf("%s://%s:%d%s", e.Scheme, e.Host, e.Port, e.Path)
	var opts []string
	if e.To != defaultTo(e.Scheme, e.Port) {
		opts = append(opts, "to="+strconv.Itoa(e.To))
	}
	if e.Scheme == HTTPS && e.Redirect != defaultRedirect(e.Port) {
		if e.Redirect == 0 {
			opts = append(opts, "redirect=off")
		} else {
			opts = append(opts, "redirect="+strconv.Itoa(e.Redirect))
		}
	}
	if len(opts) > 0 {
		s += "?" + strings.Join(opts, "&")
	}
	return s
}
