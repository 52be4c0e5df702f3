package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// runWatch keeps the outputs in step with Docker until SIGINT or SIGTERM.
func runWatch(cmd *cobra.Command, s *config.Settings, args []string, log *slog.Logger) error {
	if s.From != "" {
		return fmt.Errorf("--watch follows Docker; it cannot be combined with --from")
	}
	ctx := cmd.Context()
	w, err := newWiring(s, args, log)
	if err != nil {
		return err
	}
	defer w.close()
	if s.MetricsAddr != "" {
		rec := metrics.New()
		if err := rec.Serve(ctx, s.MetricsAddr, log); err != nil {
			return err
		}
		w.metrics = rec
	}
	src, err := w.source()
	if err != nil {
		return err
	}
	d := w.dock
	p, err := w.pipeline(cmd.OutOrStdout(), true)
	if err != nil {
		return err
	}
	nctx, stop := context.WithCancel(ctx)
	defer stop()
	if w.notifier != nil {
		go w.notifier.Run(nctx)
	}
	if err := w.loadCerts(); err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg := watch.Config{
		Source: src,
		Build: func(ctx context.Context, cs []model.Container) *model.Model {
			return model.Build(cs, w.buildOptions(d.SelfNetworks(ctx)))
		},
		Pipeline: p,
		Wait:     watch.Debounce{Min: s.Wait.Min, Max: s.Wait.Max},
		Resync:   s.Resync.Period(s.Swarm),
		Hangup:   hup,
		Metrics:  w.metrics,
		Log:      log,
	}
	if w.certs != nil {
		cfg.Dirs, cfg.DirsChanged = []string{w.certs.Path()}, w.reloadCerts
	}
	return watch.Run(ctx, cfg)
}
