package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
)

func newRootCmd() *cobra.Command {
	s := config.Defaults()
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
			if s.ConfigFile == "" {
				return nil
			}
			// A subcommand's FlagSet holds the inherited persistent flags
			// after parsing, but not the root's local flags: look there too.
			changed := func(name string) bool {
				return cmd.Flags().Changed(name) || cmd.Root().Flags().Changed(name)
			}
			return config.LoadFile(s.ConfigFile, s, changed)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			log := newLogger(cmd.ErrOrStderr(), s)
			if s.Watch {
				return runWatch(cmd, s, args, log)
			}
			return runRender(cmd, s, args, log)
		},
	}
	config.AddFlags(root.PersistentFlags(), config.All, s)
	config.AddFlags(root.Flags(), config.Root, s)
	root.AddCommand(newModelCmd(s), newSnapshotCmd(s))
	registerCompletions(root)
	return root
}

// newLogger logs to w in the format and from the level the settings say
// (both validated when they were set).
func newLogger(w io.Writer, s *config.Settings) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
