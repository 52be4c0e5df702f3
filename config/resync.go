package config

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSwarmResync is the resync period of --resync auto with --swarm:
// how long a task that died on another node (no event tells a manager) may
// stay in the config at most.
const DefaultSwarmResync = 2 * time.Second

// Resync is the --resync setting: how often --watch lists everything again,
// to catch what no event reports. Auto means DefaultSwarmResync with
// --swarm and never without (container events are complete).
type Resync struct {
	Auto  bool
	Every time.Duration
}

// UnmarshalText parses "auto", "0" (never) or a positive duration.
func (r *Resync) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.EqualFold(s, "auto") {
		*r = Resync{Auto: true}
		return nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q: want auto, 0 or a duration like 2s", s)
	case d < 0:
		return fmt.Errorf("%q: must not be negative", s)
	}
	*r = Resync{Every: d}
	return nil
}

// String formats the setting: "auto" or a duration.
func (r Resync) String() string {
	if r.Auto {
		return "auto"
	}
	return r.Every.String()
}

// Period is the resync period to use (0: never), given whether --swarm is
// on.
func (r Resync) Period(swarm bool) time.Duration {
	if !r.Auto {
		return r.Every
	}
	if swarm {
		return DefaultSwarmResync
	}
	return 0
}
