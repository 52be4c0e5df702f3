package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// Scope says which commands have a setting's flag.
type Scope int

// Scopes of flags.
const (
	// Root is a flag of the main command only (rendering and watching).
	Root Scope = iota
	// All is a flag of every command (persistent).
	All
)

// Def declares one setting: its flag, its config-file key, how a value is
// validated, and its documentation. Defs() lists them all.
type Def struct {
	// Name is the flag name; the config-file key is Key().
	Name  string
	Short string
	// Scope says which commands have the flag.
	Scope Scope
	// Meta names the value in help and docs, e.g. "ADDR".
	Meta string
	// Usage is the one-line help text.
	Usage string
	// Doc is what docs/config.md adds to Usage; may be empty.
	Doc string
	// Default is the default as text ("" for none).
	Default string
	// NoKey: the setting has no config-file key (the file's outputs list
	// stands for -t and -o; --config cannot name itself).
	NoKey bool
	// Check validates (and may normalize) one value, from a flag or the
	// file alike.
	Check func(string) (string, error)
	// Field points at the setting's value: *string, *bool, *[]string,
	// *time.Duration, or a type with UnmarshalText.
	Field func(*Settings) any
	// Out, when set, makes the setting a key of outputs entries too: the
	// output's own value, checked with Check, or OutCheck when set.
	Out      func(*Output) *string
	OutCheck func(string) (string, error)
}

// Key is the config-file key: the flag name in snake_case.
func (d Def) Key() string { return strings.ReplaceAll(d.Name, "-", "_") }

// Defs lists every setting, in the order help and docs show them.
func Defs() []Def {
	return []Def{
		{Name: "config", Short: "c", Scope: All, Meta: "FILE", NoKey: true,
			Usage: "read settings from YAML FILE; flags given on the command line override it",
			Field: func(s *Settings) any { return &s.ConfigFile }},
		{Name: "from", Scope: All, Meta: "FILE",
			Usage: "read a docker-inspect JSON snapshot or a YAML model from FILE (- for stdin) instead of Docker",
			Field: func(s *Settings) any { return &s.From }},
		{Name: "template", Short: "t", Meta: "T[:DEST]", NoKey: true,
			Usage: "built-in template name or template file, optionally TEMPLATE:DEST (repeatable; default haproxy)",
			Field: func(s *Settings) any { return &s.Templates }},
		{Name: "output", Short: "o", Meta: "FILE", NoKey: true,
			Usage: "write to FILE atomically instead of stdout",
			Field: func(s *Settings) any { return &s.Output }},
		{Name: "check", Meta: "COMMAND", Check: checkCommand,
			Usage: "shell COMMAND that validates a staged output, e.g. 'haproxy -c -f {{.File}}'",
			Doc:   "`{{.File}}` is the staged file, `{{.Dir}}` its staging directory (with the staged map files)",
			Field: func(s *Settings) any { return &s.Check }, Out: func(o *Output) *string { return &o.Check }},
		{Name: "notify", Meta: "COMMAND", Check: globalNotify,
			Usage: "shell COMMAND run once after any output changed, e.g. 'systemctl reload haproxy'",
			Doc:   "in an outputs entry it runs after that output changed and may use `{{.File}}`, the output's path",
			Field: func(s *Settings) any { return &s.Notify }, Out: func(o *Output) *string { return &o.Notify }, OutCheck: outputNotify},
		{Name: "notify-container", Meta: "NAME",
			Usage: "signal container NAME after an output changed (sidecar beside the proxy)",
			Field: func(s *Settings) any { return &s.NotifyContainer }, Out: func(o *Output) *string { return &o.NotifyContainer }},
		{Name: "notify-signal", Meta: "SIGNAL", Default: "HUP", Check: ParseSignal,
			Usage: "signal sent to the notify container",
			Doc:   "a name in any case, with or without `SIG` (`HUP`, `SIGHUP`, `usr2`), or a number 1–64",
			Field: func(s *Settings) any { return &s.NotifySignal }, Out: func(o *Output) *string { return &o.NotifySignal }},
		{Name: "command-timeout", Meta: "DURATION", Default: "30s", Check: positiveDuration,
			Usage: "time limit of each check and notify command",
			Field: func(s *Settings) any { return &s.CommandTimeout }},
		{Name: "watch", Short: "w",
			Usage: "keep running: re-render on Docker events, template edits and SIGHUP",
			Field: func(s *Settings) any { return &s.Watch }},
		{Name: "wait", Meta: "MIN[:MAX]", Default: "100ms:2s",
			Usage: "debounce for --watch: render MIN after the last event, at most MAX after the first",
			Doc:   "`MAX` defaults to 4×`MIN` (`500ms` is `500ms:2s`); `0` renders at once",
			Field: func(s *Settings) any { return &s.Wait }},
		{Name: "network", Scope: All, Meta: "NAME",
			Usage: "use container addresses on Docker network NAME only",
			Field: func(s *Settings) any { return &s.Network }},
		{Name: "stats-addr", Scope: All, Meta: "ADDR", Check: listenAddr,
			Usage: "statistics page listen address [IP]:PORT (default :1, or the --bind address on port 1); its port is reserved",
			Field: func(s *Settings) any { return &s.StatsAddr }},
		{Name: "bind", Scope: All, Meta: "IP", Check: ipAddr,
			Usage: "listen address of every frontend (default: all addresses)",
			Doc:   "in an outputs entry: the listen address of that output only",
			Field: func(s *Settings) any { return &s.Bind }, Out: func(o *Output) *string { return &o.Bind }},
		{Name: "haproxy-socket", Meta: "PATH", Check: socketPath,
			Usage: "HAProxy's stats socket: the template declares it, and changes to servers and map entries are applied through it without a reload",
			Doc:   "an absolute path, the same for HAProxy and rproxy-gen (a shared volume in the sidecar); before each reload the server states go to `STEM.state` beside the output; see [runtime.md](runtime.md)",
			Field: func(s *Settings) any { return &s.HAProxySocket }, Out: func(o *Output) *string { return &o.HAProxySocket }},
		{Name: "drain-timeout", Meta: "DURATION", Default: "30s", Check: positiveDuration,
			Usage: "how long a server removed over --haproxy-socket keeps its sessions before they are cut",
			Field: func(s *Settings) any { return &s.DrainTimeout }},
		{Name: "hard-stop-after", Meta: "DURATION", Default: "5m", Check: hardStopAfter,
			Usage: "HAProxy's hard-stop-after: an old worker's last connections (WebSockets, tunnels) are closed this long after a reload; 0 for never",
			Field: func(s *Settings) any { return &s.HardStopAfter }},
		{Name: "stats-prometheus",
			Usage: "serve HAProxy's own Prometheus metrics at /metrics on the statistics listener",
			Field: func(s *Settings) any { return &s.StatsPrometheus }},
		{Name: "metrics-addr", Meta: "ADDR", Check: listenAddr,
			Usage: "serve rproxy-gen's own Prometheus metrics at http://ADDR/metrics ([IP]:PORT; default off)",
			Field: func(s *Settings) any { return &s.MetricsAddr }},
		{Name: "write-mode", Meta: "MODE", Default: "rename", Check: writeMode,
			Usage: "how outputs replace old files: rename (atomic) or inplace (single-file bind mounts)",
			Field: func(s *Settings) any { return &s.WriteMode }},
		{Name: "strict", Scope: All,
			Usage: "treat skipped RPROXY entries as errors: exit 1 and write nothing",
			Field: func(s *Settings) any { return &s.Strict }},
		{Name: "log-format", Scope: All, Meta: "FORMAT", Default: "text", Check: oneOf("text", "json"),
			Usage: "log format on stderr: text or json",
			Field: func(s *Settings) any { return &s.LogFormat }},
		{Name: "log-level", Scope: All, Meta: "LEVEL", Default: "info", Check: logLevel,
			Usage: "least important level logged: debug, info, warn or error",
			Field: func(s *Settings) any { return &s.LogLevel }},
	}
}

