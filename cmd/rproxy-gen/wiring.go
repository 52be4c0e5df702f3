package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/rproxy-gen/rproxy-gen/certs"
	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/live"
	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/source"
	"github.com/rproxy-gen/rproxy-gen/watch"
)

// wiring turns settings into the pieces a command runs: the outputs (their
// templates loaded and their commands checked before anything is read or
// written), the notifier, the Docker source.
type wiring struct {
	s        *config.Settings
	log      *slog.Logger
	outputs  []*pipeline.Output
	notifier *notify.Notifier
	cli      source.Client
	dock     *source.Docker
	certs    *certs.Dir // the --certs directory, read on first use
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
	signals, commands := len(s.NotifyContainer) > 0, false
	for _, spec := range specs {
		o, err := w.loadOutput(spec)
		if err != nil {
			return nil, err
		}
		w.outputs = append(w.outputs, o)
		signals = signals || o.NotifyContainer != ""
		commands = commands || o.Notify != nil
		if o.NotifyContainer != "" {
			w.warnSignal(o.NotifySignal, o.NotifyContainer)
		}
	}
	for _, c := range s.NotifyContainer {
		w.warnSignal(s.NotifySignal, c)
	}
	cmd, err := notify.ParseGlobalCommand(s.Notify)
	if err != nil {
		return nil, err
	}
	if err := w.liveOutputs(specs, cmd != nil || len(s.NotifyContainer) > 0); err != nil {
		w.close()
		return nil, err
	}
	if cmd == nil && !signals && !commands {
		return w, nil
	}
	cfg := notify.Config{Command: cmd, Containers: s.NotifyContainer, Signal: s.NotifySignal, Timeout: s.CommandTimeout, Retries: s.Watch, Log: log}
	if s.Watch {
		cfg.Interval = s.Wait.Max // reloads at most every MAX of --wait
	}
	if signals {
		d, err := w.docker()
		if err != nil {
			return nil, err
		}
		cfg.Signaler = d
	}
	if s.MasterSocket != "" {
		if len(s.NotifyContainer) != 1 {
			return nil, fmt.Errorf("--haproxy-master-socket confirms the reloads of one HAProxy: give exactly one --notify-container (%d given), or set it per output", len(s.NotifyContainer))
		}
		if cfg.Confirm, err = w.confirmer(s.MasterSocket, s.NotifyContainer[0]); err != nil {
			return nil, err
		}
	}
	w.notifier = notify.New(cfg)
	return w, nil
}

// warnSignal warns, once at start-up, when sig would stop the proxy in
// container instead of reloading it.
func (w *wiring) warnSignal(sig, container string) {
	if msg := config.SignalWarning(sig); msg != "" {
		w.log.Warn("--notify-signal "+sig+" does not reload a proxy: "+msg, "container", container)
	}
}

