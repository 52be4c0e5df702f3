package render

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

func TestHAProxyAcceptsTheExample(t *testing.T) {
	proxytest.NeedHAProxy(t)
	for _, opts := range []model.Options{{}, {Bind: "127.0.0.1", StatsAddr: "127.0.0.1:8404"}, {Bind: "::1"}} {
		m := loadSnapshot(t, "example.json", opts)
		tmpl, _ := Load("haproxy")
		dest := filepath.Join(t.TempDir(), "haproxy.cfg")
		r, err := tmpl.Render(m, Stem(dest))
		if err != nil {
			t.Fatal(err)
		}
		if err := installChecked(dest, r, "haproxy -c -q -f {{.File}}"); err != nil {
			t.Fatalf("bind %q: %v", opts.Bind, err)
		}
	}
}

// inspectJSON makes a docker-inspect snapshot of running containers, each
// given as name → (RPROXY, IP), created in the order given.
func inspectJSON(t *testing.T, cs [][3]string) []byte {
	t.Helper()
	var out []container.InspectResponse
	for i, c := range cs {
		out = append(out, container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{
				ID: fmt.Sprintf("%064d", i), Name: "/" + c[0],
				Created: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC).Format(time.RFC3339Nano),
				State:   &container.State{Status: "running", Running: true},
			},
			Config: &container.Config{Env: []string{"RPROXY=" + c[1]}},
			NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
				"bridge": {IPAddress: c[2]},
			}},
		})
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHAProxyRoutesRealTraffic renders a snapshot whose containers sit on
// 127.0.0.x, runs HAProxy on loopback with it and proves the routing rules
// with real requests.
func TestHAProxyRoutesRealTraffic(t *testing.T) {
	proxytest.NeedHAProxy(t)
	hp, tp, sp := proxytest.FreePort(t), proxytest.FreePort(t), proxytest.FreePort(t)
	h := func(s string) string { return fmt.Sprintf(s, hp) }
	snap := inspectJSON(t, [][3]string{
		{"www", h("http://example.com:%d"), "127.0.0.11"},
		{"api", h("http://api.example.com:%d"), "127.0.0.12"},
		{"apinew", h("http://api.example.com:%d/new"), "127.0.0.13"},
		{"apin", h("http://api.example.com:%d/n"), "127.0.0.14"},
		{"rr-1", h("http://rr.example.com:%d"), "127.0.0.21"},
		{"rr-2", h("http://rr.example.com:%d"), "127.0.0.22"},
		{"rr-3", h("http://rr.example.com:%d"), "127.0.0.23"},
		{"deep", h("http://x.y.z.example.org:%d"), "127.0.0.15"},
		{"game-1", fmt.Sprintf("tcp://game:%d", tp), "127.0.0.31"},
		{"game-2", fmt.Sprintf("tcp://other-name:%d", tp), "127.0.0.32"},
	})
	cs, err := source.ReadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.HasPrefix(c.RProxy, "tcp") {
			proxytest.TCPBackend(t, c.Networks[0].IP, tp, c.Name)
		} else {
			proxytest.HTTPBackend(t, c.Networks[0].IP, hp, c.Name)
		}
	}
	m := model.Build(cs, model.Options{Bind: "127.0.0.1", StatsAddr: fmt.Sprintf("127.0.0.1:%d", sp)})
	tmpl, _ := Load("haproxy")
	dir := t.TempDir()
	dest := filepath.Join(dir, "haproxy.cfg")
	r, err := tmpl.Render(m, Stem(dest))
	if err != nil {
		t.Fatal(err)
	}
	if err := installChecked(dest, r, "haproxy -c -q -f {{.File}}"); err != nil {
		t.Fatal(err)
	}
	proxytest.StartHAProxy(t, dest, filepath.Join(dir, "haproxy.pid"))

	addr := fmt.Sprintf("127.0.0.1:%d", hp)
	tests := []struct{ host, path, want string }{
		{"example.com", "/", "www"},
		{"www.example.com", "/anything", "www"},
		{"a.b.c.example.com", "/", "www"},
		{"EXAMPLE.COM", "/", "www"},
		{h("example.com:%d"), "/", "www"},
		{"example.com.", "/", "www"},
		{"api.example.com", "/", "api"},
		{"api.example.com", "/new", "apinew"},
		{"api.example.com", "/new/deeper", "apinew"},
		{"api.example.com", "/newer", "apinew"}, // plain string prefix
		{"api.example.com", "/nx", "apin"},
		{"api.example.com", "/NEW", "api"}, // case-sensitive path
		{h("API.Example.com.:%d"), "/new", "apinew"},
		{"v2.api.example.com", "/new", "apinew"},
		{"x.y.z.example.org", "/", "deep"},
		{"w.x.y.z.example.org", "/", "deep"},
		{"badexample.com", "/", "503"},
		{"example.com.evil.net", "/", "503"},
		{"notexample.com", "/", "503"},
		{"y.z.example.org", "/", "503"},
		{"example.org", "/", "503"},
		{"unknown.test", "/", "503"},
	}
	for _, tt := range tests {
		if got := get(t, addr, tt.host, tt.path); got != tt.want {
			t.Errorf("Host %q path %q reached %q, want %q", tt.host, tt.path, got, tt.want)
		}
	}
	if got := rawRequest(t, addr, "GET / HTTP/1.0\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.0 503") && !strings.HasPrefix(got, "HTTP/1.1 503") {
		t.Errorf("request without Host: %q, want 503", got)
	}

	// Round robin across the three replicas of one host.
	seen := map[string]int{}
	for i := 0; i < 9; i++ {
		seen[get(t, addr, "rr.example.com", "/")]++
	}
	if seen["rr-1"] != 3 || seen["rr-2"] != 3 || seen["rr-3"] != 3 {
		t.Errorf("round robin over 9 requests: %v, want 3 each", seen)
	}

	// TCP by port alone: two entries with different names share one backend.
	tcpSeen := map[string]int{}
	for i := 0; i < 4; i++ {
		tcpSeen[tcpName(t, fmt.Sprintf("127.0.0.1:%d", tp))]++
	}
	if tcpSeen["game-1"] != 2 || tcpSeen["game-2"] != 2 {
		t.Errorf("tcp round robin over 4 connections: %v, want 2 each", tcpSeen)
	}

	// The statistics page answers.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", sp))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Statistics Report") {
		t.Errorf("stats page: %d", resp.StatusCode)
	}
}

