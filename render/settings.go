package render

import (
	"fmt"
	"regexp"
	"time"
)

// Settings are the operator's settings a template may print besides the
// model: they belong to one output (its proxy's socket, its state file), not
// to the containers, so they are not part of the model. A template reads
// them with the "settings" helper. Render refuses values that could add a
// token or a line to a config (see Validate).
type Settings struct {
	// HAProxySocket is the path of HAProxy's stats socket with admin level,
	// through which rproxy-gen applies changes without a reload (the
	// Runtime API); empty when there is none.
	HAProxySocket string
	// ServerStateFile is the file rproxy-gen writes HAProxy's server states
	// to before a reload, for HAProxy to load them back ("server-state-file"
	// with "load-server-state-from-file global"); empty when there is none.
	ServerStateFile string
	// HardStopAfter bounds how long an old HAProxy worker may keep serving
	// its connections after a reload, in HAProxy's time format ("5m",
	// "90s"); empty leaves old workers unbounded.
	HardStopAfter string
	// SpareBackends is how many empty backends of each mode the template
	// declares for the Runtime API to serve new routes through until the
	// next reload (live.SpareMarker); only with HAProxySocket.
	SpareBackends int
	// StatsPrometheus serves HAProxy's built-in Prometheus exporter at
	// /metrics on the statistics listener.
	StatsPrometheus bool
}

// safePath is an absolute path a config can hold as one token: letters,
// digits and "._+=-" in its elements. HAProxy reads relative socket and
// state-file paths from its working directory, which rproxy-gen does not
// know, so they must be absolute. 107 bytes is the longest Unix socket path.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9._+=/-]{0,106}$`)

// haproxyTime is a time in HAProxy's format: a number and a unit.
var haproxyTime = regexp.MustCompile(`^[0-9]{1,9}(us|ms|s|m|h|d)$`)

// ValidPath checks a path that goes into a config as one token: absolute,
// at most 107 bytes, only letters, digits and "._+=-/".
func ValidPath(p string) error {
	if !safePath.MatchString(p) {
		return fmt.Errorf("%q: want an absolute path of at most 107 characters from letters, digits and ._+=-/", p)
	}
	return nil
}

// Validate checks that every value can be printed into a config as one
// token.
func (s Settings) Validate() error {
	for _, p := range []struct{ name, v string }{{"haproxy socket", s.HAProxySocket}, {"server state file", s.ServerStateFile}} {
		if p.v == "" {
			continue
		}
		if err := ValidPath(p.v); err != nil {
			return fmt.Errorf("%s %w", p.name, err)
		}
	}
	if s.HardStopAfter != "" && !haproxyTime.MatchString(s.HardStopAfter) {
		return fmt.Errorf("hard-stop-after %q: want a number and a unit (ms, s, m, h, d)", s.HardStopAfter)
	}
	return nil
}

// HAProxyTime formats a duration in HAProxy's time format, for Settings:
// whole minutes, seconds or (rounded up) milliseconds; "" for 0 or less.
func HAProxyTime(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", (d+time.Millisecond-1)/time.Millisecond)
}
