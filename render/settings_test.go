package render

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/model"
)

func TestSettingsValidate(t *testing.T) {
	long := "/" + strings.Repeat("a", 106)
	tests := []struct {
		name string
		s    Settings
		ok   bool
	}{
		{"empty", Settings{}, true},
		{"all", Settings{HAProxySocket: "/run/haproxy/admin.sock", ServerStateFile: "/etc/haproxy/haproxy.state", HardStopAfter: "5m", StatsPrometheus: true}, true},
		{"longest socket", Settings{HAProxySocket: long}, true},
		{"equals sign", Settings{HAProxySocket: "/tmp/bench=1/admin.sock"}, true},
		{"socket too long", Settings{HAProxySocket: long + "a"}, false},
		{"relative socket", Settings{HAProxySocket: "haproxy.sock"}, false},
		{"blank in socket", Settings{HAProxySocket: "/run/a b.sock"}, false},
		{"line break in socket", Settings{HAProxySocket: "/run/a.sock\n    stats socket /tmp/x level admin"}, false},
		{"comment in state file", Settings{ServerStateFile: "/run/a#b"}, false},
		{"quote in state file", Settings{ServerStateFile: `/run/"a"`}, false},
		{"hard stop ms", Settings{HardStopAfter: "1500ms"}, true},
		{"hard stop without unit", Settings{HardStopAfter: "30"}, false},
		{"hard stop with blank", Settings{HardStopAfter: "5m x"}, false},
		{"hard stop negative", Settings{HardStopAfter: "-5m"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
			tmpl, _ := Load("haproxy")
			_, rerr := tmpl.RenderWith(&model.Model{Stats: model.Stats{Addr: ":1"}}, "haproxy", tt.s)
			if (rerr == nil) != tt.ok {
				t.Errorf("RenderWith() = %v, want ok %v", rerr, tt.ok)
			}
		})
	}
}

// runtimeSettings are the settings of an output with a Runtime API socket.
var runtimeSettings = Settings{HAProxySocket: "/run/haproxy/admin.sock", ServerStateFile: "/etc/haproxy/haproxy.state",
	HardStopAfter: "5m", StatsPrometheus: true, SpareBackends: 2}

// TestGoldenHAProxySettings renders the example with every setting
// (example-runtime.haproxy.cfg): the socket, the state file, hard-stop-after
// and the Prometheus exporter; without settings the golden is
// example.haproxy.cfg, so the two differ only in those lines.
func TestGoldenHAProxySettings(t *testing.T) {
	tmpl, _ := Load("haproxy")
	m := loadSnapshot(t, "example.json", model.Options{})
	r, err := tmpl.RenderWith(m, "haproxy", runtimeSettings)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r.WriteTo(&out)
	golden(t, "example-runtime.haproxy.cfg", out.Bytes())
	for _, want := range []string{
		"stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners\n",
		"server-state-file /etc/haproxy/haproxy.state\n",
		"load-server-state-from-file global\n",
		"hard-stop-after 5m\n",
		"http-request use-service prometheus-exporter if { path /metrics }\n",
		"\nbackend _spare_http_1\n    # rproxy-gen: spare\n    mode http\n    balance roundrobin\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rendered config lacks %q", want)
		}
	}
	plain, _ := tmpl.Render(m, "haproxy")
	if strings.Contains(string(plain.Main), "stats socket") || strings.Contains(string(plain.Main), "hard-stop-after") || strings.Contains(string(plain.Main), "_spare_") {
		t.Errorf("without settings the template must not declare a socket, hard-stop-after or spare backends")
	}
}

// TestHAProxySettingsReal runs HAProxy on a config rendered with every
// setting: it passes the check, creates the socket, and serves its
// Prometheus metrics at /metrics and the statistics page elsewhere.
func TestHAProxySettingsReal(t *testing.T) {
	proxytest.NeedHAProxy(t)
	dir := t.TempDir()
	sp := proxytest.FreePort(t)
	m := loadSnapshot(t, "example.json", model.Options{Bind: "127.0.0.1", StatsAddr: fmt.Sprintf("127.0.0.1:%d", sp)})
	m.HTTP, m.TCP = nil, nil // only the stats listener: no privileged ports
	s := Settings{HAProxySocket: filepath.Join(dir, "admin.sock"), ServerStateFile: filepath.Join(dir, "haproxy.state"),
		HardStopAfter: "10s", StatsPrometheus: true, SpareBackends: 3}
	tmpl, _ := Load("haproxy")
	dest := filepath.Join(dir, "haproxy.cfg")
	r, err := tmpl.RenderWith(m, Stem(dest), s)
	if err != nil {
		t.Fatal(err)
	}
	if err := installChecked(dest, r, "haproxy -c -q -f {{.File}}"); err != nil {
		t.Fatal(err)
	}
	proxytest.StartHAProxy(t, dest, filepath.Join(dir, "pid"))
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := proxytest.Client().Get(fmt.Sprintf("http://127.0.0.1:%d%s", sp, path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "haproxy_process_start_time_seconds") {
		t.Errorf("/metrics: %d %.200q", code, body)
	}
	if code, body := get("/"); code != http.StatusOK || !strings.Contains(body, "Statistics Report") {
		t.Errorf("stats page: %d %.200q", code, body)
	}
	c, err := net.Dial("unix", s.HAProxySocket)
	if err != nil {
		t.Fatalf("the stats socket: %v", err)
	}
	defer c.Close()
	io.WriteString(c, "show info\n")
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "Name: HAProxy") {
		t.Errorf("show info over the socket: %.200q", b)
	}
}

func TestHAProxyTime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "", -time.Second: "", 5 * time.Minute: "5m", 90 * time.Second: "90s", time.Second: "1s",
		1500 * time.Millisecond: "1500ms", time.Microsecond: "1ms", time.Hour: "60m",
	} {
		if got := HAProxyTime(d); got != want {
			t.Errorf("HAProxyTime(%v) = %q, want %q", d, got, want)
		}
	}
}
