// Package watch keeps outputs in step with a live source: it follows the
// source's events, debounces bursts, rebuilds the model from a full view of
// state, and hands it to the pipeline (which writes only what changed and
// notifies the proxies). It rides out daemon restarts by reconnecting with
// backoff and resyncing fully.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/rproxy-gen/rproxy-gen/metrics"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
)

// Source is where containers come from: the Docker daemon (source.Docker) or,
// in tests, the same behind a fake Engine API.
type Source interface {
	// Events subscribes to changes, replaying those since the given time.
	// Each value names something to refresh (a container ID); the error
	// channel gets one value when the stream ends.
	Events(ctx context.Context, since time.Time) (<-chan string, <-chan error)
	// Sync replaces the source's view with a full listing.
	Sync(ctx context.Context) error
	// Refresh updates only what the keys name.
	Refresh(ctx context.Context, keys []string) error
	// Containers returns the current view.
	Containers() []model.Container
	// String names the source for logs.
	String() string
}

// Config is everything Run needs.
type Config struct {
	Source Source
	// Build turns the source's containers into a model.
	Build func(ctx context.Context, cs []model.Container) *model.Model
	// Pipeline applies each model; its templates given by path are watched
	// and reloaded when their files change.
	Pipeline *pipeline.Pipeline
	// Wait paces renders: the first event at once, then at most every
	// Wait.Min while events keep coming (see Debounce).
	Wait Debounce
	// Resync, when positive, resyncs fully this often, to catch what no
	// event reported (a silently hung stream).
	Resync time.Duration
	// Backoff paces reconnects; zero means DefaultBackoff.
	Backoff Backoff
	// Dirs are directories whose entries are watched (the certificate
	// directory): a file created, written, removed or renamed in one
	// schedules a render, debounced like events, with DirsChanged run first.
	// They must exist when Run starts.
	Dirs []string
	// DirsChanged runs before a render that a change in Dirs scheduled, and
	// on SIGHUP (e.g. to read the certificates again); nil for nothing.
	DirsChanged func()
	// Hangup forces a full resync, a template reload, DirsChanged and a
	// render (SIGHUP).
	Hangup <-chan os.Signal
	// Metrics receives reconnects, event-to-applied times and container
	// counts; nil records nothing.
	Metrics metrics.Recorder
	Log     *slog.Logger
}

// Run renders at once, then follows the source until ctx is cancelled,
// which is the only way it returns nil. Render, check and notify failures are
// logged and never end the loop; losing the source means reconnecting.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Backoff.Initial <= 0 || cfg.Backoff.Max <= 0 {
		cfg.Backoff = DefaultBackoff()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.Nop{}
	}
	fw, err := newFileWatcher(cfg.Pipeline.TemplatePaths(), cfg.Dirs)
	if err != nil {
		return err
	}
	defer fw.close()
	w := &watcher{cfg: cfg, fw: fw, log: cfg.Log}
	w.log.Info("watching", "source", cfg.Source.String(), "wait_min", cfg.Wait.Min, "wait_max", cfg.Wait.Max)
	for {
		err := w.session(ctx)
		if ctx.Err() != nil {
			w.log.Info("stopping")
			return nil
		}
		wait := w.cfg.Backoff.Next()
		w.log.Warn("source unavailable; keeping the last config and retrying",
			"err", w.hint(err), "attempt", w.cfg.Backoff.Attempts(), "retry_in", wait.Round(time.Millisecond))
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
	fw        *fileWatcher
	log       *slog.Logger
	connected bool            // a session has synced before: the next sync is a resync
	hinted    map[string]bool // advice already logged during this outage
}

// hinted is an error that carries advice on fixing its cause (such as
// source.AccessError: the socket's group is missing).
type hinted interface {
	error
	Hint() string
}

// hint logs the advice an error carries as an error once per outage, and
// returns the error's text for the retry lines, with the advice replaced
// by a pointer to that line, so retries stay short.
func (w *watcher) hint(err error) string {
	var h hinted
	if !errors.As(err, &h) || h.Hint() == "" {
		return err.Error()
	}
	if !w.hinted[h.Hint()] {
		if w.hinted == nil {
			w.hinted = map[string]bool{}
		}
		w.hinted[h.Hint()] = true
		w.log.Error("source unavailable: "+h.Error(), "source", w.cfg.Source.String())
	}
	return strings.Replace(err.Error(), h.Hint(), "see the first error", 1)
}

// describer is a Source that can name the daemon behind it and its API
// version (source.Docker).
type describer interface {
	Daemon(ctx context.Context) (string, error)
}

