// Package watch keeps outputs in step with a Docker daemon: it follows
// events, debounces bursts, re-renders from a full view of state, writes only
// changed outputs (staged, checked, swapped), notifies the proxy, and rides
// out daemon restarts by reconnecting with backoff and resyncing.
package watch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/rproxy-gen/rproxy-gen/compile"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// Config is everything Run needs.
type Config struct {
	// Docker is the live source; Run owns its cache while it runs.
	Docker *source.Docker
	// Build turns the current containers into a validated model. An error
	// skips the render; outputs keep their last good content.
	Build func([]model.Container) (*model.Model, error)
	// Strict skips a render whose model has skipped RPROXY entries (after
	// logging them), like --strict in one-shot mode.
	Strict bool
	// Outputs are rendered from each model; templates loaded from a path are
	// reloaded when their file changes.
	Outputs []compile.Output
	// Write steers how outputs are written (mode, check timeout, stdout).
	Write compile.ApplyOptions
	// Notifier runs after outputs changed; nil means no notification.
	Notifier *Notifier
	// Wait debounces events (Min after the last, at most Max after the first).
	Wait Debounce
	// Backoff paces reconnects; zero means DefaultBackoff.
	Backoff Backoff
	// Hangup forces a full resync, a template reload and a render (SIGHUP).
	Hangup <-chan os.Signal
	Log    *slog.Logger
}

// Run renders at once, then follows Docker until ctx is cancelled, which is
// the only way it returns nil. Render, check and notify failures are logged
// and never end the loop; losing the daemon means reconnecting.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Backoff.Initial <= 0 || cfg.Backoff.Max <= 0 {
		cfg.Backoff = DefaultBackoff()
	}
	var paths []string
	for _, o := range cfg.Outputs {
		if o.Template.Path != "" {
			paths = append(paths, o.Template.Path)
		}
	}
	tw, err := newTemplateWatcher(paths)
	if err != nil {
		return err
	}
	defer tw.close()
	w := &watcher{cfg: cfg, tw: tw, log: cfg.Log}
	w.log.Info("watching Docker", "docker", cfg.Docker.Host(), "wait_min", cfg.Wait.Min, "wait_max", cfg.Wait.Max, "outputs", len(cfg.Outputs))
	for {
		err := w.session(ctx)
		if ctx.Err() != nil {
			w.log.Info("stopping")
			return nil
		}
		wait := w.cfg.Backoff.Next()
		w.log.Warn("Docker unavailable; keeping the last config and retrying",
			"err", err, "attempt", w.cfg.Backoff.Attempts(), "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			w.log.Info("stopping")
			return nil
		case <-time.After(wait):
		}
	}
}

type watcher struct {
	cfg       Config
	tw        *templateWatcher
	log       *slog.Logger
	last      *model.Model // the last model rendered
	seen      *model.Model // the last model built
	connected bool         // a session has synced before: the next sync is a resync
}

// session subscribes, syncs, renders, and follows events until the stream
// breaks or ctx ends. It returns why it ended.
func (w *watcher) session(ctx context.Context) error {
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe first, replaying from a moment before the listing, so that a
	// container started between the two is seen either way.
	since := time.Now().Add(-time.Second)
	ids, ended := w.cfg.Docker.EventsSince(ectx, strconv.FormatInt(since.Unix(), 10))
	if err := w.cfg.Docker.Sync(ctx); err != nil {
		return err
	}
	reason := "start"
	if w.connected {
		reason = "resync"
		w.log.Info("reconnected to Docker; resynced fully", "attempts", w.cfg.Backoff.Attempts())
	}
	w.connected = true
	w.cfg.Backoff.Reset()
	w.render(ctx, reason)

	dirty := map[string]bool{}
	templatesChanged := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	schedule := func() {
		timer.Reset(max(w.cfg.Wait.Event(time.Now()), 0))
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case id, ok := <-ids:
			if !ok {
				return <-ended
			}
			dirty[id] = true
			schedule()
		case err := <-ended:
			return err
		case ev := <-w.tw.events():
			if w.tw.matches(ev) {
				w.log.Info("template file changed", "file", ev.Name)
				templatesChanged = true
				schedule()
			}
		case err := <-w.tw.errors():
			w.log.Warn("template watch error", "err", err)
		case <-w.cfg.Hangup:
			w.log.Info("SIGHUP: reloading templates and resyncing")
			w.cfg.Wait.Reset()
			timer.Stop()
			clear(dirty)
			w.reloadTemplates()
			if err := w.cfg.Docker.Sync(ctx); err != nil {
				return err
			}
			w.render(ctx, "sighup")
		case <-timer.C:
			w.cfg.Wait.Reset()
			if templatesChanged {
				w.reloadTemplates()
				templatesChanged = false
			}
			reason := "templates"
			if len(dirty) > 0 {
				list := make([]string, 0, len(dirty))
				for id := range dirty {
					list = append(list, id)
				}
				clear(dirty)
				if err := w.cfg.Docker.Refresh(ctx, list); err != nil {
					return err
				}
				reason = fmt.Sprintf("events (%d containers)", len(list))
			}
			w.render(ctx, reason)
		}
	}
}

