package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/compile"
	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// runWatch keeps the outputs in step with Docker until SIGINT or SIGTERM.
func runWatch(cmd *cobra.Command, o *options, log *slog.Logger) error {
	if o.from != "" {
		return fmt.Errorf("--watch follows Docker; it cannot be combined with --from")
	}
	mode, err := compile.ParseWriteMode(o.writeMode)
	if err != nil {
		return err
	}
	wmin, wmax, err := config.ParseWait(o.wait)
	if err != nil {
		return fmt.Errorf("--wait: %w", err)
	}
	if err := checkStatsAddr(o); err != nil {
		return err
	}
	outs, err := parseOutputs(o)
	if err != nil {
		return err
	}
	d, err := source.NewDocker()
	if err != nil {
		return err
	}
	defer d.Close()
	n, _, err := newNotifier(o, outs, log, d)
	if err != nil {
		return err
	}

	var self []string
	selfKnown, streamWarned := false, false
	build := func(cs []model.Container) (*model.Model, error) {
		if !selfKnown {
			self, selfKnown = d.SelfNetworks(cmd.Context(), log), true
		}
		m := model.Build(cs, buildOptions(o, self))
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("invalid model: %w", err)
		}
		if !streamWarned && warnStreamOnly(m, outs, log) {
			streamWarned = true
		}
		return m, nil
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return watch.Run(cmd.Context(), watch.Config{
		Docker:   d,
		Build:    build,
		Outputs:  outs,
		Write:    compile.ApplyOptions{Stdout: cmd.OutOrStdout(), Mode: mode, Timeout: o.cmdTimeout},
		Notifier: n,
		Strict:   o.strict,
		Wait:     watch.Debounce{Min: wmin, Max: wmax},
		Hangup:   hup,
		Log:      log,
	})
}

// warnStreamOnly warns when http routes exist but every output is the
// nginx-stream template, which cannot route http; it reports whether it did.
func warnStreamOnly(m *model.Model, outs []compile.Output, log *slog.Logger) bool {
	if len(m.HTTP) == 0 {
		return false
	}
	for _, o := range outs {
		if o.Template.Name != "nginx-stream" || o.Template.Path != "" {
			return false
		}
	}
	routes := 0
	for _, p := range m.HTTP {
		routes += len(p.Routes)
	}
	log.Warn("http routes are not rendered: nginx stream routes tcp by port only; add the haproxy template for them",
		"http_routes", routes)
	return true
}
