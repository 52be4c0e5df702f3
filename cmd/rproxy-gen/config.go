package main

import (
	"github.com/spf13/cobra"
)

// applyConfig reads --config and sets every option the command line did not set.
func applyConfig(cmd *cobra.Command, o *options) error {
	return nil
}
