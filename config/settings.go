// Package config declares every setting of rproxy-gen once, and derives from
// that one declaration the command-line flag, the config-file key (--config),
// the validation of a value (the same for both) and the reference table of
// docs/config.md. It holds no logic of the commands: they read a Settings.
//
// The config file holds the same settings as the flags, for the cases where a
// long command line is awkward, typically a sidecar container whose settings
// live in a mounted file. Keys are the flag names in snake_case (stats_addr
// for --stats-addr), plus an outputs list that replaces -t/-o with one entry
// per template and destination. Reading is strict: an unknown key, a second
// YAML document or a value of the wrong type is an error with its line, and
// every invalid value is reported at once, each naming its key.
package config

import (
	"time"
)

// Settings holds the value of every setting, from defaults, the config file
// and the command line (which wins).
type Settings struct {
	ConfigFile string
	From       string
	// Templates are the -t values, TEMPLATE[:DEST]; Output is -o.
	Templates []string
	Output    string
	// Outputs is the config file's outputs list.
	Outputs []Output

	Check           string
	Notify          string
	NotifyContainer []string // repeatable: every one is signalled
	NotifySignal    string
	CommandTimeout  time.Duration
	Watch           bool
	Wait            Wait
	Network         string
	Swarm           bool
	Resync          Resync
	StatsAddr       string
	Bind            string
	Certs           string
	ProxyMaxFiles   int
	WriteMode       string
	Strict          bool
	LogFormat       string
	LogLevel        string

	// CheckContainer runs the check in that container (docker exec).
	CheckContainer string
	// MasterSocket is HAProxy's master CLI socket, to confirm reloads.
	MasterSocket string
	// Filters are --filter values, KEY=VALUE as for docker ps --filter.
	Filters []string
	// Host is the Docker daemon address (-H); empty: DOCKER_HOST.
	Host string
	// HAProxySocket, HardStopAfter, DrainTimeout and StatsPrometheus
	// configure live changes over HAProxy's Runtime API (docs/runtime.md).
	HAProxySocket   string
	SpareBackends   int
	HardStopAfter   time.Duration
	DrainTimeout    time.Duration
	StatsPrometheus bool
	// MetricsAddr is where rproxy-gen serves its Prometheus metrics.
	MetricsAddr string
}

// Output is one template rendered to one destination, with the settings it
// may have of its own (empty: the global value applies).
type Output struct {
	// Template is a built-in template name (haproxy, nginx-stream) or a
	// template file.
	Template string
	// Dest is the file to write; empty or "-" means stdout (one output at
	// most).
	Dest            string
	Check           string
	Notify          string
	Bind            string
	NotifyContainer string
	NotifySignal    string

	// CheckContainer runs Check in that container (docker exec).
	CheckContainer string
	// MasterSocket is the HAProxy master CLI socket that confirms reloads
	// after the NotifyContainer signal.
	MasterSocket string
	// HAProxySocket is the output's HAProxy stats socket (live changes).
	HAProxySocket string
}

// IsStdout tells whether the output goes to standard output.
func (o Output) IsStdout() bool { return o.Dest == "" || o.Dest == "-" }