// lookup returns the setting called name (a flag name), or false.
func lookup(name string) (Def, bool) {
	for _, d := range Defs() {
		if d.Name == name {
			return d, true
		}
	}
	return Def{}, false
}

func checkCommand(s string) (string, error) {
	if _, err := install.ParseCheck(s); err != nil {
		return "", err
	}
	return s, nil
}

func globalNotify(s string) (string, error) {
	if _, err := notify.ParseGlobalCommand(s); err != nil {
		return "", fmt.Errorf("%w (the global notify runs once for all outputs; use an outputs entry's notify for {{.File}})", err)
	}
	return s, nil
}

// outputNotify checks an outputs entry's notify command, which has {{.File}}.
func outputNotify(s string) (string, error) {
	if _, err := notify.ParseCommand(s); err != nil {
		return "", err
	}
	return s, nil
}

// socketPath checks --haproxy-socket: a path that goes into haproxy.cfg.
func socketPath(s string) (string, error) {
	if s == "" {
		return s, nil
	}
	return s, render.ValidPath(s)
}

// hardStopAfter checks --hard-stop-after: 0, or at least a millisecond.
func hardStopAfter(s string) (string, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q: want a duration like 5m, or 0 for never", s)
	case d < 0 || d > 0 && d < time.Millisecond:
		return "", fmt.Errorf("%q: want 0 or at least 1ms", s)
	}
	return s, nil
}

func positiveDuration(s string) (string, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q: want a duration like 30s or 1m", s)
	case d <= 0:
		return "", fmt.Errorf("%q: must be positive", s)
	}
	return s, nil
}

func ipAddr(s string) (string, error) {
	a, err := model.ParseAddr(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

func listenAddr(s string) (string, error) {
	return s, model.ValidateListenAddr(s)
}

func writeMode(s string) (string, error) {
	m, err := install.ParseMode(s)
	return string(m), err
}

func logLevel(s string) (string, error) {
	var l slog.Level
	low := strings.ToLower(s)
	if err := l.UnmarshalText([]byte(low)); err != nil || strings.ContainsAny(low, "+-") {
		return "", fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return low, nil
}

func oneOf(values ...string) func(string) (string, error) {
	return func(s string) (string, error) {
		low := strings.ToLower(s)
		for _, v := range values {
			if low == v {
				return v, nil
			}
		}
		return "", fmt.Errorf("%q: want %s", s, strings.Join(values, " or "))
	}
}
