// Package pipeline is the one path every model takes, in one-shot and watch
// mode alike: validate, log what was skipped (once), enforce --strict, render
// each output, install it (stage, check, swap) when its bytes changed, and
// then, per output that changed, apply it to the running proxy without a
// reload when it can (Output.Live) or else notify the proxy.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/live"
	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/shell"
)

// Output is one template rendered to one destination, with its own check and
// notifies.
type Output struct {
	Template *render.Template
	// Dest is the file to write; empty means Config.Stdout.
	Dest string
	// Check validates the staged set before it is swapped in; nil for none.
	Check install.Checker
	// Notify is run after this output changed ({{.File}} is Dest); nil for none.
	Notify *shell.Command
	// NotifyContainer is signalled with NotifySignal (default: the global
	// signal) after this output changed.
	NotifyContainer, NotifySignal string
	// Confirm, when set, confirms that the proxy took the reload that the
	// signal to NotifyContainer asked for.
	Confirm notify.Confirmer
	// Bind, when set, replaces the model's bind address for this output only.
	Bind string
	// Settings are what the template sees of the operator's settings for
	// this output besides the model (render.Settings).
	Settings render.Settings
	// Live, when set, applies a change of this output to the running proxy
	// without a reload when it can; the output is notified only when it
	// cannot (see Live).
	Live Live
}

// Live applies an output's installed change to its running proxy without a
// reload when the change allows it (live.Applier does it over HAProxy's
// Runtime API).
type Live interface {
	// Apply brings the running proxy to r, just installed; an error says
	// why the output must be notified (reloaded) instead.
	Apply(ctx context.Context, r *render.Rendered) (live.Result, error)
	// Reload says the output is about to be notified with r installed.
	Reload(ctx context.Context, r *render.Rendered)
	// Current says r is installed and did not change.
	Current(r *render.Rendered)
	// Unchecked says r may be installed without the output's check: it
	// differs from what is installed only in what the check passed before.
	Unchecked(r *render.Rendered) bool
}

// Name is the output's destination, or "stdout".
func (o *Output) Name() string {
	if o.Dest == "" {
		return "stdout"
	}
	return o.Dest
}

// stem names the output's auxiliary files: the destination's base name
// without extension, or the template name on stdout.
func (o *Output) stem() string {
	if o.Dest == "" {
		return o.Template.Name
	}
	return render.Stem(o.Dest)
}

// Config is everything a Pipeline needs.
type Config struct {
	Outputs []*Output
	// Strict rejects a model with skipped RPROXY entries (after logging them).
	Strict bool
	// Mode is how files are replaced.
	Mode install.Mode
	// Stdout receives the outputs without a destination.
	Stdout io.Writer
	// Notifier is told about changed outputs; nil means no notifies.
	Notifier *notify.Notifier
	// Watch says the pipeline runs for --watch: notifies go to the
	// Notifier's background runner, and renders that change nothing are
	// logged at debug level.
	Watch bool
	// Metrics receives what each Apply did; nil records nothing.
	Metrics metrics.Recorder
	Log     *slog.Logger
}

// Result tells what happened to one output.
type Result struct {
	Output  *Output
	Changed bool
	// Live says the change was applied to the running proxy without a
	// reload (and the output not notified).
	Live bool
	Err  error
}

// Report is what one Apply did.
type Report struct {
	// Results has one entry per output, in order; empty when the model was
	// rejected.
	Results []Result
	// Diff is what changed since the last model applied.
	Diff model.Diff
	// NotifyErr is the failure of the notifies (one-shot mode only; in watch
	// mode they run in the background).
	NotifyErr error
}

// Changed reports whether any output changed (or failed to).
func (r Report) Changed() bool {
	for _, res := range r.Results {
		if res.Changed || res.Err != nil {
			return true
		}
	}
	return false
}

// Failed counts the outputs that failed.
func (r Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Err != nil {
			n++
		}
	}
	return n
}

// Pipeline applies models to outputs. It remembers the last model applied,
// so that it logs each skipped entry once and reports what changed. It is
// not safe for concurrent use.
type Pipeline struct {
	cfg          Config
	last         *model.Model // the last model applied
	seen         *model.Model // the last model built (differs after a strict refusal)
	streamWarned bool
}

// New returns a Pipeline. It removes staging directories that a killed
// earlier run left beside the outputs.
func New(cfg Config) *Pipeline {
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.Nop{}
	}
	p := &Pipeline{cfg: cfg}
	for _, o := range cfg.Outputs {
		if o.Dest == "" {
			continue
		}
		removed, err := install.RemoveStale(o.Dest)
		for _, d := range removed {
			cfg.Log.Info("removed a staging directory left by an earlier run", "dir", d)
		}
		if err != nil {
			cfg.Log.Warn("stale staging directories", "err", err)
		}
	}
	return p
}

// Outputs returns the outputs (templates may have been reloaded).
func (p *Pipeline) Outputs() []*Output { return p.cfg.Outputs }

