package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/source"
)

func newSnapshotCmd(s *config.Settings) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot",
		Short: "Print the live Docker state as docker-inspect JSON (usable with --from)",
		Long: `Print what 'docker inspect $(docker ps -q)' prints: the running containers
of the daemon named by DOCKER_HOST (or the default socket), sorted by name.
With --swarm, print a JSON object instead: {"containers": [...], "services":
[...], "tasks": [...], "nodes": [...]}, the containers and the Swarm state
as the manager lists it (tasks whose desired state is running).
Render it later, or elsewhere, with --from.`,
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
				snap = source.NewSnapshot(all, st)
			}
			b, err := json.MarshalIndent(snap, "", "    ")
			if err != nil {
				return fmt.Errorf("encode snapshot: %w", err)
			}
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
			return nil
		},
	}
}
