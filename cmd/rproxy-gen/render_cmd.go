package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
)

// runRender is the one-shot mode: render every output once, write the files
// that changed, notify, and exit non-zero when anything failed.
func runRender(cmd *cobra.Command, s *config.Settings, args []string, log *slog.Logger) error {
	ctx := cmd.Context()
	w, err := newWiring(s, args, log)
	if err != nil {
		return err
	}
	defer w.closeWithin(s.DrainTimeout + 5*time.Second) // removed servers drain before exit
	m, err := w.loadModel(ctx, cmd.InOrStdin())
	if err != nil {
		return err
	}
	p, err := w.pipeline(cmd.OutOrStdout(), false)
	if err != nil {
		return err
	}
	rep, err := p.Apply(ctx, m, "one-shot")
	if err != nil {
		return err
	}
	if rep.NotifyErr != nil {
		return fmt.Errorf("notify: %w", rep.NotifyErr)
	}
	if n := rep.Failed(); n > 0 {
		return fmt.Errorf("%d of %d outputs failed", n, len(rep.Results))
	}
	return nil
}
