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
	NotifyContainer string
	NotifySignal    string
	CommandTimeout  time.Duration
	Watch           bool
	Wait            Wait
	Network         string
	StatsAddr       string
	Bind            string
	WriteMode       string
	Strict          bool
	LogFormat       string
	LogLevel        string
	// HAProxySocket, HardStopAfter, DrainTimeout and StatsPrometheus
	// configure live changes over HAProxy's Runtime API (docs/runtime.md).
	HAProxySocket   string
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
	// HAProxySocket is the output's HAProxy stats socket (live changes).
	HAProxySocket string
}

// IsStdout tells whether the output goes to standard output.
func (o Output) IsStdout() bool { return o.Dest == "" || o.Dest == "-" }
