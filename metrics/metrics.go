// Package metrics counts what rproxy-gen does, for Prometheus: renders and
// their failures, check failures, changes applied live and reloads, Docker
// reconnects, the time from a Docker event to its change being applied,
// the time of the last successful apply, and the containers and routes
// seen. The pipeline and the watch loop report to a Recorder; Prometheus is
// the Recorder served at --metrics-addr, on a registry of its own (no
// global state), and Nop the one used without it.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Recorder receives what rproxy-gen does. Outputs are named by their
// destination ("stdout" for none).
type Recorder interface {
	// Rendered counts a render of an output; err is its failure (template
	// or install, including a failed check), nil on success.
	Rendered(output string, err error)
	// CheckFailed counts a render refused by the output's check command.
	CheckFailed(output string)
	// RuntimeApplied counts a change applied over HAProxy's Runtime API,
	// without a reload.
	RuntimeApplied(output string)
	// RuntimeFallback counts a change that could have been applied live but
	// was not (socket or command failure), so it went through a reload.
	RuntimeFallback(output string)
	// RuntimeBridged counts routes new since HAProxy's last reload that a
	// change began to serve through spare backends until the next one.
	RuntimeBridged(output string, routes int)
	// Reloaded counts a notify (reload) asked for an output.
	Reloaded(output string)
	// DockerReconnected counts a reconnect to the Docker daemon.
	DockerReconnected()
	// EventApplied observes the time from the first Docker event of a
	// batch to its render being applied.
	EventApplied(d time.Duration)
	// Applied records a render applied with no output failing.
	Applied(at time.Time)
	// Containers sets the number of running containers seen.
	Containers(n int)
	// Routes sets the number of routes in the model.
	Routes(n int)
}

// Nop is a Recorder that records nothing.
type Nop struct{}

var _ Recorder = Nop{}

// Rendered records nothing.
func (Nop) Rendered(string, error) {}

// CheckFailed records nothing.
func (Nop) CheckFailed(string) {}

// RuntimeApplied records nothing.
func (Nop) RuntimeApplied(string) {}

// RuntimeFallback records nothing.
func (Nop) RuntimeFallback(string) {}

// RuntimeBridged records nothing.
func (Nop) RuntimeBridged(string, int) {}

// Reloaded records nothing.
func (Nop) Reloaded(string) {}

// DockerReconnected records nothing.
func (Nop) DockerReconnected() {}

// EventApplied records nothing.
func (Nop) EventApplied(time.Duration) {}

// Applied records nothing.
func (Nop) Applied(time.Time) {}

// Containers records nothing.
func (Nop) Containers(int) {}

// Routes records nothing.
func (Nop) Routes(int) {}

// Prometheus is a Recorder whose figures are served to Prometheus.
type Prometheus struct {
	reg                                                       *prometheus.Registry
	renders, renderFailures, checkFailures                    *prometheus.CounterVec
	runtimeApplies, runtimeFallbacks, runtimeBridged, reloads *prometheus.CounterVec
	reconnects                                                prometheus.Counter
	eventToApplied                                            prometheus.Histogram
	lastApplied, containers, routes                           prometheus.Gauge
}

var _ Recorder = (*Prometheus)(nil)

// New returns a Prometheus recorder on a registry of its own, which also
// holds the Go runtime's and the process's standard metrics.
func New() *Prometheus {
	p := &Prometheus{reg: prometheus.NewRegistry()}
	counter := func(name, help string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rproxy_gen", Name: name, Help: help}, []string{"output"})
		p.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "rproxy_gen", Name: name, Help: help})
		p.reg.MustRegister(g)
		return g
	}
	p.renders = counter("renders_total", "Renders of an output (successful or not).")
	p.renderFailures = counter("render_failures_total", "Renders of an output that failed (template, write or check); the last good files stay.")
	p.checkFailures = counter("check_failures_total", "Renders of an output refused by its check command.")
	p.runtimeApplies = counter("runtime_applies_total", "Changes of an output applied over HAProxy's Runtime API, without a reload.")
	p.runtimeFallbacks = counter("runtime_fallbacks_total", "Changes that could have been applied over the Runtime API but went through a reload after a socket or command failure.")
	p.runtimeBridged = counter("runtime_bridged_routes_total", "New routes served through a spare backend over HAProxy's Runtime API until the reload that gives them their own.")
	p.reloads = counter("reloads_total", "Notifies (reloads) asked for an output.")
	p.reconnects = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "rproxy_gen", Name: "docker_reconnects_total",
		Help: "Reconnects to the Docker daemon after its event stream ended."})
	p.reg.MustRegister(p.reconnects)
	p.eventToApplied = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "rproxy_gen", Name: "event_to_applied_seconds",
		Help:    "Time from the first Docker event of a batch to its render being applied (debounce included).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}})
	p.reg.MustRegister(p.eventToApplied)
	p.lastApplied = gauge("last_apply_success_timestamp_seconds", "Unix time of the last render applied with no output failing.")
	p.containers = gauge("containers", "Running containers seen in the last render.")
	p.routes = gauge("routes", "Routes (http, https, tls, tcp) in the last model.")
	p.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// Rendered counts a render, and a failure when err is set.
func (p *Prometheus) Rendered(output string, err error) {
	p.renders.WithLabelValues(output).Inc()
	if err != nil {
		p.renderFailures.WithLabelValues(output).Inc()
	}
}

// CheckFailed counts a check failure.
func (p *Prometheus) CheckFailed(output string) { p.checkFailures.WithLabelValues(output).Inc() }

// RuntimeApplied counts a change applied live.
func (p *Prometheus) RuntimeApplied(output string) { p.runtimeApplies.WithLabelValues(output).Inc() }

// RuntimeFallback counts a live apply that fell back to a reload.
func (p *Prometheus) RuntimeFallback(output string) { p.runtimeFallbacks.WithLabelValues(output).Inc() }

// RuntimeBridged counts bridged routes.
func (p *Prometheus) RuntimeBridged(output string, routes int) {
	p.runtimeBridged.WithLabelValues(output).Add(float64(routes))
}

// Reloaded counts a notify.
func (p *Prometheus) Reloaded(output string) { p.reloads.WithLabelValues(output).Inc() }

// DockerReconnected counts a reconnect.
func (p *Prometheus) DockerReconnected() { p.reconnects.Inc() }

// EventApplied observes an event-to-applied time.
func (p *Prometheus) EventApplied(d time.Duration) { p.eventToApplied.Observe(d.Seconds()) }

// Applied sets the time of the last successful apply.
func (p *Prometheus) Applied(at time.Time) { p.lastApplied.Set(float64(at.UnixNano()) / 1e9) }

// Containers sets the number of containers.
func (p *Prometheus) Containers(n int) { p.containers.Set(float64(n)) }

// Routes sets the number of routes.
func (p *Prometheus) Routes(n int) { p.routes.Set(float64(n)) }

// Handler serves the metrics in Prometheus's text format.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}

// Serve listens on addr at once (so that a bad address is an error now)
// and serves the metrics at /metrics until ctx ends.
func (p *Prometheus) Serve(ctx context.Context, addr string, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+l.Addr().String()+"/metrics")
	return nil
}