// Apply runs m through the pipeline; reason says why, for the log. It returns
// an error, and writes nothing, when the model is invalid or --strict refuses
// it; failures of single outputs are in the Report and leave the others
// alone.
func (p *Pipeline) Apply(ctx context.Context, m *model.Model, reason string) (Report, error) {
	diff := model.Compare(p.last, m)
	if err := p.check(m, diff); err != nil {
		return Report{}, err
	}
	p.warnStreamOnly(m)
	rep := Report{Diff: diff}
	p.last = m
	var changes []notify.Change
	rec := p.cfg.Metrics
	for _, o := range p.cfg.Outputs {
		res := p.applyOutput(ctx, m, o)
		rep.Results = append(rep.Results, res)
		rec.Rendered(o.Name(), res.Err)
		if errors.Is(res.Err, install.ErrCheck) {
			rec.CheckFailed(o.Name())
		}
		if res.Changed && res.Err == nil && o.Dest != "" && !res.Live {
			changes = append(changes, notify.Change{File: o.Dest, Command: o.Notify, Container: o.NotifyContainer, Signal: o.NotifySignal, Confirm: o.Confirm})
			rec.Reloaded(o.Name())
		}
	}
	rec.Routes(countRoutes(m))
	if rep.Failed() == 0 {
		rec.Applied(time.Now())
	}
	p.logApply(ctx, rep, reason, m)
	if n := p.cfg.Notifier; n != nil {
		if p.cfg.Watch {
			n.Trigger(changes)
		} else {
			rep.NotifyErr = n.Notify(ctx, changes)
		}
	}
	return rep, nil
}

// Check is the first half of Apply, for commands that print the model: it
// validates m, logs the entries skipped and the containers left out (those
// not logged before), and applies --strict.
func (p *Pipeline) Check(m *model.Model) error {
	return p.check(m, model.Compare(p.last, m))
}

// check is Check with the difference from the last model applied already
// computed (Apply needs it too).
func (p *Pipeline) check(m *model.Model, sinceApplied model.Diff) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("invalid model: %w", err)
	}
	notes := sinceApplied
	if p.seen != p.last { // a strict refusal in between: notes since the last model built
		notes = model.Compare(p.seen, m)
	}
	p.seen = m
	p.logNotes(notes, m)
	if p.cfg.Strict && len(m.Warnings) > 0 {
		return fmt.Errorf("--strict: %d RPROXY entries skipped", len(m.Warnings))
	}
	return nil
}

func (p *Pipeline) applyOutput(ctx context.Context, m *model.Model, o *Output) Result {
	res := Result{Output: o}
	t0 := time.Now()
	r, err := o.Template.RenderWith(forOutput(m, o), o.stem(), o.Settings)
	if err != nil {
		res.Err = err
		return res
	}
	if o.Dest == "" {
		if _, err := r.WriteTo(p.cfg.Stdout); err != nil {
			res.Err = fmt.Errorf("write stdout: %w", err)
		}
		res.Changed = true
		return res
	}
	aux := make([]install.File, len(r.Files))
	for i, f := range r.Files {
		aux[i] = install.File{Name: f.Name, Data: f.Data}
	}
	check := o.Check
	if check != nil && o.Live != nil && o.Live.Unchecked(r) {
		check = nil // a replica change: nothing the check has not passed
	}
	t1 := time.Now()
	res.Changed, res.Err = install.Write(ctx, o.Dest, r.Main, aux, install.Options{Check: check, Mode: p.cfg.Mode})
	t2 := time.Now()
	if o.Live != nil && res.Err == nil {
		res.Live = p.applyLive(ctx, o, r, res.Changed)
	}
	p.cfg.Log.Debug("output done", "file", o.Dest, "changed", res.Changed, "checked", check != nil,
		"render", t1.Sub(t0).Round(time.Microsecond), "install", t2.Sub(t1).Round(time.Microsecond),
		"live", time.Since(t2).Round(time.Microsecond))
	return res
}

// applyLive hands an installed output to its Live applier: it reports
// whether the change was applied without a reload; when not, the applier
// is told that the output is about to be notified.
func (p *Pipeline) applyLive(ctx context.Context, o *Output, r *render.Rendered, changed bool) bool {
	if !changed {
		o.Live.Current(r)
		return false
	}
	start := time.Now()
	lr, err := o.Live.Apply(ctx, r)
	switch {
	case err == nil && lr.Reload == "":
		p.cfg.Metrics.RuntimeApplied(o.Name())
		p.cfg.Log.Info("applied live, without a reload", "file", o.Dest, "changes", lr.Changes,
			"took", time.Since(start).Round(time.Microsecond))
		return true
	case err == nil:
		p.cfg.Metrics.RuntimeBridged(o.Name(), lr.Bridged)
		p.cfg.Log.Info("reloading; applied live until then", "file", o.Dest, "reason", lr.Reload,
			"changes", lr.Changes, "took", time.Since(start).Round(time.Microsecond))
	case live.Structural(err):
		p.cfg.Log.Info("reloading", "file", o.Dest, "reason", err.Error())
	default:
		p.cfg.Metrics.RuntimeFallback(o.Name())
		p.cfg.Log.Warn("applying live failed; reloading instead", "file", o.Dest, "err", err)
	}
	o.Live.Reload(ctx, r)
	return false
}

