package config

import (
	"testing"
	"time"
)

func TestResync(t *testing.T) {
	tests := []struct {
		in             string
		ok             bool
		swarm, noSwarm time.Duration
		str            string
	}{
		{"auto", true, DefaultSwarmResync, 0, "auto"},
		{"AUTO", true, DefaultSwarmResync, 0, "auto"},
		{"0", true, 0, 0, "0s"},
		{"5s", true, 5 * time.Second, 5 * time.Second, "5s"},
		{"-1s", false, 0, 0, ""},
		{"often", false, 0, 0, ""},
		{"", false, 0, 0, ""},
	}
	for _, tt := range tests {
		var r Resync
		err := r.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		if !tt.ok {
			continue
		}
		if r.Period(true) != tt.swarm || r.Period(false) != tt.noSwarm || r.String() != tt.str {
			t.Errorf("%q: period %v / %v, %q", tt.in, r.Period(true), r.Period(false), r.String())
		}
	}
	if d := Defaults(); d.Resync.Period(true) != DefaultSwarmResync || d.Resync.Period(false) != 0 {
		t.Errorf("default resync %v", d.Resync)
	}
}
