package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSnapshotCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot",
		Short: "Print the live Docker state as docker-inspect JSON (usable with --from)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fmt.Errorf("snapshot is not implemented yet")
		},
	}
}
