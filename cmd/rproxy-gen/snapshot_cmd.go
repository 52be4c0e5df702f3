package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/source"
)

func newSnapshotCmd(s *config.Settings) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Print the live Docker state as docker-inspect JSON (usable with --from)",
		Long: `Print what 'docker inspect $(docker ps -q)' prints: the running containers
of the daemon named by -H, DOCKER_HOST or the default socket, sorted by name.
With --swarm, print a JSON object instead: {"containers": [...], "services":
[...], "tasks": [...], "nodes": [...]}, the containers and the Swarm state
as the manager lists it (tasks whose desired state is running).
Render it later, or elsewhere, with --from: the same bytes as rendering live.

By default only what rendering needs is kept (IDs, names, times, state and
health status, networks, the RPROXY variable and the rproxy labels): every
other environment variable and label keeps its name, with its value replaced
by <redacted>, and commands, mounts and host settings are left out, so a
snapshot can be committed as a test fixture. --full keeps everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := &wiring{s: s, log: newLogger(cmd.ErrOrStderr(), s)}
			defer w.close()
			d, err := w.docker()
			if err != nil {
				return err
			}
			all, err := d.InspectAll(cmd.Context())
			if err != nil {
				return err
			}
			var snap any = all
			if s.Swarm {
				st, err := source.ListSwarm(cmd.Context(), w.cli)
				if err != nil {
					return err
				}
				ss := source.NewSnapshot(all, st)
				if !full {
					ss = source.RedactSnapshot(ss)
				}
				snap = ss
			} else if !full {
				for i := range all {
					all[i] = source.Redact(all[i])
				}
			}
			// As docker inspect prints it: <, > and & as they are.
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "    ")
			if err := enc.Encode(snap); err != nil {
				return fmt.Errorf("encode snapshot: %w", err)
			}
			if _, err := b.WriteTo(cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "keep everything docker inspect shows, secrets in environment variables and labels included")
	return cmd
}
