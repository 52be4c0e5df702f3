package shell

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		line    string
		want    []string
		wantErr string
	}{
		{"haproxy -c -f /a/b.cfg", []string{"haproxy", "-c", "-f", "/a/b.cfg"}, ""},
		{"  a\t b  ", []string{"a", "b"}, ""},
		{`a 'b c' "d e" f\ g`, []string{"a", "b c", "d e", "f g"}, ""},
		{`a 'it'\''s'`, []string{"a", "it's"}, ""},
		{`a "x\"y\\z\n"`, []string{"a", `x"y\z\n`}, ""},
		{`a ''`, []string{"a", ""}, ""},
		{`sh -c 'haproxy -c -f x && echo ok'`, []string{"sh", "-c", "haproxy -c -f x && echo ok"}, ""},
		{"a | b", nil, "needs a shell"},
		{"a && b", nil, "needs a shell"},
		{"a; b", nil, "needs a shell"},
		{"a > f", nil, "needs a shell"},
		{"echo $HOME", nil, "needs a shell"},
		{`echo "$HOME"`, nil, "needs a shell"},
		{"a `b`", nil, "needs a shell"},
		{"a\nb", nil, "needs a shell"},
		{"a 'b", nil, "unterminated single quote"},
		{`a "b`, nil, "unterminated double quote"},
		{`a \`, nil, "backslash at the end"},
		{"   ", nil, "empty"},
	}
	for _, tt := range tests {
		got, err := Split(tt.line)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Split(%q) = %q, %v; want error %q", tt.line, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}

// TestSplitQuoted: a value quoted by Quote, as Expand fills in {{.File}},
// comes back as one word, whatever it holds.
func TestSplitQuoted(t *testing.T) {
	for _, v := range []string{"/plain/path.cfg", "/with space/x", "it's", `a"b`, `back\slash`, "$HOME", "a|b;c", "tab\there", "nl\nx", ""} {
		got, err := Split("haproxy -c -f " + Quote(v))
		if err != nil || !slices.Equal(got, []string{"haproxy", "-c", "-f", v}) {
			t.Errorf("value %q: Split = %q, %v", v, got, err)
		}
	}
}

func FuzzSplitQuoted(f *testing.F) {
	for _, s := range []string{"x", "it's", "a b", `"`, "\\", "$(x)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := Split("cmd " + Quote(v))
		if err != nil || !slices.Equal(got, []string{"cmd", v}) {
			t.Fatalf("value %q: Split = %q, %v", v, got, err)
		}
	})
}
