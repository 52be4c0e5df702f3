package watch

import (
	"slices"
	"testing"
	"time"
)

// TestDebounce drives the render pacing with a fake clock: events at given
// offsets, a render whenever one is due (each taking renderTime), and
// checks when renders happen.
func TestDebounce(t *testing.T) {
	ms := time.Millisecond
	every := func(step, until time.Duration) []time.Duration {
		var out []time.Duration
		for at := step; at <= until; at += step {
			out = append(out, at)
		}
		return out
	}
	tests := []struct {
		name        string
		min         time.Duration
		renderTime  time.Duration
		initial     bool            // the watcher rendered at 0 (start-up)
		events      []time.Duration // offsets from t0, ascending
		wantRenders []time.Duration // render starts, offsets from t0
		noop        []time.Duration // renders (by start) that change no output
	}{
		{"never rendered: the first event at once", 100 * ms, 0, false,
			[]time.Duration{50 * ms}, []time.Duration{50 * ms}, nil},
		{"leading edge: an event after a quiet spell at once", 100 * ms, 0, true,
			[]time.Duration{500 * ms}, []time.Duration{0, 500 * ms}, nil},
		{"an event soon after a render waits until MIN has passed", 100 * ms, 0, true,
			[]time.Duration{30 * ms}, []time.Duration{0, 100 * ms}, nil},
		{"events while waiting are rendered together", 100 * ms, 0, true,
			[]time.Duration{30 * ms, 60 * ms, 90 * ms}, []time.Duration{0, 100 * ms}, nil},
		{"a steady stream renders every MIN, not only at MAX", 100 * ms, 0, true,
			every(30*ms, 600*ms), []time.Duration{0, 100 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms, 600 * ms, 700 * ms}, nil},
		{"leading edge again after the stream stops", 100 * ms, 0, true,
			[]time.Duration{10 * ms, 20 * ms, 1000 * ms}, []time.Duration{0, 100 * ms, 1000 * ms}, nil},
		{"MIN 0: every event at once", 0, 0, true,
			[]time.Duration{10 * ms, 20 * ms, 30 * ms}, []time.Duration{0, 10 * ms, 20 * ms, 30 * ms}, nil},
		{"slow renders: the next one MIN after the last ended", 100 * ms, 300 * ms, true,
			[]time.Duration{50 * ms, 450 * ms, 500 * ms}, []time.Duration{0, 400 * ms, 800 * ms}, nil},
		{"a render that changed nothing does not hold back the next", 100 * ms, 0, true,
			[]time.Duration{150 * ms, 170 * ms}, []time.Duration{0, 150 * ms, 170 * ms}, []time.Duration{150 * ms}},
		{"a render that changed nothing paces the next by its own length", 100 * ms, 20 * ms, true,
			[]time.Duration{150 * ms, 160 * ms}, []time.Duration{0, 150 * ms, 190 * ms}, []time.Duration{150 * ms}},
		{"a render that changed nothing never delays more than MIN", 100 * ms, 300 * ms, true,
			[]time.Duration{350 * ms, 360 * ms, 750 * ms}, []time.Duration{0, 400 * ms, 800 * ms}, []time.Duration{400 * ms}},
		{"a render that changed something still paces by MIN", 100 * ms, 0, true,
			[]time.Duration{150 * ms, 170 * ms}, []time.Duration{0, 150 * ms, 250 * ms}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			d := Debounce{Min: tt.min, Max: 2 * time.Second}
			var renders []time.Duration
			busyUntil := time.Duration(-1) // a render runs until then
			render := func(at time.Duration) {
				renders = append(renders, at)
				busyUntil = at + tt.renderTime
				d.Rendered(t0.Add(busyUntil), tt.renderTime, !slices.Contains(tt.noop, at))
			}
			if tt.initial {
				render(0)
			}
			// The watch loop: events queue while a render runs, and are
			// handled after it; a due timer fires when nothing else is due.
			due := time.Duration(-1)
			for i := 0; i < len(tt.events) || due >= 0; {
				next := time.Duration(-1)
				if i < len(tt.events) {
					next = max(tt.events[i], busyUntil)
				}
				if due >= 0 && (next < 0 || due <= next) {
					render(due)
					due = -1
					continue
				}
				at := next
				wait := d.Event(t0.Add(at))
				if wait < 0 || wait > tt.min {
					t.Fatalf("event at +%v waits %v: want 0 to MIN", at, wait)
				}
				due = at + wait
				i++
			}
			if !slices.Equal(renders, tt.wantRenders) {
				t.Errorf("renders at %v, want %v", renders, tt.wantRenders)
			}
			if d.Pending() {
				t.Error("an event is still pending after its render")
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
