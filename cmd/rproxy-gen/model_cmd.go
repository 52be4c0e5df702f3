package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
)

func newModelCmd(s *config.Settings) *cobra.Command {
	return &cobra.Command{
		Use:   "model",
		Short: "Print the intermediate YAML model instead of a rendered config",
		Long: `Print the model that templates see: ports, routes in precedence order,
backends and servers, plus skipped entries and excluded containers. The output
can be edited and fed back with --from.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(cmd.ErrOrStderr(), s)
			w := &wiring{s: s, log: log}
			defer w.close()
			m, err := w.loadModel(cmd.Context(), cmd.InOrStdin())
			if err != nil {
				return err
			}
			if err := pipeline.New(pipeline.Config{Strict: s.Strict, Log: log}).Check(m); err != nil {
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
