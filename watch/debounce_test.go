package watch

import (
	"testing"
	"time"
)

func TestDebounce(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	tests := []struct {
		name     string
		min, max time.Duration
		events   []time.Duration // offsets from t0
		wantDue  time.Duration   // offset from t0
	}{
		{"single event waits MIN", 100 * ms, 2 * time.Second, []time.Duration{0}, 100 * ms},
		{"burst: MIN after the last", 100 * ms, 2 * time.Second, []time.Duration{0, 50 * ms, 90 * ms}, 190 * ms},
		{"steady stream capped by MAX", 100 * ms, 300 * ms, []time.Duration{0, 80 * ms, 160 * ms, 240 * ms, 320 * ms}, 300 * ms},
		{"MAX below MIN acts as MIN", 100 * ms, 10 * ms, []time.Duration{0}, 100 * ms},
		{"MAX zero: no cap", 100 * ms, 0, []time.Duration{0, 80 * ms, 160 * ms}, 260 * ms},
		{"zero wait: due at once", 0, 0, []time.Duration{5 * ms}, 5 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Debounce{Min: tt.min, Max: tt.max}
			if !d.Due().IsZero() {
				t.Fatal("due before any event")
			}
			var wait time.Duration
			var last time.Time
			for _, off := range tt.events {
				last = t0.Add(off)
				wait = d.Event(last)
			}
			if got := d.Due().Sub(t0); got != tt.wantDue {
				t.Errorf("due at +%v, want +%v", got, tt.wantDue)
			}
			if got := last.Add(wait).Sub(t0); got != tt.wantDue {
				t.Errorf("Event's wait ends at +%v, want +%v", got, tt.wantDue)
			}
			d.Reset()
			if !d.Due().IsZero() {
				t.Error("still pending after Reset")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	wantCaps := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, c := range wantCaps {
		c *= time.Millisecond
		got := b.Next()
		if got < c/2 || got > c {
			t.Errorf("attempt %d: wait %v, want within [%v, %v]", i+1, got, c/2, c)
		}
	}
	if b.Attempts() != len(wantCaps) {
		t.Errorf("attempts %d, want %d", b.Attempts(), len(wantCaps))
	}
	b.Reset()
	if got := b.Next(); got > 100*time.Millisecond {
		t.Errorf("after Reset: %v, want at most the initial wait", got)
	}
	// Jitter: many draws at the cap are not all equal.
	seen := map[time.Duration]bool{}
	for range 50 {
		b.attempt = 10
		seen[b.Next()] = true
	}
	if len(seen) < 2 {
		t.Error("backoff has no jitter")
	}
}
