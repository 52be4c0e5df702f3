package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/compile"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// options holds every flag; commands read it after parsing.
type options struct {
	from      string
	outFile   string
	templates []string
	statsAddr string
	bind      string
	network   string
	strict    bool
	check     string
	writeMode string
	logFormat string
	logLevel  string

	// Live Docker and --watch (see watch.go).
	watch           bool
	wait            string
	notify          string
	notifyContainer string
	notifySignal    string
	cmdTimeout      time.Duration

	// Config file (see config.go).
	configFile string
	// outputs come from the config file's outputs list; -t flags and
	// positional TEMPLATE [DEST] arguments replace them.
	outputs []outputSpec
	// args are the positional TEMPLATE [DEST] arguments (docker-gen style).
	args []string
}

// outputSpec is one template → destination pair with its own check and
// notify commands (empty: the global --check / none).
type outputSpec struct {
	Template string
	Dest     string
	Check    string
	Notify   string
	Bind     string
	// NotifyContainer and NotifySignal signal a container after this output
	// changed.
	NotifyContainer, NotifySignal string
}

func newRootCmd() *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:   "rproxy-gen [flags] [TEMPLATE [DEST]]",
		Short: "Compile the containers of a Docker host into a reverse-proxy config",
		Long: `rproxy-gen reads containers (live from Docker, or a docker-inspect JSON snapshot
with --from), turns their RPROXY=http://host[:port][/path] and tcp://name:port
entries into a model, and renders it through templates (built-in: haproxy,
nginx-stream; or a file) to stdout or to files written atomically.`,
		Example: `  rproxy-gen --from testdata/example.json
  rproxy-gen --from snap.json -o /etc/haproxy/haproxy.cfg --check 'haproxy -c -f {{.File}}'
  rproxy-gen model --from snap.json
  docker inspect $(docker ps -q) | rproxy-gen --from -
  rproxy-gen --watch -o /etc/haproxy/haproxy.cfg --check 'haproxy -c -q -f {{.File}}' --notify 'systemctl reload haproxy'
  rproxy-gen --watch -o /shared/haproxy.cfg --notify-container haproxy --notify-signal HUP
  rproxy-gen -t haproxy:/etc/haproxy/haproxy.cfg -t nginx-stream:/etc/nginx/stream.conf
  rproxy-gen -c /etc/rproxy-gen/config.yaml`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.MaximumNArgs(2),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyConfig(cmd, o)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.args = args
			log := newLogger(cmd.ErrOrStderr(), o)
			if o.watch {
				return runWatch(cmd, o, log)
			}
			return runRender(cmd, o, log)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&o.from, "from", "", "read a docker-inspect JSON snapshot or a YAML model from `FILE` (- for stdin) instead of Docker")
	pf.StringVar(&o.statsAddr, "stats-addr", "", "statistics page listen `ADDR` (default \""+model.DefaultStatsAddr+"\"); its port is reserved")
	pf.StringVar(&o.bind, "bind", "", "listen `IP` for every frontend (default: all addresses)")
	pf.StringVar(&o.network, "network", "", "use container addresses on Docker network `NAME` only")
	pf.BoolVar(&o.strict, "strict", false, "treat skipped RPROXY entries as errors: exit 1 and write nothing")
	pf.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f := root.Flags()
	f.StringVarP(&o.outFile, "output", "o", "", "write to `FILE` atomically instead of stdout")
	f.StringArrayVarP(&o.templates, "template", "t", nil, "built-in template name or template file, optionally TEMPLATE:DEST (repeatable; default haproxy)")
	f.StringVar(&o.check, "check", "", "shell `COMMAND` that validates a staged output, e.g. 'haproxy -c -f {{.File}}'")
	f.StringVar(&o.writeMode, "write-mode", "rename", "how outputs replace old files: rename (atomic) or inplace (single-file bind mounts)")
	f.BoolVarP(&o.watch, "watch", "w", false, "keep running: re-render on Docker events and template edits")
	f.StringVar(&o.wait, "wait", "100ms:2s", "debounce `MIN[:MAX]` for --watch: render MIN after the last event, at most MAX after the first")
	f.StringVar(&o.notify, "notify", "", "shell `COMMAND` run after an output changed, e.g. 'systemctl reload haproxy'")
	f.StringVar(&o.notifyContainer, "notify-container", "", "signal container `NAME` after an output changed (sidecar beside the proxy)")
	f.StringVar(&o.notifySignal, "notify-signal", "HUP", "signal sent by --notify-container")
	f.DurationVar(&o.cmdTimeout, "command-timeout", 30*time.Second, "time limit of each --check and --notify command")
	pf.StringVarP(&o.configFile, "config", "c", "", "read settings from YAML `FILE`; flags given on the command line override it")
	root.AddCommand(newModelCmd(o), newSnapshotCmd(o))
	return root
}

