package model

import (
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		in      string
		want    Entry
		wantErr string
	}{
		{in: "http://example.com", want: Entry{HTTP, "example.com", 80, "/"}},
		{in: "HTTP://Example.COM.", want: Entry{HTTP, "example.com", 80, "/"}},
		{in: "http://example.com:8080/api", want: Entry{HTTP, "example.com", 8080, "/api"}},
		{in: "http://example.com/api/", want: Entry{HTTP, "example.com", 80, "/api/"}},
		{in: "  http://a.b.example.com/  ", want: Entry{HTTP, "a.b.example.com", 80, "/"}},
		{in: "http://x-1.example.com/p%20q", want: Entry{HTTP, "x-1.example.com", 80, "/p%20q"}},
		{in: "http://10.0.0.1:81", want: Entry{HTTP, "10.0.0.1", 81, "/"}},
		{in: "tcp://znc:6667", want: Entry{TCP, "znc", 6667, ""}},
		{in: "TCP://Game", want: Entry{TCP, "game", 4, ""}},
		{in: "tcp://ssh:22/", want: Entry{TCP, "ssh", 22, ""}},
		{in: "http://example.com:65535", want: Entry{HTTP, "example.com", 65535, "/"}},
		{in: "http://example.com:1", want: Entry{HTTP, "example.com", 1, "/"}},

		{in: "https://example.com", wantErr: `unsupported scheme "https"`},
		{in: "htp://example.com", wantErr: `unsupported scheme "htp"`},
		{in: "example.com", wantErr: "missing scheme"},
		{in: "http://", wantErr: "empty host"},
		{in: "http://:80", wantErr: "empty host"},
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
		{in: "http://[::1]:80", wantErr: "invalid character"},
		{in: "http://user@example.com", wantErr: "user info"},
		{in: "http://user:pw@example.com", wantErr: "user info"},
		{in: "http://example.com/a?b=c", wantErr: "query or fragment"},
		{in: "http://example.com/#frag", wantErr: "query or fragment"},
		{in: "http://example.com/a b", wantErr: "not allowed"},
		{in: "http://example.com/a\nbackend evil", wantErr: "not allowed"},
		{in: "http://example.com\n/x", wantErr: "invalid character"},
		{in: "http://example.com/a\"b", wantErr: "not allowed"},
		{in: "http://example.com/a\\b", wantErr: "not allowed"},
		{in: "http://example.com/%zz", wantErr: "two hex digits"},
		{in: "http://example.com/%2", wantErr: "two hex digits"},
		{in: "http://exämple.com", wantErr: "invalid character"},
		{in: "tcp://ssh:22/path", wantErr: "not allowed for tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEntry(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEntry(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
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
	}
	for _, tt := range tests {
		got := SplitList(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEntryStringRoundTrip(t *testing.T) {
	for _, in := range []string{"http://Example.com", "http://a.example.com:8080/x/y", "tcp://znc:6697"} {
		e, err := ParseEntry(in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseEntry(e.String())
		if err != nil || again != e {
			t.Errorf("round trip of %q via %q gave %+v, %v", in, e.String(), again, err)
		}
	}
}

// FuzzParseEntry checks that whatever a container says, an accepted entry is
// canonical and holds nothing that could break a line or token of a config.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{
		"http://example.com", "http://example.com:8080/api", "tcp://znc:6667", "HTTP://A.B.", "http://x/%41",
		"http://a b", "http://example.com/a\nb", "tcp://x:99999", "http://user@h", "http://h/?q", "://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEntry(s)
		if err != nil {
			return
		}
		if e.Port < 1 || e.Port > 65535 {
			t.Fatalf("port %d accepted from %q", e.Port, s)
		}
		if h, err := NormalizeHost(e.Host); err != nil || h != e.Host {
			t.Fatalf("host %q not canonical (from %q)", e.Host, s)
		}
		text := e.Host + e.Path
		if strings.ContainsAny(text, " \t\r\n#\"'\\{}[]()<>`,?") {
			t.Fatalf("unsafe character accepted: %q from %q", text, s)
		}
		if e.Scheme == HTTP && !strings.HasPrefix(e.Path, "/") {
			t.Fatalf("http path %q without leading slash", e.Path)
		}
		again, err := ParseEntry(e.String())
		if err != nil || again != e {
			t.Fatalf("canonical form %q does not parse back: %+v, %v", e.String(), again, err)
		}
	})
}
