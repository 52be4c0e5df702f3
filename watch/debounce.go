package watch

import "time"

// Debounce decides when a burst of events has settled: a render is due Min
// after the last event, but never later than Max after the first event of the
// burst, so a steady stream of events cannot hold a render back forever.
type Debounce struct {
	Min, Max time.Duration
	first    time.Time
	last     time.Time
}

// Event records an event at now and returns how long to wait from now until
// the render is due.
func (d *Debounce) Event(now time.Time) time.Duration {
	if d.first.IsZero() {
		d.first = now
	}
	d.last = now
	return d.Due().Sub(now)
}

// Due is the time the pending render is due (zero when nothing is pending).
func (d *Debounce) Due() time.Time {
	if d.first.IsZero() {
		return time.Time{}
	}
	due := d.last.Add(d.Min)
	if d.Max > 0 {
		if limit := d.first.Add(max(d.Max, d.Min)); limit.Before(due) {
			due = limit
		}
	}
	return due
}

// Reset starts a new burst; call it when the render runs.
func (d *Debounce) Reset() { d.first, d.last = time.Time{}, time.Time{} }