// get sends one request with a Host header and returns the backend's name,
// or the status code when the proxy itself answered.
func get(t *testing.T, addr, host, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Host = host
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Sprint(resp.StatusCode)
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(string(body), "name="), " ")
	return name
}

// rawRequest sends req as is and returns the first line of the answer.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	line, err := proxytest.Exchange(addr, req)
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	return line
}

func tcpName(t *testing.T, addr string) string {
	return strings.TrimPrefix(rawRequest(t, addr, ""), "name=")
}

// TestHAProxyRetriesAnotherReplica: one of two replicas accepts connections
// and closes them without answering (a container stopping mid-request). With
// the built-in template's L7 retries every request still gets the healthy
// replica's answer, never an error.
func TestHAProxyRetriesAnotherReplica(t *testing.T) {
	proxytest.NeedHAProxy(t)
	hp, sp := proxytest.FreePort(t), proxytest.FreePort(t)
	snap := inspectJSON(t, [][3]string{
		{"good", fmt.Sprintf("http://retry.example.com:%d", hp), "127.0.0.41"},
		{"dying", fmt.Sprintf("http://retry.example.com:%d", hp), "127.0.0.42"},
	})
	cs, err := source.ReadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	proxytest.HTTPBackend(t, "127.0.0.41", hp, "good")
	dying, err := net.Listen("tcp", fmt.Sprintf("127.0.0.42:%d", hp))
	if err != nil {
		t.Fatal(err)
	}
	defer dying.Close()
	var hangups atomic.Int32
	go func() {
		for {
			c, err := dying.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096)) // the request arrives, no answer ever leaves
			hangups.Add(1)
			c.Close()
		}
	}()
	m := model.Build(cs, model.Options{Bind: "127.0.0.1", StatsAddr: fmt.Sprintf("127.0.0.1:%d", sp)})
	tmpl, _ := Load("haproxy")
	dir := t.TempDir()
	dest := filepath.Join(dir, "haproxy.cfg")
	r, err := tmpl.Render(m, Stem(dest))
	if err != nil {
		t.Fatal(err)
	}
	if err := installChecked(dest, r, "haproxy -c -q -f {{.File}}"); err != nil {
		t.Fatal(err)
	}
	proxytest.StartHAProxy(t, dest, filepath.Join(dir, "haproxy.pid"))
	addr := fmt.Sprintf("127.0.0.1:%d", hp)
	for i := range 20 {
		code, body, err := proxytest.Get(addr, "retry.example.com", "/")
		if err != nil || code != 200 || !strings.Contains(body, "name=good") {
			t.Fatalf("request %d: %d %q %v", i, code, body, err)
		}
	}
	if hangups.Load() == 0 {
		t.Error("the dying replica got no request: the test proves nothing")
	}
}
