package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/model"
)

func newModelCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "model",
		Short: "Print the intermediate YAML model instead of a rendered config",
		Long: `Print the model that templates see: ports, routes in precedence order,
backends and servers, plus skipped entries and excluded containers. The output
can be edited and fed back with --from.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(cmd.ErrOrStderr(), o)
			m, err := loadModel(cmd, o, log)
			if err != nil {
				return err
			}
			b, err := model.Marshal(m)
			if err != nil {
				return err
			}
			if _, err := cmd.OutOrStdout().Write(b); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
			return nil
		},
	}
}