func newLogger(w io.Writer, o *options) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	hopts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(o.logFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// loadModel reads --from (or Docker) and builds the model, logging warnings.
func loadModel(cmd *cobra.Command, o *options, log *slog.Logger) (*model.Model, error) {
	if err := checkStatsAddr(o); err != nil {
		return nil, err
	}
	if o.from == "" {
		cs, self, err := liveContainers(cmd.Context(), log)
		if err != nil {
			return nil, err
		}
		return finishModel(model.Build(cs, buildOptions(o, self)), o, log)
	}
	data, err := readFrom(cmd, o.from)
	if err != nil {
		return nil, err
	}
	in, err := source.ReadInput(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.from, err)
	}
	m := in.Model
	if m == nil {
		m = model.Build(in.Containers, buildOptions(o, nil))
	} else {
		if o.bind != "" {
			m.Bind = o.bind
		}
		if o.statsAddr != "" {
			m.Stats.Addr = o.statsAddr
		}
	}
	return finishModel(m, o, log)
}

// checkStatsAddr validates --stats-addr before anything is read or written.
func checkStatsAddr(o *options) error {
	if o.statsAddr == "" {
		return nil
	}
	if err := model.ValidateListenAddr(o.statsAddr); err != nil {
		return fmt.Errorf("--stats-addr: %w", err)
	}
	return nil
}

// buildOptions maps flags to model.Options; self lists the networks of the
// container rproxy-gen runs in, if any.
func buildOptions(o *options, self []string) model.Options {
	return model.Options{Network: o.network, PreferNetworks: self, Bind: o.bind, StatsAddr: o.statsAddr}
}

// finishModel validates the model, logs its warnings and applies --strict.
func finishModel(m *model.Model, o *options, log *slog.Logger) (*model.Model, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid model: %w", err)
	}
	for _, w := range m.Warnings {
		log.Warn("RPROXY entry skipped", "container", w.Container, "entry", w.Entry, "reason", w.Reason)
	}
	for _, e := range m.Excluded {
		log.Info("container not routed", "container", e.Container, "reason", e.Reason)
	}
	if o.strict && len(m.Warnings) > 0 {
		return nil, fmt.Errorf("--strict: %d RPROXY entries skipped", len(m.Warnings))
	}
	return m, nil
}

func readFrom(cmd *cobra.Command, from string) ([]byte, error) {
	if from == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return nil, fmt.Errorf("read --from: %w", err)
	}
	return data, nil
}

// parseOutputs turns positional TEMPLATE [DEST], -t TEMPLATE[:DEST] flags,
// -o, or else the config file's outputs list into outputs (default: the
// haproxy template to stdout or to -o).
func parseOutputs(o *options) ([]compile.Output, error) {
	specs, err := outputSpecs(o)
	if err != nil {
		return nil, err
	}
	return specOutputs(specs, o.check)
}

func outputSpecs(o *options) ([]outputSpec, error) {
	if len(o.args) > 0 {
		if len(o.templates) > 0 {
			return nil, fmt.Errorf("give templates as -t TEMPLATE[:DEST] or as arguments TEMPLATE [DEST], not both")
		}
		s := outputSpec{Template: o.args[0], Dest: o.outFile}
		if len(o.args) == 2 {
			if o.outFile != "" {
				return nil, fmt.Errorf("give the destination as -o or as the DEST argument, not both")
			}
			s.Dest = o.args[1]
		}
		return []outputSpec{s.stdoutDash()}, nil
	}
	if len(o.templates) == 0 && o.outFile == "" && len(o.outputs) > 0 {
		return o.outputs, nil // the config file's; -t or -o replace them
	}
	raw := o.templates
	if len(raw) == 0 {
		raw = []string{"haproxy"}
	}
	if o.outFile != "" && len(raw) > 1 {
		return nil, fmt.Errorf("-o goes with a single template; use -t TEMPLATE:DEST for several")
	}
	specs := make([]outputSpec, 0, len(raw))
	for _, r := range raw {
		name, dest, _ := strings.Cut(r, ":")
		if dest == "" {
			dest = o.outFile
		}
		specs = append(specs, outputSpec{Template: name, Dest: dest}.stdoutDash())
	}
	return specs, nil
}

// stdoutDash maps the destination "-" to stdout.
func (s outputSpec) stdoutDash() outputSpec {
	if s.Dest == "-" {
		s.Dest = ""
	}
	return s
}