// countRoutes counts the routes of every kind in m.
func countRoutes(m *model.Model) int {
	n := len(m.TCP)
	for _, ports := range [][]model.HTTPPort{m.HTTP, m.HTTPS} {
		for _, p := range ports {
			n += len(p.Routes)
		}
	}
	for _, p := range m.TLS {
		n += len(p.Routes)
	}
	return n
}

// forOutput is m as output o sees it (its own bind address).
func forOutput(m *model.Model, o *Output) *model.Model {
	if o.Bind == "" {
		return m
	}
	c := *m
	c.Bind = o.Bind
	return &c
}

// logNotes logs the skipped entries and excluded containers that are new
// since the last model built, so each is logged once, not on every render.
func (p *Pipeline) logNotes(notes model.Diff, m *model.Model) {
	for _, w := range notes.WarningsAdded {
		p.cfg.Log.Warn("RPROXY entry skipped", "container", w.Container, "entry", w.Entry, "reason", w.Reason)
	}
	for _, e := range notes.ExcludedAdded {
		p.cfg.Log.Info("container not routed", "container", e.Container, "reason", e.Reason)
	}
	for _, h := range notes.UncoveredAdded {
		p.cfg.Log.Warn("https host not covered by any certificate: served with the default one, which clients will refuse",
			"host", h, "default", m.Certificates.Default)
	}
}

// logApply logs one line for the apply: why, what changed, what failed.
func (p *Pipeline) logApply(ctx context.Context, rep Report, reason string, m *model.Model) {
	var changed, failed, applied []string
	for _, r := range rep.Results {
		switch {
		case r.Err != nil:
			failed = append(failed, r.Output.Name())
			p.cfg.Log.Error("output not updated; the last good file stays", "file", r.Output.Name(), "template", r.Output.Template.Name, "err", r.Err)
		case r.Changed && r.Output.Dest != "":
			changed = append(changed, r.Output.Dest)
			if r.Live {
				applied = append(applied, r.Output.Dest)
			}
		}
	}
	attrs := []any{"reason", reason, "changed", changed}
	if len(applied) > 0 {
		attrs = append(attrs, "applied_live", applied)
	}
	if len(failed) > 0 {
		attrs = append(attrs, "failed", failed)
	}
	d := rep.Diff
	for _, kv := range []struct {
		key  string
		vals []string
	}{
		{"routes_added", d.RoutesAdded}, {"routes_removed", d.RoutesRemoved},
		{"servers_added", d.ServersAdded}, {"servers_removed", d.ServersRemoved},
		{"certificates_added", d.CertificatesAdded}, {"certificates_removed", d.CertificatesRemoved},
	} {
		if len(kv.vals) > 0 {
			attrs = append(attrs, kv.key, kv.vals)
		}
	}
	level := slog.LevelInfo
	if p.cfg.Watch && len(changed) == 0 && len(failed) == 0 && d.Empty() {
		level = slog.LevelDebug // an event that changed nothing routable
	}
	p.cfg.Log.Log(ctx, level, "rendered", attrs...)
}

// warnStreamOnly warns once when http or https routes exist but every
// output is the built-in nginx-stream template, which cannot route them.
func (p *Pipeline) warnStreamOnly(m *model.Model) {
	if p.streamWarned || len(m.HTTP)+len(m.HTTPS) == 0 {
		return
	}
	for _, o := range p.cfg.Outputs {
		if o.Template.Name != "nginx-stream" || o.Template.Path != "" {
			return
		}
	}
	routes, https := 0, 0
	for _, hp := range m.HTTP {
		routes += len(hp.Routes)
	}
	for _, hp := range m.HTTPS {
		https += len(hp.Routes)
	}
	p.streamWarned = true
	p.cfg.Log.Warn("http routes are not rendered: nginx stream routes tcp by port and tls by SNI only; add the haproxy template for them",
		"http_routes", routes, "https_routes", https)
}

// TemplatePaths lists the files of the templates loaded from a path.
func (p *Pipeline) TemplatePaths() []string {
	var paths []string
	for _, o := range p.cfg.Outputs {
		if o.Template.Path != "" {
			paths = append(paths, o.Template.Path)
		}
	}
	return paths
}

// ReloadTemplates re-reads the templates loaded from a path. A template is
// adopted only when it parses and renders the last model applied; otherwise
// the previous version stays and the reason is logged. It reports whether any
// template was replaced.
func (p *Pipeline) ReloadTemplates() bool {
	replaced := false
	for _, o := range p.cfg.Outputs {
		if o.Template.Path == "" {
			continue
		}
		t, err := o.Template.Reload()
		if err == nil && p.last != nil {
			_, err = t.RenderWith(forOutput(p.last, o), o.stem(), o.Settings)
		}
		if err != nil {
			p.cfg.Log.Error("template not adopted; keeping the previous version", "file", o.Template.Path,
				"err", strings.TrimSpace(err.Error()))
			continue
		}
		o.Template = t
		replaced = true
	}
	return replaced
}
