package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/live"
	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// wiring turns settings into the pieces a command runs: the outputs (their
// templates loaded and their commands checked before anything is read or
// written), the notifier, the Docker source.
type wiring struct {
	s        *config.Settings
	log      *slog.Logger
	outputs  []*pipeline.Output
	notifier *notify.Notifier
	dock     *source.Docker
	// metrics receives what the pipeline and the watch loop do.
	metrics metrics.Recorder
	// appliers are the outputs' live appliers (--haproxy-socket).
	appliers []*live.Applier
	closers  []func()
}

// newWiring resolves and loads the outputs; args are the positional
// TEMPLATE [DEST] arguments.
func newWiring(s *config.Settings, args []string, log *slog.Logger) (*wiring, error) {
	w := &wiring{s: s, log: log, metrics: metrics.Nop{}}
	specs, err := s.ResolveOutputs(args)
	if err != nil {
		return nil, err
	}
	signals, commands := s.NotifyContainer != "", false
	for _, spec := range specs {
		o, err := loadOutput(spec, s)
		if err != nil {
			return nil, err
		}
		w.outputs = append(w.outputs, o)
		signals = signals || o.NotifyContainer != ""
		commands = commands || o.Notify != nil
	}
	cmd, err := notify.ParseGlobalCommand(s.Notify)
	if err != nil {
		return nil, err
	}
	if err := w.liveOutputs(specs, cmd != nil || s.NotifyContainer != ""); err != nil {
		w.close()
		return nil, err
	}
	if cmd == nil && !signals && !commands {
		return w, nil
	}
	cfg := notify.Config{Command: cmd, Container: s.NotifyContainer, Signal: s.NotifySignal, Timeout: s.CommandTimeout, Retries: s.Watch, Log: log}
	if signals {
		d, err := w.docker()
		if err != nil {
			return nil, err
		}
		cfg.Signaler = d
	}
	w.notifier = notify.New(cfg)
	return w, nil
}

// liveOutputs gives the outputs with a HAProxy socket their live applier
// and their template settings; globalNotify says a global notify exists.
func (w *wiring) liveOutputs(specs []config.Output, globalNotify bool) error {
	for i, spec := range specs {
		o := w.outputs[i]
		o.Settings = render.Settings{HardStopAfter: haproxyTime(w.s.HardStopAfter), StatsPrometheus: w.s.StatsPrometheus}
		if spec.HAProxySocket == "" {
			continue
		}
		dest, err := filepath.Abs(spec.Dest)
		if err != nil {
			return fmt.Errorf("output %s: %w", spec.Dest, err)
		}
		state := filepath.Join(filepath.Dir(dest), render.Stem(dest)+".state")
		if err := render.ValidPath(state); err != nil {
			return fmt.Errorf("output %s: its server-state file goes into haproxy.cfg, which needs a plain path: %w", spec.Dest, err)
		}
		o.Settings.HAProxySocket, o.Settings.ServerStateFile = spec.HAProxySocket, state
		dial, err := live.SocketDialer(spec.HAProxySocket, 2*time.Second)
		if err != nil {
			return fmt.Errorf("output %s: --haproxy-socket: %w", spec.Dest, err)
		}
		change := notify.Change{File: o.Dest, Command: o.Notify, Container: o.NotifyContainer, Signal: o.NotifySignal}
		a, err := live.New(live.Config{
			Dial: dial, Dest: o.Dest, StateFile: state, DrainTimeout: w.s.DrainTimeout, Log: w.log,
			Reload: func() {
				if w.notifier != nil {
					w.notifier.Trigger([]notify.Change{change})
				}
			},
		})
		if err != nil {
			return err
		}
		o.Live = a
		w.appliers = append(w.appliers, a)
		if o.Notify == nil && o.NotifyContainer == "" && !globalNotify {
			w.log.Warn("an output with a HAProxy socket has no notify: changes beyond servers and map entries will not reach HAProxy",
				"file", o.Dest)
		}
	}
	return nil
}

// haproxyTime formats a duration in HAProxy's time format ("" for 0): whole
// minutes, seconds or milliseconds.
func haproxyTime(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", (d+time.Millisecond-1)/time.Millisecond)
}

// loadOutput loads an output's template and parses its commands.
func loadOutput(spec config.Output, s *config.Settings) (*pipeline.Output, error) {
	t, err := render.Load(spec.Template)
	if err != nil {
		return nil, err
	}
	o := &pipeline.Output{Template: t, Dest: spec.Dest, Bind: spec.Bind,
		NotifyContainer: spec.NotifyContainer, NotifySignal: spec.NotifySignal}
	if c, err := install.ParseCheck(spec.Check); err != nil {
		return nil, err
	} else if c != nil {
		o.Check = install.CommandCheck(c, s.CommandTimeout)
	}
	if o.Notify, err = notify.ParseCommand(spec.Notify); err != nil {
		return nil, err
	}
	return o, nil
}

// docker returns the Docker source, connecting on first use.
func (w *wiring) docker() (*source.Docker, error) {
	if w.dock == nil {
		cli, err := source.NewClient()
		if err != nil {
			return nil, err
		}
		w.closers = append(w.closers, func() { cli.Close() })
		w.dock = source.NewDocker(cli, w.log)
	}
	return w.dock, nil
}

// close waits up to drainWait for the drains under way over the HAProxy
// sockets, and releases what the wiring opened.
func (w *wiring) close() {
	w.closeWithin(5 * time.Second)
}

func (w *wiring) closeWithin(drainWait time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drainWait)
	defer cancel()
	for _, a := range w.appliers {
		a.Close(ctx)
	}
	w.appliers = nil
	for _, c := range w.closers {
		c()
	}
	w.closers = nil
}

// pipeline returns the pipeline of the outputs.
func (w *wiring) pipeline(stdout io.Writer, watching bool) (*pipeline.Pipeline, error) {
	mode, err := install.ParseMode(w.s.WriteMode)
	if err != nil {
		return nil, err
	}
	return pipeline.New(pipeline.Config{
		Outputs: w.outputs, Strict: w.s.Strict, Mode: mode, Stdout: stdout,
		Notifier: w.notifier, Watch: watching, Metrics: w.metrics, Log: w.log,
	}), nil
}

// buildOptions are the model options the settings give; self lists the
// networks of the container rproxy-gen runs in, if any.
func (w *wiring) buildOptions(self []string) model.Options {
	return model.Options{Network: w.s.Network, PreferNetworks: self, Bind: w.s.Bind, StatsAddr: w.s.StatsAddr}
}

// loadModel reads --from (or Docker) and builds the model.
func (w *wiring) loadModel(ctx context.Context, stdin io.Reader) (*model.Model, error) {
	if w.s.From == "" {
		d, err := w.docker()
		if err != nil {
			return nil, err
		}
		if err := d.Sync(ctx); err != nil {
			return nil, err
		}
		return model.Build(d.Containers(), w.buildOptions(d.SelfNetworks(ctx))), nil
	}
	data, err := readFrom(w.s.From, stdin)
	if err != nil {
		return nil, err
	}
	in, err := source.ReadInput(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.s.From, err)
	}
	if in.Model == nil {
		return model.Build(in.Containers, w.buildOptions(nil)), nil
	}
	m := in.Model
	if w.s.Bind != "" {
		m.Bind = w.s.Bind
	}
	if w.s.StatsAddr != "" {
		m.Stats.Addr = w.s.StatsAddr
	}
	return m, nil
}

func readFrom(from string, stdin io.Reader) ([]byte, error) {
	if from == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return nil, fmt.Errorf("read --from: %w", err)
	}
	return data, nil
}
