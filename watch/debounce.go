package watch

import "time"

// Debounce paces renders while events keep coming. The first event after a
// quiet spell is rendered at once (on the leading edge); events that come
// while the last render is more recent than Min wait until Min has passed
// since it, and are rendered together then. So no event waits more than Min
// for its render, and renders come at most every Min, however long a burst
// of events lasts. (Before, a render waited for Min of silence, up to Max
// after the first event: a steady stream of starts was rendered only every
// Max.) A render that changed no output (say, a network event of a
// container that is not running yet) does not make the next one wait Min:
// it counts for only as long as it took, so that a real change right behind
// it is rendered at once. Reloads of the proxy are paced separately: see
// notify.Config's Interval, which --wait's MAX sets.
//
// Debounce is a pure state machine: the caller passes the time.
type Debounce struct {
	// Min is the least time between two renders; 0 renders every event at once.
	Min time.Duration
	// Max is the least time between two reloads (notifies). The watcher
	// does not use it; it is here so that --wait MIN:MAX has one home.
	Max time.Duration

	last    time.Time // the last render; zero before the first
	pending bool      // an event waits for its render
}

// Event records an event at now and returns how long to wait from now until
// the render is due: 0 on the leading edge.
func (d *Debounce) Event(now time.Time) time.Duration {
	d.pending = true
	if d.last.IsZero() {
		return 0
	}
	return max(d.last.Add(d.Min).Sub(now), 0)
}

// Pending reports whether an event waits for its render.
func (d *Debounce) Pending() bool { return d.pending }

// Rendered records a render that ended at now, after took, and changed an
// output or not; events before it are rendered. A render that changed
// nothing paces the next one only by its own length (a render at most
// every other moment while events change nothing keeps the loop's CPU
// bounded), never later than a changing render would.
func (d *Debounce) Rendered(now time.Time, took time.Duration, changed bool) {
	d.pending = false
	if changed {
		d.last = now
		return
	}
	if at := now.Add(min(took, d.Min) - d.Min); at.After(d.last) {
		d.last = at
	}
}
