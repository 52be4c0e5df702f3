package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

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
}

func newRootCmd() *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:   "rproxy-gen [flags]",
		Short: "Compile the containers of a Docker host into a reverse-proxy config",
		Long: `rproxy-gen reads containers (live from Docker, or a docker-inspect JSON snapshot
with --from), turns their RPROXY=http://host[:port][/path] and tcp://name:port
entries into a model, and renders it through templates (built-in: haproxy,
nginx-stream; or a file) to stdout or to files written atomically.`,
		Example: `  rproxy-gen --from testdata/example.json
  rproxy-gen --from snap.json -o /etc/haproxy/haproxy.cfg --check 'haproxy -c -f {{.File}}'
  rproxy-gen model --from snap.json
  docker inspect $(docker ps -q) | rproxy-gen --from -`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(cmd.ErrOrStderr(), o)
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
	root.AddCommand(newModelCmd(o))
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
	if o.statsAddr != "" {
		if err := model.ValidateListenAddr(o.statsAddr); err != nil {
			return nil, fmt.Errorf("--stats-addr: %w", err)
		}
	}
	if o.from == "" {
		return nil, fmt.Errorf("live Docker source is not available yet: use --from FILE")
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
		m = model.Build(in.Containers, model.Options{Network: o.network, Bind: o.bind, StatsAddr: o.statsAddr})
	} else {
		if o.bind != "" {
			m.Bind = o.bind
		}
		if o.statsAddr != "" {
			m.Stats.Addr = o.statsAddr
		}
	}
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

// output is one TEMPLATE[:DEST] pair.
type output struct {
	tmpl *compile.Template
	dest string // "" means stdout
}

func parseOutputs(o *options) ([]output, error) {
	specs := o.templates
	if len(specs) == 0 {
		specs = []string{"haproxy"}
	}
	if o.outFile != "" && len(specs) > 1 {
		return nil, fmt.Errorf("-o goes with a single template; use -t TEMPLATE:DEST for several")
	}
	var outs []output
	stdout := 0
	for _, spec := range specs {
		name, dest, _ := strings.Cut(spec, ":")
		if dest == "" {
			dest = o.outFile
		}
		if dest == "-" {
			dest = ""
		}
		if dest == "" {
			stdout++
		}
		t, err := compile.Load(name)
		if err != nil {
			return nil, err
		}
		outs = append(outs, output{tmpl: t, dest: dest})
	}
	if stdout > 1 {
		return nil, fmt.Errorf("only one template can go to stdout; give the others a destination (-t TEMPLATE:DEST)")
	}
	return outs, nil
}

func runRender(cmd *cobra.Command, o *options, log *slog.Logger) error {
	mode, err := compile.ParseWriteMode(o.writeMode)
	if err != nil {
		return err
	}
	outs, err := parseOutputs(o)
	if err != nil {
		return err
	}
	m, err := loadModel(cmd, o, log)
	if err != nil {
		return err
	}
	for _, out := range outs {
		stem := out.tmpl.Name
		if out.dest != "" {
			stem = compile.Stem(out.dest)
		}
		r, err := out.tmpl.Render(m, stem)
		if err != nil {
			return err
		}
		if out.dest == "" {
			if _, err := r.WriteTo(cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
			continue
		}
		changed, err := compile.Write(cmd.Context(), out.dest, r, compile.WriteOptions{Check: o.check, Mode: mode})
		if err != nil {
			return err
		}
		log.Info("output written", "file", out.dest, "changed", changed)
	}
	return nil
}
