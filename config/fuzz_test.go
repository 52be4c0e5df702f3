package config

import (
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// FuzzParse: any file content gives settings or an error naming the file,
// never a panic; accepted values pass their own checks again (what the file
// accepts, the flag accepts).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "from: x\n", "outputs:\n  - {template: haproxy, dest: a}\n", "bind: \"::1%lo\"\n", "wait: 1s:0s\n",
		"check: \"{{.File}}\"\nnotify: \"{{.File}}\"\n", "- a\n", "a: [\n", "stats_addr: \"[::1]:1\"\nnotify_signal: 9\n",
		"outputs: [{template: x, dest: \"-\"}, {template: y}]\n", "strict: yes\n", "x: &a 1\ny: *a\n",
		"certs: certs\n", "certs: \"/a\\nb\"\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		s := Defaults()
		err := Parse([]byte(data), "fuzz.yaml", s, func(string) bool { return false })
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml: ") {
					t.Fatalf("error line without the file name: %q", line)
				}
			}
			return
		}
		if s.Bind != "" {
			if _, err := model.ParseAddr(s.Bind); err != nil {
				t.Fatalf("bind %q accepted: %v", s.Bind, err)
			}
		}
		if s.StatsAddr != "" {
			if _, err := listenAddr(s.StatsAddr); err != nil {
				t.Fatalf("stats_addr %q accepted: %v", s.StatsAddr, err)
			}
		}
		if s.Certs != "" {
			if err := model.ValidateCertDir(s.Certs); err != nil || !strings.HasPrefix(s.Certs, "/") {
				t.Fatalf("certs %q accepted: %v", s.Certs, err)
			}
		}
		if s.CommandTimeout <= 0 || s.Wait.Min < 0 || s.Wait.Max < s.Wait.Min {
			t.Fatalf("durations accepted: %+v", s)
		}
		if _, err := s.ResolveOutputs(nil); err != nil {
			t.Fatalf("outputs accepted by Parse rejected by ResolveOutputs: %v", err)
		}
	})
}

// FuzzParseWait: never a panic; an accepted value has 0 ≤ MIN ≤ MAX and
// prints back to an equal value.
func FuzzParseWait(f *testing.F) {
	for _, s := range []string{"100ms:2s", "0", "1s", "-1s", "2s:1s", "::", "1h:1ns", "9999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		min, max, err := ParseWait(s)
		if err != nil {
			return
		}
		if min < 0 || max < min {
			t.Fatalf("ParseWait(%q) = %v, %v", s, min, max)
		}
		var w Wait
		if err := w.UnmarshalText([]byte(Wait{min, max}.String())); err != nil || w != (Wait{min, max}) {
			t.Fatalf("%q does not round-trip: %v %v", s, w, err)
		}
	})
}

// FuzzParseSignal: never a panic; an accepted signal is a SIG name or a
// number 1–64, and parsing it again gives the same.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"HUP", "sigusr2", "9", "0", "65", "SIG", "", " term "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSignal(s)
		if err != nil {
			return
		}
		again, err := ParseSignal(got)
		if err != nil || again != got || strings.ContainsAny(got, " \t\n") {
			t.Fatalf("ParseSignal(%q) = %q, again %q, %v", s, got, again, err)
		}
	})
}
