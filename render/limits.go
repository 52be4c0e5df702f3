package render

import (
	"fmt"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Limits is how a config is sized to the open-files limit of the proxy
// process it is for (model.Model.MaxFiles): the built-in HAProxy template
// takes maxconn, whether servers get active health checks, and how often,
// from here ({{ $limits := limits . }}).
//
// HAProxy needs a file descriptor for each side of each connection
// (2 × maxconn), one per listener, one per server with an active check, and
// a few per thread. Before it starts it makes sure the open-files limit
// covers all of them, and refuses to start if the hard limit is lower. So:
//   - MaxConn is MaxConnCap, or less when the limit cannot hold that many
//     connections next to the reserve;
//   - servers whose container has a Docker health check are never checked by
//     the proxy (Docker checks them, and rproxy-gen removes them from the
//     config when they turn unhealthy), and the others are checked only if
//     all of them fit in what is left (CheckBudget); above it, none are, and
//     failover relies on retries, redispatch and Docker's events;
//   - CheckInter spreads the active checks so that the whole config makes at
//     most CheckRate checks per second, and never checks a server more
//     often than every MinCheckInter. It moves in steps, MinCheckInter
//     times a power of two, so that a replica added or removed does not
//     change the check line of every other server (which would turn a
//     change the Runtime API can apply into a reload): up to 1,000 checked
//     servers are checked every 5 s each, up to 2,000 every 10 s, up to
//     4,000 every 20 s, 10,000 every 80 s (100 to 200 checks a second).
type Limits struct {
	// MaxFiles is the open-files limit the config is sized for.
	MaxFiles int
	// MaxConn is the process-wide connection limit.
	MaxConn int
	// Reserve is what is set aside for listeners, threads and the rest.
	Reserve int
	// Checked is the number of servers without a health check of their
	// own: the ones that get active checks if they fit.
	Checked int
	// CheckBudget is the number of active checks that fit.
	CheckBudget int
	// Checks says whether servers without a health check of their own get
	// active checks: Checked fits in CheckBudget.
	Checks bool
	// CheckInter is the interval between two checks of one server, as an
	// HAProxy duration ("5s").
	CheckInter string
}

// Sizing constants of Limits.
const (
	// MaxConnCap is the most connections a config allows.
	MaxConnCap = 4096
	// MinCheckInter is the shortest interval between two checks of one
	// server, in seconds.
	MinCheckInter = 5
	// CheckRate is the most active checks per second of a whole config.
	CheckRate = 200
	// fixedReserve covers threads (HAProxy takes up to 64, three descriptors
	// each), the statistics and runtime API listeners and some slack.
	fixedReserve = 256
)

// ProxyLimits sizes a config for m (see Limits). A nil model gets the
// defaults.
func ProxyLimits(m *model.Model) Limits {
	l := Limits{MaxFiles: model.DefaultMaxFiles, Reserve: fixedReserve}
	if m == nil {
		m = &model.Model{}
	}
	if m.MaxFiles > 0 {
		l.MaxFiles = m.MaxFiles
	}
	l.Reserve += len(m.HTTP) + len(m.HTTPS) + len(m.TLS) + len(m.TCP)
	l.MaxConn = min(MaxConnCap, max((l.MaxFiles-l.Reserve)/2, 1))
	unchecked := func(ss []model.Server) {
		for _, s := range ss {
			if !s.Healthcheck {
				l.Checked++
			}
		}
	}
	for _, ports := range [][]model.HTTPPort{m.HTTP, m.HTTPS} {
		for _, p := range ports {
			for _, r := range p.Routes {
				unchecked(r.Servers)
			}
		}
	}
	for _, p := range m.TLS {
		for _, r := range p.Routes {
			unchecked(r.Servers)
		}
	}
	for _, p := range m.TCP {
		unchecked(p.Servers)
	}
	l.CheckBudget = max(l.MaxFiles-l.Reserve-2*l.MaxConn, 0)
	l.Checks = l.Checked <= l.CheckBudget
	inter := MinCheckInter
	for l.Checks && l.Checked > inter*CheckRate {
		inter *= 2
	}
	l.CheckInter = fmt.Sprintf("%ds", inter)
	return l
}