// connectedAttrs names the source and, when it can tell, its daemon.
func (w *watcher) connectedAttrs(ctx context.Context) []any {
	attrs := []any{"source", w.cfg.Source.String()}
	if d, ok := w.cfg.Source.(describer); ok {
		if desc, err := d.Daemon(ctx); err == nil {
			attrs = append(attrs, "daemon", desc)
		}
	}
	return attrs
}

// session subscribes, syncs, renders, and follows events until the stream
// breaks or ctx ends. It returns why it ended.
func (w *watcher) session(ctx context.Context) error {
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe first, replaying from a moment before the listing, so that a
	// container started between the two is seen either way.
	keys, ended := w.cfg.Source.Events(ectx, time.Now().Add(-time.Second))
	if err := w.cfg.Source.Sync(ctx); err != nil {
		return err
	}
	reason := "start"
	if w.connected {
		reason = "resync"
		w.log.Info("reconnected; resynced fully", append(w.connectedAttrs(ctx), "attempts", w.cfg.Backoff.Attempts())...)
		w.cfg.Metrics.DockerReconnected()
	} else {
		w.log.Info("connected", w.connectedAttrs(ctx)...)
	}
	w.connected = true
	w.hinted = nil
	w.cfg.Backoff.Reset()
	w.render(ctx, reason)

	dirty := map[string]bool{}
	var firstEvent time.Time // of the events in dirty
	templatesChanged, dirsChanged := false, false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var resync <-chan time.Time
	if w.cfg.Resync > 0 {
		t := time.NewTicker(w.cfg.Resync)
		defer t.Stop()
		resync = t.C
	}
	schedule := func() { timer.Reset(max(w.cfg.Wait.Event(time.Now()), 0)) }
	full := func(reason string) error {
		timer.Stop()
		clear(dirty)
		if err := w.cfg.Source.Sync(ctx); err != nil {
			return err
		}
		w.render(ctx, reason)
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case key, ok := <-keys:
			if !ok {
				return <-ended
			}
			if len(dirty) == 0 {
				firstEvent = time.Now()
			}
			w.log.Debug("event", "key", key)
			dirty[key] = true
			schedule()
		case err := <-ended:
			return err
		case ev := <-w.fw.events():
			file, dir := w.fw.classify(ev)
			if file {
				w.log.Info("template file changed", "file", ev.Name)
				templatesChanged = true
			}
			if dir {
				w.log.Debug("watched directory changed", "file", ev.Name, "op", ev.Op.String())
				dirsChanged = true
			}
			if file || dir {
				schedule()
			}
		case err := <-w.fw.errors():
			w.log.Warn("file watch error", "err", err)
		case <-w.cfg.Hangup:
			w.log.Info("SIGHUP: reloading templates and resyncing")
			w.cfg.Pipeline.ReloadTemplates()
			templatesChanged = false
			w.dirsChanged()
			dirsChanged = false
			if err := full("sighup"); err != nil {
				return err
			}
		case <-resync:
			if err := full("periodic resync"); err != nil {
				return err
			}
		case <-timer.C:
			reason := "templates"
			if templatesChanged {
				w.cfg.Pipeline.ReloadTemplates()
				templatesChanged = false
			}
			dirs := dirsChanged
			if dirsChanged {
				w.dirsChanged()
				dirsChanged = false
				reason = "watched directory"
			}
			if len(dirty) > 0 {
				list := make([]string, 0, len(dirty))
				for k := range dirty {
					list = append(list, k)
				}
				clear(dirty)
				refreshed := time.Now()
				if err := w.cfg.Source.Refresh(ctx, list); err != nil {
					return err
				}
				w.log.Debug("refreshed", "containers", len(list), "took", time.Since(refreshed).Round(time.Microsecond))
				reason = fmt.Sprintf("events (%d containers)", len(list))
				if dirs {
					reason += " and watched directory"
				}
			}
			w.render(ctx, reason)
			if !firstEvent.IsZero() {
				w.cfg.Metrics.EventApplied(time.Since(firstEvent))
				firstEvent = time.Time{}
			}
		}
	}
}

// dirsChanged runs Config.DirsChanged, if any.
func (w *watcher) dirsChanged() {
	if w.cfg.DirsChanged != nil {
		w.cfg.DirsChanged()
	}
}

// render builds the model from the source's view and applies it. The next
// render after events is paced from the end of this one (see Debounce).
func (w *watcher) render(ctx context.Context, reason string) {
	start := time.Now()
	cs := w.cfg.Source.Containers()
	w.cfg.Metrics.Containers(len(cs))
	m := w.cfg.Build(ctx, cs)
	rep, err := w.cfg.Pipeline.Apply(ctx, m, reason)
	if err != nil {
		w.log.Error("render skipped; outputs keep their last good content", "reason", reason, "err", err)
	}
	now := time.Now()
	w.cfg.Wait.Rendered(now, now.Sub(start), err != nil || rep.Changed())
}
