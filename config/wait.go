package config

import (
	"fmt"
	"strings"
	"time"
)

// Wait is the debounce setting of --watch, "MIN[:MAX]": render MIN after the
// last of a burst of events, but no later than MAX after the first one.
type Wait struct {
	Min, Max time.Duration
}

// UnmarshalText parses "MIN[:MAX]" (see ParseWait).
func (w *Wait) UnmarshalText(b []byte) error {
	min, max, err := ParseWait(string(b))
	if err != nil {
		return err
	}
	w.Min, w.Max = min, max
	return nil
}

// String formats the setting as MIN:MAX.
func (w Wait) String() string { return w.Min.String() + ":" + w.Max.String() }

// ParseWait parses "MIN[:MAX]". Both are Go durations ("100ms:2s"). With MIN
// alone, MAX is 4×MIN, as in docker-gen and consul-template ("500ms" means
// 500ms:2s). "0" (or "0:0") turns debouncing off. MIN must not be negative
// and MAX must not be less than MIN.
func ParseWait(s string) (min, max time.Duration, err error) {
	bad := func() (time.Duration, time.Duration, error) {
		return 0, 0, fmt.Errorf("%q: want MIN[:MAX] durations like 100ms:2s", s)
	}
	minS, maxS, hasMax := strings.Cut(s, ":")
	if min, err = time.ParseDuration(strings.TrimSpace(minS)); err != nil {
		return bad()
	}
	if hasMax {
		if max, err = time.ParseDuration(strings.TrimSpace(maxS)); err != nil {
			return bad()
		}
	} else {
		max = 4 * min
	}
	switch {
	case min < 0:
		return 0, 0, fmt.Errorf("%q: MIN must not be negative", s)
	case max < min:
		return 0, 0, fmt.Errorf("%q: MAX %v is less than MIN %v", s, max, min)
	}
	return min, max, nil
}
