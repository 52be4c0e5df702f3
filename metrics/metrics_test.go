package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves p over a real listener, as --metrics-addr does, and parses
// the answer.
func scrape(t *testing.T, p *Prometheus) map[string]*dto.MetricFamily {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Serve(ctx, addr, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the family's metric whose output label is
// output ("" for a metric without labels).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name, output string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		label := ""
		for _, l := range m.Label {
			if l.GetName() == "output" {
				label = l.GetValue()
			}
		}
		if label != output {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("metric %s has no series for output %q", name, output)
	return 0
}

func TestPrometheus(t *testing.T) {
	p := New()
	out := "/etc/haproxy/haproxy.cfg"
	p.Rendered(out, nil)
	p.Rendered(out, nil)
	p.Rendered(out, errors.New("check failed"))
	p.CheckFailed(out)
	p.RuntimeApplied(out)
	p.RuntimeApplied(out)
	p.RuntimeApplied(out)
	p.RuntimeFallback(out)
	p.Reloaded(out)
	p.DockerReconnected()
	p.EventApplied(120 * time.Millisecond)
	p.EventApplied(3 * time.Millisecond)
	at := time.Unix(1700000000, 0)
	p.Applied(at)
	p.Containers(12)
	p.Routes(7)
	fams := scrape(t, p)
	for _, tt := range []struct {
		name, output string
		want         float64
	}{
		{"rproxy_gen_renders_total", out, 3},
		{"rproxy_gen_render_failures_total", out, 1},
		{"rproxy_gen_check_failures_total", out, 1},
		{"rproxy_gen_runtime_applies_total", out, 3},
		{"rproxy_gen_runtime_fallbacks_total", out, 1},
		{"rproxy_gen_reloads_total", out, 1},
		{"rproxy_gen_docker_reconnects_total", "", 1},
		{"rproxy_gen_event_to_applied_seconds", "", 2},
		{"rproxy_gen_last_apply_success_timestamp_seconds", "", 1700000000},
		{"rproxy_gen_containers", "", 12},
		{"rproxy_gen_routes", "", 7},
	} {
		if got := value(t, fams, tt.name, tt.output); got != tt.want {
			t.Errorf("%s{output=%q} = %v, want %v", tt.name, tt.output, got, tt.want)
		}
	}
	h := fams["rproxy_gen_event_to_applied_seconds"].Metric[0].Histogram
	if got := h.GetSampleSum(); got < 0.122 || got > 0.124 {
		t.Errorf("latency sum %v, want 0.123", got)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// Two recorders do not share state: each has its own registry.
func TestPrometheusIndependent(t *testing.T) {
	a, b := New(), New()
	a.Routes(3)
	b.Routes(5)
	if got := value(t, scrape(t, a), "rproxy_gen_routes", ""); got != 3 {
		t.Errorf("first recorder routes %v", got)
	}
}

func TestServeBadAddress(t *testing.T) {
	if err := New().Serve(context.Background(), "256.0.0.1:1", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a bad address was served")
	}
}
