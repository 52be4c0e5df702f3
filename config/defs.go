package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/source"
	"github.com/rproxy-gen/rproxy-gen/templates"
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
	// Values lists the values shell completion offers for the flag, each
	// optionally followed by a tab and a description; nil for none.
	Values func() []string
	// Files: shell completion offers file names too.
	Files bool
}

// Key is the config-file key: the flag name in snake_case.
func (d Def) Key() string { return strings.ReplaceAll(d.Name, "-", "_") }

// Defs lists every setting, in the order help and docs show them.
func Defs() []Def {
	return []Def{
		{Name: "config", Short: "c", Scope: All, Meta: "FILE", NoKey: true,
			Usage: "read settings from YAML FILE; flags given on the command line override it",
			Field: func(s *Settings) any { return &s.ConfigFile }},
		{Name: "from", Scope: All, Meta: "FILE", Files: true,
			Usage: "read a docker-inspect JSON snapshot or a YAML model from FILE (- for stdin) instead of Docker",
			Field: func(s *Settings) any { return &s.From }},
		{Name: "template", Short: "t", Meta: "T[:DEST]", NoKey: true, Values: templates.Names, Files: true,
			Usage: "built-in template name or template file, optionally TEMPLATE:DEST (repeatable; default haproxy)",
			Field: func(s *Settings) any { return &s.Templates }},
		{Name: "output", Short: "o", Meta: "FILE", NoKey: true, Check: outputFile, Files: true,
			Usage: "write to FILE atomically instead of stdout",
			Field: func(s *Settings) any { return &s.Output }},
		{Name: "check", Meta: "COMMAND", Check: checkCommand,
			Usage: "shell COMMAND that validates a staged output, e.g. 'haproxy -c -f {{.File}}'",
			Doc:   "`{{.File}}` is the staged file, `{{.Dir}}` its staging directory (with the staged map files)",
			Field: func(s *Settings) any { return &s.Check }, Out: func(o *Output) *string { return &o.Check }},
		{Name: "check-container", Meta: "NAME",
			Usage: "run the check inside container NAME with docker exec, where the proxy binary is (default check there: '" + DefaultContainerCheck + "')",
			Doc: "the command runs without a shell; the output's directory must be mounted in that container, at the same path " +
				"or from the host where rproxy-gen runs (see docs/ecosystem.md)",
			Field: func(s *Settings) any { return &s.CheckContainer }, Out: func(o *Output) *string { return &o.CheckContainer }},
		{Name: "notify", Meta: "COMMAND", Check: globalNotify,
			Usage: "shell COMMAND run once after any output changed, e.g. 'systemctl reload haproxy'",
			Doc:   "in an outputs entry it runs after that output changed and may use `{{.File}}`, the output's path",
			Field: func(s *Settings) any { return &s.Notify }, Out: func(o *Output) *string { return &o.Notify }, OutCheck: outputNotify},
		{Name: "notify-container", Meta: "NAME",
			Usage: "signal container NAME after an output changed (sidecar beside the proxy; repeatable)",
			Doc:   "in the file: one name or a list; in an outputs entry: one name",
			Field: func(s *Settings) any { return &s.NotifyContainer }, Out: func(o *Output) *string { return &o.NotifyContainer }},
		{Name: "notify-signal", Meta: "SIGNAL", Default: "HUP", Check: ParseSignal, Values: signalValues,
			Usage: "signal sent to the notify container",
			Doc:   "a name in any case, with or without `SIG` (`HUP`, `SIGHUP`, `usr2`), or a number 1–64; a signal that stops the proxy (`KILL`, `TERM`, `USR1`, ...) is logged as a warning",
			Field: func(s *Settings) any { return &s.NotifySignal }, Out: func(o *Output) *string { return &o.NotifySignal }},
		{Name: "haproxy-master-socket", Meta: "PATH",
			Usage: "HAProxy's master CLI socket (haproxy -W -S PATH): after signalling the notify container, confirm that HAProxy took the reload",
			Doc:   "a refused reload is logged with HAProxy's reason and not retried until the next change; needs one notify container (in an outputs entry: that output's)",
			Field: func(s *Settings) any { return &s.MasterSocket }, Out: func(o *Output) *string { return &o.MasterSocket }},
		{Name: "command-timeout", Meta: "DURATION", Default: "30s", Check: positiveDuration,
			Usage: "time limit of each check and notify command",
			Field: func(s *Settings) any { return &s.CommandTimeout }},
		{Name: "watch", Short: "w",
			Usage: "keep running: re-render on Docker events, template edits and SIGHUP",
			Field: func(s *Settings) any { return &s.Watch }},
		{Name: "wait", Meta: "MIN[:MAX]", Default: "100ms:2s",
			Usage: "pacing for --watch: render an event at once, then at most every MIN while events keep coming; notify (reload) at most every MAX",
			Doc:   "`MAX` defaults to 4×`MIN` (`500ms` is `500ms:2s`); `0` renders and notifies at once; see [performance.md](performance.md#bursts)",
			Field: func(s *Settings) any { return &s.Wait }},
		{Name: "network", Scope: All, Meta: "NAME",
			Usage: "use container addresses on Docker network NAME only",
			Field: func(s *Settings) any { return &s.Network }},
		{Name: "filter", Scope: All, Meta: "KEY=VALUE", Check: filter, Values: filterValues,
			Usage: "only containers matching this docker ps --filter count, e.g. label=com.example.proxy=public or network=apps (repeatable)",
			Doc:   "in the file: one filter or a list; one host can run one rproxy-gen per proxy, each with its own filter",
			Field: func(s *Settings) any { return &s.Filters }},
		{Name: "host", Short: "H", Scope: All, Meta: "ADDR", Check: dockerHost,
			Usage: "Docker daemon address, as docker -H: unix:///var/run/docker.sock or tcp://HOST:PORT (default: DOCKER_HOST or the local socket)",
			Field: func(s *Settings) any { return &s.Host }},
		{Name: "swarm", Scope: All,
			Usage: "also route Swarm services: the running tasks of services with RPROXY (needs a manager)",
			Doc:   "a service's entries come from its label `rproxy` and its containers' env `RPROXY`; plain containers keep working beside them; see [docs/swarm.md](swarm.md)",
			Field: func(s *Settings) any { return &s.Swarm }},
		{Name: "resync", Meta: "DURATION", Default: "auto",
			Usage: "with --watch, list everything again this often, to catch what no event reports; 0 never",
			Doc:   "`auto` is `2s` with `--swarm` (a manager gets no task events) and never without",
			Field: func(s *Settings) any { return &s.Resync }},
		{Name: "stats-addr", Scope: All, Meta: "ADDR", Check: listenAddr,
			Usage: "statistics page listen address [IP]:PORT (default :1, or the --bind address on port 1); its port is reserved",
			Field: func(s *Settings) any { return &s.StatsAddr }},
		{Name: "bind", Scope: All, Meta: "IP", Check: ipAddr,
			Usage: "listen address of every frontend (default: all addresses)",
			Doc:   "in an outputs entry: the listen address of that output only",
			Field: func(s *Settings) any { return &s.Bind }, Out: func(o *Output) *string { return &o.Bind }},
		{Name: "certs", Scope: All, Meta: "DIR", Check: certsDir, Files: true,
			Usage: "directory of *.pem files (certificate chain and private key each) that https entries are served with",
			Doc:   "chosen by SNI; `default.pem`, else the first file by name, answers other names; made absolute; watched in `--watch`. See [https.md](https.md)",
			Field: func(s *Settings) any { return &s.Certs }},
		{Name: "proxy-max-files", Scope: All, Meta: "N", Default: "0", Check: maxFiles,
			Usage: "open-files limit (ulimit -n) of the proxy the config is for; HAProxy's maxconn and health checks are sized to it (0: 20000)",
			Doc:   "see [performance.md](performance.md#health-checks-and-limits) for how the limits are derived",
			Field: func(s *Settings) any { return &s.ProxyMaxFiles }},
		{Name: "haproxy-socket", Meta: "PATH", Check: socketPath,
			Usage: "HAProxy's stats socket: the template declares it, and changes to servers and map entries are applied through it without a reload",
			Doc:   "an absolute path, the same for HAProxy and rproxy-gen (a shared volume in the sidecar); before each reload the server states go to `STEM.state` beside the output; see [runtime.md](runtime.md)",
			Field: func(s *Settings) any { return &s.HAProxySocket }, Out: func(o *Output) *string { return &o.HAProxySocket }},
		{Name: "spare-backends", Meta: "N", Default: "32", Check: spareBackends,
			Usage: "with --haproxy-socket: empty backends of each mode (http, tcp) in the config, through which routes new since the last reload are served until the next one",
			Doc:   "0 for none: new routes then wait for the reload (paced by `--wait` MAX); see [runtime.md](runtime.md#new-routes-before-the-reload)",
			Field: func(s *Settings) any { return &s.SpareBackends }},
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
		{Name: "write-mode", Meta: "MODE", Default: "rename", Check: writeMode, Values: values("rename\tswap a new file in atomically", "inplace\trewrite the file (a single-file bind mount)"),
			Usage: "how outputs replace old files: rename (atomic) or inplace (single-file bind mounts)",
			Field: func(s *Settings) any { return &s.WriteMode }},
		{Name: "strict", Scope: All,
			Usage: "treat skipped RPROXY entries as errors: exit 1 and write nothing",
			Field: func(s *Settings) any { return &s.Strict }},
		{Name: "log-format", Scope: All, Meta: "FORMAT", Default: "text", Check: oneOf("text", "json"), Values: values("text", "json"),
			Usage: "log format on stderr: text or json",
			Field: func(s *Settings) any { return &s.LogFormat }},
		{Name: "log-level", Scope: All, Meta: "LEVEL", Default: "info", Check: logLevel, Values: values("debug", "info", "warn", "error"),
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

// DefaultContainerCheck is the check run in the --check-container when no
// --check is given.
const DefaultContainerCheck = "haproxy -c -f {{.File}}"

// values returns a Values function for a fixed list.
func values(v ...string) func() []string { return func() []string { return v } }

func filterValues() []string {
	out := make([]string, len(source.FilterKeys))
	for i, k := range source.FilterKeys {
		out[i] = k + "="
	}
	return out
}

func filter(s string) (string, error) {
	k, v, err := source.ParseFilter(s)
	if err != nil {
		return "", err
	}
	return k + "=" + v, nil
}

// dockerHost checks a daemon address the Docker client can dial.
func dockerHost(s string) (string, error) {
	u, err := client.ParseHostURL(s)
	if err != nil {
		return "", fmt.Errorf("%q: want unix:///path/to/docker.sock or tcp://HOST:PORT", s)
	}
	switch u.Scheme {
	case "unix", "tcp", "npipe":
		return s, nil
	case "ssh":
		return "", fmt.Errorf("%q: ssh:// needs the docker CLI's helper; forward the socket instead (ssh -L /tmp/docker.sock:/var/run/docker.sock HOST) and use unix:///tmp/docker.sock", s)
	}
	return "", fmt.Errorf("%q: unsupported scheme %q: want unix:// or tcp://", s, u.Scheme)
}

// outputFile refuses an -o that names a directory by its trailing slash
// (an existing directory is refused when writing).
func outputFile(s string) (string, error) {
	if strings.HasSuffix(s, "/") {
		return "", fmt.Errorf("%q is a directory: give the file to write, e.g. %shaproxy.cfg", s, s)
	}
	return s, nil
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

// certsDir makes the certificate directory absolute and checks that a
// config can name it; whether it exists and what it holds is read later.
func certsDir(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("want a directory")
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	if err := model.ValidateCertDir(abs); err != nil {
		return "", err
	}
	return abs, nil
}

func maxFiles(s string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%q: want a whole number", s)
	}
	if err := (model.Options{MaxFiles: n}).Validate(); err != nil {
		return "", err
	}
	return strconv.Itoa(n), nil
}

// spareBackends checks --spare-backends: 0 to 1000.
func spareBackends(s string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 1000 {
		return "", fmt.Errorf("%q: want a whole number from 0 to 1000", s)
	}
	return strconv.Itoa(n), nil
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