// liveOutputs gives the outputs with a HAProxy socket their live applier
// and their template settings; globalNotify says a global notify exists.
func (w *wiring) liveOutputs(specs []config.Output, globalNotify bool) error {
	for i, spec := range specs {
		o := w.outputs[i]
		o.Settings = render.Settings{HardStopAfter: render.HAProxyTime(w.s.HardStopAfter), StatsPrometheus: w.s.StatsPrometheus}
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
		o.Settings.SpareBackends = w.s.SpareBackends
		dial, err := live.SocketDialer(spec.HAProxySocket, 2*time.Second)
		if err != nil {
			return fmt.Errorf("output %s: --haproxy-socket: %w", spec.Dest, err)
		}
		change := notify.Change{File: o.Dest, Command: o.Notify, Container: o.NotifyContainer, Signal: o.NotifySignal, Confirm: o.Confirm}
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

// loadOutput loads an output's template and parses its commands.
func (w *wiring) loadOutput(spec config.Output) (*pipeline.Output, error) {
	s := w.s
	t, err := render.Load(spec.Template)
	if err != nil {
		return nil, err
	}
	o := &pipeline.Output{Template: t, Dest: spec.Dest, Bind: spec.Bind,
		NotifyContainer: spec.NotifyContainer, NotifySignal: spec.NotifySignal}
	check := spec.Check
	if spec.CheckContainer != "" && check == "" {
		if t.Name == "nginx-stream" && t.Path == "" {
			return nil, fmt.Errorf("output %s: --check-container %s needs a --check (or the output's check) for nginx-stream: the default check is HAProxy's",
				spec.Dest, spec.CheckContainer)
		}
		check = config.DefaultContainerCheck
	}
	c, err := install.ParseCheck(check)
	switch {
	case err != nil:
		return nil, err
	case c != nil && spec.CheckContainer != "":
		if err := source.CheckRunsWithoutShell(c); err != nil {
			return nil, fmt.Errorf("--check-container %s: %w", spec.CheckContainer, err)
		}
		d, err := w.docker()
		if err != nil {
			return nil, err
		}
		o.Check = d.ExecCheck(spec.CheckContainer, c, s.CommandTimeout)
	case c != nil:
		o.Check = install.CommandCheck(c, s.CommandTimeout)
	}
	if o.Notify, err = notify.ParseCommand(spec.Notify); err != nil {
		return nil, err
	}
	if spec.MasterSocket != "" {
		if o.Confirm, err = w.confirmer(spec.MasterSocket, spec.NotifyContainer); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// confirmer confirms the reloads of the HAProxy in container through its
// master CLI socket, with the container's [ALERT] log lines as the reason
// of a refusal.
func (w *wiring) confirmer(socket, container string) (notify.Confirmer, error) {
	m, err := haproxyapi.NewMaster(socket)
	if err != nil {
		return nil, fmt.Errorf("--haproxy-master-socket: %w", err)
	}
	d, err := w.docker()
	if err != nil {
		return nil, err
	}
	return &notify.MasterConfirmer{Master: m, Timeout: w.s.CommandTimeout,
		Reason: func(ctx context.Context, since time.Time) (string, error) { return d.Alerts(ctx, container, since) }}, nil
}

// docker returns the Docker source, connecting on first use.
func (w *wiring) docker() (*source.Docker, error) {
	if w.dock == nil {
		f, err := source.ParseFilters(w.s.Filters)
		if err != nil {
			return nil, err
		}
		cli, err := source.NewClient(w.s.Host)
		if err != nil {
			return nil, err
		}
		w.closers = append(w.closers, func() { cli.Close() })
		w.cli = cli
		w.dock = source.NewDocker(cli, w.log)
		w.dock.SetFilter(f)
		if w.s.Swarm {
			w.dock.SkipSwarmTasks() // their services route them
		}
	}
	return w.dock, nil
}

// source returns the live source: the Docker daemon's containers, and with
// --swarm the services of the Swarm it manages beside them.
func (w *wiring) source() (watch.Source, error) {
	d, err := w.docker()
	if err != nil {
		return nil, err
	}
	if !w.s.Swarm {
		return d, nil
	}
	return source.NewMulti(d, source.NewSwarm(w.cli, w.log)), nil
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
	o := model.Options{Network: w.s.Network, PreferNetworks: self, Bind: w.s.Bind, StatsAddr: w.s.StatsAddr,
		MaxFiles: w.s.ProxyMaxFiles}
	if w.certs != nil {
		o.Certs = w.certs.Current()
	}
	return o
}

// loadCerts reads the --certs directory the first time; a directory that
// cannot be read is an error (a bad file is only logged, once).
func (w *wiring) loadCerts() error {
	if w.s.Certs == "" || w.certs != nil {
		return nil
	}
	d := certs.NewDir(w.s.Certs, w.log)
	if _, err := d.Reload(); err != nil {
		return fmt.Errorf("--certs: %w", err)
	}
	w.certs = d
	return nil
}

// reloadCerts reads the --certs directory again (in --watch, after it
// changed): a directory that cannot be read keeps the last certificates.
func (w *wiring) reloadCerts() {
	c, err := w.certs.Reload()
	if err != nil {
		w.log.Error("certificate directory unreadable; keeping the certificates read before", "dir", w.certs.Path(), "err", err)
		return
	}
	w.log.Info("certificate directory read", "dir", c.Dir, "files", len(c.Files), "default", c.Default)
}

// loadModel reads --from (or Docker) and builds the model.
func (w *wiring) loadModel(ctx context.Context, stdin io.Reader) (*model.Model, error) {
	if err := w.loadCerts(); err != nil {
		return nil, err
	}
	if w.s.From == "" {
		src, err := w.source()
		if err != nil {
			return nil, err
		}
		if err := src.Sync(ctx); err != nil {
			return nil, err
		}
		return model.Build(src.Containers(), w.buildOptions(w.dock.SelfNetworks(ctx))), nil
	}
	data, release, err := readFrom(w.s.From, stdin)
	if err != nil {
		return nil, err
	}
	in, err := source.ReadInput(data)
	release()
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
	if w.s.ProxyMaxFiles != 0 {
		m.MaxFiles = w.s.ProxyMaxFiles
	}
	if w.certs != nil {
		// The directory given now describes the certificates, not the
		// model file's copy; which hosts it covers is worked out again.
		m.Certificates = w.certs.Current()
		m.Normalize()
	}
	return m, nil
}

// readFrom returns the content of --from; release it once decoded (a file
// is mapped into memory, see source.MapFile).
func readFrom(from string, stdin io.Reader) (data []byte, release func(), err error) {
	if from == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, func() {}, nil
	}
	data, release, err = source.MapFile(from)
	if err != nil {
		return nil, nil, fmt.Errorf("read --from: %w", err)
	}
	return data, release, nil
}
