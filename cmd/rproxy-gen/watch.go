package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
)

// runWatch keeps rendering on Docker events (issue: live Docker and --watch).
func runWatch(cmd *cobra.Command, o *options, log *slog.Logger) error {
	return fmt.Errorf("--watch is not implemented yet")
}
