package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/compile"
	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/source"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// runRender is the one-shot mode: render every output once, write the files
// that changed, notify, and exit non-zero when any output or notify failed.
func runRender(cmd *cobra.Command, o *options, log *slog.Logger) error {
	mode, err := compile.ParseWriteMode(o.writeMode)
	if err != nil {
		return err
	}
	outs, err := parseOutputs(o)
	if err != nil {
		return err
	}
	n, closeDocker, err := newNotifier(o, outs, log, nil)
	if err != nil {
		return err
	}
	defer closeDocker()
	m, err := loadModel(cmd, o, log)
	if err != nil {
		return err
	}
	warnStreamOnly(m, outs, log)
	results := compile.Apply(cmd.Context(), m, outs, compile.ApplyOptions{
		Stdout: cmd.OutOrStdout(), Mode: mode, Timeout: o.cmdTimeout,
	})
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			log.Error("output failed", "template", r.Output.Template.Name, "file", r.Output.Dest, "err", r.Err)
			continue
		}
		if r.Output.Dest != "" {
			log.Info("output written", "file", r.Output.Dest, "changed", r.Changed)
		}
	}
	if err := n.Run(cmd.Context(), results); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d outputs failed", failed, len(results))
	}
	return nil
}

// newNotifier wires --notify, --notify-container and --notify-signal. The
// signal goes through d when given; otherwise a Docker client is opened only
// if a container is to be signalled. The returned func closes that client.
func newNotifier(o *options, outs []compile.Output, log *slog.Logger, d *source.Docker) (*watch.Notifier, func(), error) {
	n := &watch.Notifier{Command: o.notify, Container: o.notifyContainer, Timeout: o.cmdTimeout, Log: log}
	closer := func() {}
	signals := o.notifyContainer != ""
	for _, out := range outs {
		signals = signals || out.NotifyContainer != ""
	}
	if !signals {
		return n, closer, nil
	}
	sig, err := config.ParseSignal(o.notifySignal)
	if err != nil {
		return nil, nil, fmt.Errorf("--notify-signal: %w", err)
	}
	n.Signal = sig
	if d == nil {
		if d, err = source.NewDocker(); err != nil {
			return nil, nil, err
		}
		closer = func() { d.Close() }
	}
	n.Signaler = d
	return n, closer, nil
}
