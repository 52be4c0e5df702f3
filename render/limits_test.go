package render

import (
	"fmt"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
)

func TestProxyLimits(t *testing.T) {
	// servers returns n servers, the first docker of them with a Docker
	// health check.
	servers := func(n, docker int) []model.Server {
		out := make([]model.Server, n)
		for i := range out {
			out[i] = model.Server{Name: fmt.Sprint("s", i), Address: "10.0.0.1", Port: 80, Healthcheck: i < docker}
		}
		return out
	}
	// http returns one http port with routes of one server each.
	http := func(routes, docker int) []model.HTTPPort {
		p := model.HTTPPort{Port: 80}
		for i, s := range servers(routes, docker) {
			p.Routes = append(p.Routes, model.HTTPRoute{Host: fmt.Sprint("h", i, ".example.com"), Path: "/", Servers: []model.Server{s}})
		}
		return []model.HTTPPort{p}
	}
	tests := []struct {
		name string
		m    *model.Model
		want Limits
	}{
		{"nil model: defaults", nil,
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 256, CheckBudget: 11552, Checks: true, CheckInter: "5s"}},
		{"every kind of backend counts; Docker-checked servers do not", &model.Model{
			HTTP:  http(3, 1),
			HTTPS: []model.HTTPPort{{Port: 443, Routes: []model.HTTPRoute{{Servers: servers(2, 0)}}}},
			TLS:   []model.TLSPort{{Port: 8443, Routes: []model.TLSRoute{{Servers: servers(4, 4)}}}},
			TCP:   []model.TCPPort{{Port: 22, Servers: servers(5, 2)}},
		}, Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 260, Checked: 7, CheckBudget: 11548, Checks: true, CheckInter: "5s"}},
		{"1,000 checked servers: every 5s", &model.Model{HTTP: http(1000, 0)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 1000, CheckBudget: 11551, Checks: true, CheckInter: "5s"}},
		{"1,001: every 10s (at most 200 checks a second, in steps)", &model.Model{HTTP: http(1001, 0)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 1001, CheckBudget: 11551, Checks: true, CheckInter: "10s"}},
		{"2,000: still every 10s", &model.Model{HTTP: http(2000, 0)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 2000, CheckBudget: 11551, Checks: true, CheckInter: "10s"}},
		{"2,001: every 20s", &model.Model{HTTP: http(2001, 0)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 2001, CheckBudget: 11551, Checks: true, CheckInter: "20s"}},
		{"10,000: every 80s", &model.Model{HTTP: http(10000, 0)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 10000, CheckBudget: 11551, Checks: true, CheckInter: "80s"}},
		{"over the budget: no active checks", &model.Model{HTTP: http(11552, 0)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 11552, CheckBudget: 11551, Checks: false, CheckInter: "5s"}},
		{"over the budget, but Docker checks some", &model.Model{HTTP: http(11552, 1)},
			Limits{MaxFiles: 20000, MaxConn: 4096, Reserve: 257, Checked: 11551, CheckBudget: 11551, Checks: true, CheckInter: "80s"}},
		{"a larger limit makes room", &model.Model{MaxFiles: 1 << 20, HTTP: http(11552, 0)},
			Limits{MaxFiles: 1 << 20, MaxConn: 4096, Reserve: 257, Checked: 11552, CheckBudget: 1<<20 - 257 - 8192, Checks: true, CheckInter: "80s"}},
		{"a small limit lowers maxconn", &model.Model{MaxFiles: 1024, HTTP: http(3, 0)},
			Limits{MaxFiles: 1024, MaxConn: 383, Reserve: 257, Checked: 3, CheckBudget: 1, Checks: false, CheckInter: "5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProxyLimits(tt.m); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestCheckInterSteps: one replica more or less changes the check interval
// (and so every server line) only where the count crosses a step, so the
// Runtime API can apply replica churn at any size.
func TestCheckInterSteps(t *testing.T) {
	inter := func(n int) string {
		return ProxyLimits(&model.Model{TCP: []model.TCPPort{{Port: 22, Servers: make([]model.Server, n)}}}).CheckInter
	}
	steps := map[int]bool{1000: true, 2000: true, 4000: true, 8000: true}
	for _, n := range []int{2, 3, 500, 999, 1000, 1001, 1002, 1201, 1401, 1500, 2201, 5001, 1999, 2000, 2001, 2002, 3000, 3999, 4000, 4001, 4002,
		6000, 7999, 8000, 8001, 8002, 11000} {
		before, after := inter(n-1), inter(n)
		if changed := before != after; changed != steps[n-1] {
			t.Errorf("%d → %d servers: interval %s → %s, want a change only after 1,000, 2,000, 4,000 and 8,000", n-1, n, before, after)
		}
	}
}
