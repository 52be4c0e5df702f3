package watch

import (
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with jitter for reconnecting to
// Docker: the n-th wait is a random duration in [d/2, d] where d doubles from
// Initial up to Max. Never a fixed sleep, never a tight loop.
type Backoff struct {
	Initial, Max time.Duration
	attempt      int
}

// DefaultBackoff waits 250ms at first and at most 10s.
func DefaultBackoff() Backoff { return Backoff{Initial: 250 * time.Millisecond, Max: 10 * time.Second} }

// Next returns the wait before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	d := b.Initial
	for i := 0; i < b.attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	b.attempt++
	half := d / 2
	return half + rand.N(d-half+1)
}

// Attempts is how many waits were handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }

// Reset starts over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }
