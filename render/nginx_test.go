package render

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// nginxEnv is the nginx binary and the line that loads its stream module
// (empty when the module is built in).
type nginxEnv struct{ bin, loadModule string }

func needNginx(t *testing.T) nginxEnv {
	t.Helper()
	bin, load := proxytest.NeedNginx(t)
	return nginxEnv{bin: bin, loadModule: load}
}

// wrap writes fragment as dir/stream.conf and a wrapper dir/nginx.conf that
// includes it inside stream {}, as a user's nginx.conf would, and returns the
// wrapper's path.
func (n nginxEnv) wrap(t *testing.T, dir string, fragment []byte) string {
	t.Helper()
	stream := filepath.Join(dir, "stream.conf")
	if err := os.WriteFile(stream, fragment, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := n.loadModule + fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
stream { include %[2]s; }
`, dir, stream)
	wrapper := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(wrapper, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

// check runs nginx -t on a wrapper and returns its output and error.
func (n nginxEnv) check(wrapper string) (string, error) {
	dir := filepath.Dir(wrapper)
	out, err := exec.Command(n.bin, "-t", "-q", "-c", wrapper, "-p", dir, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	return string(out), err
}

// renderNginxStream renders m through the built-in nginx-stream template.
func renderNginxStream(t *testing.T, m *model.Model) []byte {
	t.Helper()
	tmpl, err := Load("nginx-stream")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tmpl.Render(m, "stream")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 0 {
		t.Fatalf("nginx-stream renders auxiliary files: %v", r.Files)
	}
	return r.Main
}

// TestNginxAcceptsTheExample: the example snapshot, with every kind of bind
// address, a hand-written model with an empty tcp port, and the snapshot
// with every scheme (tls passthrough) pass nginx -t once included in a
// stream block.
func TestNginxAcceptsTheExample(t *testing.T) {
	n := needNginx(t)
	var models []*model.Model
	for _, opts := range []model.Options{{}, {Bind: "127.0.0.1", StatsAddr: "127.0.0.1:8404"}, {Bind: "::1"}} {
		models = append(models, loadSnapshot(t, "example.json", opts))
	}
	empty, err := model.Unmarshal([]byte(`version: 1
bind: ""
stats: {addr: ":1"}
http: []
tcp:
  - {port: 22, backend: tcp_22, names: [ssh], servers: []}
  - {port: 23, backend: tcp_23, names: [telnet], servers: [{name: t, address: "::1", port: 23}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	models = append(models, empty, loadSnapshot(t, "empty.json", model.Options{}),
		loadSnapshot(t, "https.json", model.Options{Certs: goldenCerts()}),
		loadSnapshot(t, "https.json", model.Options{Certs: goldenCerts(), Bind: "::1"}))
	for _, m := range models {
		frag := renderNginxStream(t, m)
		if out, err := n.check(n.wrap(t, t.TempDir(), frag)); err != nil {
			t.Errorf("bind %q: nginx -t: %v\n%s\n--- fragment ---\n%s", m.Bind, err, out, frag)
		}
	}
	frag := string(renderNginxStream(t, empty))
	if !strings.Contains(frag, "# tcp port 22 (tcp_22): no servers, not rendered") || strings.Contains(frag, "upstream tcp_22") {
		t.Errorf("tcp port without servers not skipped:\n%s", frag)
	}
	if !strings.Contains(frag, "server [::1]:23;") {
		t.Errorf("IPv6 server not bracketed:\n%s", frag)
	}
}

// TestNginxCheckCanFail proves that the nginx -t check used above rejects
// broken fragments, among them the rendered example with its server lines
// dropped (an empty upstream, which the template must never produce).
func TestNginxCheckCanFail(t *testing.T) {
	n := needNginx(t)
	good := renderNginxStream(t, loadSnapshot(t, "example.json", model.Options{}))
	if out, err := n.check(n.wrap(t, t.TempDir(), good)); err != nil {
		t.Fatalf("the unbroken fragment fails nginx -t: %v\n%s", err, out)
	}
	var noServers []string
	for _, line := range strings.Split(string(good), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "server ") {
			noServers = append(noServers, line)
		}
	}
	tests := []struct{ name, fragment, wantErr string }{
		{"upstream without servers", strings.Join(noServers, "\n"), "no servers are inside upstream"},
		{"unknown upstream", "server { listen 2222; proxy_pass nowhere_tcp; }\n", "no port in upstream"},
		{"listen without host", "upstream u { server 127.0.0.1:1; }\nserver { listen :2222; proxy_pass u; }\n", "no host"},
		{"unclosed block", string(good) + "upstream u {\n", "unexpected end of file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := n.check(n.wrap(t, t.TempDir(), []byte(tt.fragment)))
			if err == nil {
				t.Fatalf("nginx -t accepted a broken fragment:\n%s", tt.fragment)
			}
			if !strings.Contains(out, tt.wantErr) {
				t.Errorf("nginx -t failed for another reason than %q:\n%s", tt.wantErr, out)
			}
		})
	}
}

// TestNginxCheckStagedFragment runs the check recipe of docs/templates.md
// through Write: the staged fragment is wrapped in a throw-away config in the
// staging directory and checked with nginx -t. A good fragment is installed; a
// broken one (an empty upstream) fails the check and leaves the good one.
func TestNginxCheckStagedFragment(t *testing.T) {
	n := needNginx(t)
	check := `printf '` + n.loadModule + `events {}\nstream { include %s; }\n' {{.File}} > {{.Dir}}/check.conf && ` +
		n.bin + ` -t -q -c {{.Dir}}/check.conf -e {{.Dir}}/error.log`
	dest := filepath.Join(t.TempDir(), "stream.conf")
	good := renderNginxStream(t, loadSnapshot(t, "example.json", model.Options{}))
	if err := installChecked(dest, &Rendered{Main: good}, check); err != nil {
		t.Fatalf("good fragment: %v", err)
	}
	broken := bytes.Replace(good, []byte("    server 172.17.0.5:666;  # doom\n"), nil, 1)
	if bytes.Equal(broken, good) {
		t.Fatal("could not break the fragment")
	}
	err := installChecked(dest, &Rendered{Main: broken}, check)
	if !errors.Is(err, install.ErrCheck) || !strings.Contains(err.Error(), "no servers are inside upstream") {
		t.Fatalf("broken fragment: err = %v, want a failed check", err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, good) {
		t.Errorf("a failed check replaced the installed fragment")
	}
}

// TestNginxRoutesRealTraffic renders a snapshot whose containers sit on
// 127.0.0.x, runs nginx on loopback with the fragment and proves tcp routing
// by port and round robin with real connections.
func TestNginxRoutesRealTraffic(t *testing.T) {
	n := needNginx(t)
	rrPort, gamePort, sharedPort, httpPort := proxytest.FreePort(t), proxytest.FreePort(t), proxytest.FreePort(t), proxytest.FreePort(t)
	snap := inspectJSON(t, [][3]string{
		{"rr-1", fmt.Sprintf("tcp://rr:%d", rrPort), "127.0.0.41"},
		{"rr-2", fmt.Sprintf("tcp://rr:%d", rrPort), "127.0.0.42"},
		{"rr-3", fmt.Sprintf("tcp://rr:%d", rrPort), "127.0.0.43"},
		{"game", fmt.Sprintf("tcp://game:%d", gamePort), "127.0.0.51"},
		{"irc-a", fmt.Sprintf("tcp://irc:%d", sharedPort), "127.0.0.61"},
		{"irc-b", fmt.Sprintf("tcp://other-name:%d", sharedPort), "127.0.0.62"},
		{"web", fmt.Sprintf("http://web.example.com:%d", httpPort), "127.0.0.71"},
	})
	cs, err := source.ReadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	m := model.Build(cs, model.Options{Bind: "127.0.0.1", StatsAddr: fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))})
	if len(m.Warnings) != 0 || len(m.TCP) != 3 || len(m.HTTP) != 1 {
		t.Fatalf("unexpected model: %d tcp ports, %d http ports, warnings %v", len(m.TCP), len(m.HTTP), m.Warnings)
	}
	for _, p := range m.TCP {
		for _, s := range p.Servers {
			proxytest.TCPBackend(t, s.Address, s.Port, s.Name)
		}
	}
	frag := renderNginxStream(t, m)
	if !strings.Contains(string(frag), "# http routes not rendered: 1 (use the haproxy template)") {
		t.Errorf("header does not count the http route:\n%s", frag)
	}
	dir := t.TempDir()
	wrapper := n.wrap(t, dir, frag)
	if out, err := n.check(wrapper); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n--- fragment ---\n%s", err, out, frag)
	}
	n.start(t, wrapper)
	for _, p := range []int{rrPort, gamePort, sharedPort} {
		proxytest.WaitListen(t, fmt.Sprintf("127.0.0.1:%d", p))
	}

	count := func(port, conns int) map[string]int {
		seen := map[string]int{}
		for i := 0; i < conns; i++ {
			seen[tcpName(t, fmt.Sprintf("127.0.0.1:%d", port))]++
		}
		return seen
	}
	// Round robin: 9 connections reach each of the 3 replicas exactly 3 times.
	if seen := count(rrPort, 9); len(seen) != 3 || seen["rr-1"] != 3 || seen["rr-2"] != 3 || seen["rr-3"] != 3 {
		t.Errorf("round robin over 9 connections: %v, want rr-1, rr-2, rr-3 3 times each", seen)
	}
	// Routing by port: the game port reaches only the game server.
	if seen := count(gamePort, 3); len(seen) != 1 || seen["game"] != 3 {
		t.Errorf("game port: %v, want game 3 times", seen)
	}
	// tcp routes by port alone: two names on one port share one upstream.
	if seen := count(sharedPort, 4); len(seen) != 2 || seen["irc-a"] != 2 || seen["irc-b"] != 2 {
		t.Errorf("shared port: %v, want irc-a and irc-b 2 times each", seen)
	}
	// The http route is not rendered: nothing listens on its port.
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort), time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on the http port %d; nginx-stream must not render http routes", httpPort)
	}
}

// start runs nginx in the foreground (daemon off) until the test ends.
func (n nginxEnv) start(t *testing.T, wrapper string) {
	t.Helper()
	dir := filepath.Dir(wrapper)
	p := proxytest.Start(t, dir, nil, n.bin, "-c", wrapper, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	t.Cleanup(func() {
		if t.Failed() {
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", errLog)
		}
	})
	_ = p
}