// reloadTemplates re-reads every template given by path; one that fails to
// load keeps its previous version.
func (w *watcher) reloadTemplates() {
	for i, o := range w.cfg.Outputs {
		if o.Template.Path == "" {
			continue
		}
		t, err := compile.Load(o.Template.Path)
		if err != nil {
			w.log.Error("template not reloaded; keeping the previous version", "file", o.Template.Path, "err", err)
			continue
		}
		w.cfg.Outputs[i].Template = t
	}
}

// render builds the model from the cache and applies every output.
func (w *watcher) render(ctx context.Context, reason string) {
	containers := w.cfg.Docker.Containers()
	m, err := w.cfg.Build(containers)
	if err != nil {
		w.log.Error("render skipped; outputs keep their last good content", "reason", reason, "err", err)
		return
	}
	diff := model.Compare(w.last, m)
	// New warnings and exclusions are logged once, compared with the last
	// model built, which differs from the last one rendered after a
	// render skipped by Strict.
	notes := diff
	if w.seen != w.last {
		notes = model.Compare(w.seen, m)
	}
	w.seen = m
	for _, wn := range notes.WarningsAdded {
		w.log.Warn("RPROXY entry skipped", "container", wn.Container, "entry", wn.Entry, "reason", wn.Reason)
	}
	for _, e := range notes.ExcludedAdded {
		w.log.Info("container not routed", "container", e.Container, "reason", e.Reason)
	}
	if w.cfg.Strict && len(m.Warnings) > 0 {
		w.log.Error("render skipped; outputs keep their last good content", "reason", reason,
			"err", fmt.Sprintf("--strict: %d RPROXY entries skipped", len(m.Warnings)))
		return
	}
	w.last = m
	results := compile.Apply(ctx, m, w.cfg.Outputs, w.cfg.Write)
	var changed, failed []string
	for _, r := range results {
		name := r.Output.Dest
		if name == "" {
			name = "stdout"
		}
		switch {
		case r.Err != nil:
			failed = append(failed, name)
			w.log.Error("output not updated; the last good file stays", "file", name, "template", r.Output.Template.Name, "err", r.Err)
		case r.Changed:
			changed = append(changed, name)
		}
	}
	attrs := []any{"reason", reason, "containers", len(containers), "changed", changed}
	if len(failed) > 0 {
		attrs = append(attrs, "failed", failed)
	}
	for _, kv := range []struct {
		key  string
		vals []string
	}{
		{"routes_added", diff.RoutesAdded}, {"routes_removed", diff.RoutesRemoved},
		{"servers_added", diff.ServersAdded}, {"servers_removed", diff.ServersRemoved},
	} {
		if len(kv.vals) > 0 {
			attrs = append(attrs, kv.key, kv.vals)
		}
	}
	level := slog.LevelInfo
	if len(changed) == 0 && len(failed) == 0 && diff.Empty() {
		level = slog.LevelDebug // an event that changed nothing routable
	}
	w.log.Log(ctx, level, "rendered", attrs...)
	if w.cfg.Notifier != nil {
		_ = w.cfg.Notifier.Run(ctx, results) // failures are logged and retried
	}
}
