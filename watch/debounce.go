package watch

import "time"

// Debounce paces renders while events keep coming. The first event after a
// quiet spell is rendered at once (on the leading edge); events that come
// while the last render is more recent than Min wait until Min has passed
// since it, and are rendered together then. So no event waits more than Min
// for its render, and renders come at most every Min, however long a burst
// of events lasts. (Before, a render waited for Min of silence, up to Max
// after the first event: a steady stream of starts was rendered only every
// Max.) Reloads of the proxy are paced separately: see notify.Config's
// Interval, which --wait's MAX sets.
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

// Rendered records a render at now (whatever caused it); events before it
// are rendered.
func (d *Debounce) Rendered(now time.Time) {
	d.last = now
	d.pending = false
}
