// Command routing measures how HAProxy's request rate depends on the number of
// routes in the config rproxy-gen renders: it renders models with 1 and with
// N routes, starts HAProxy on loopback in front of an in-process backend, and
// drives it with wrk. It prints requests per second for each and the ratio.
// With -acl-chain it also renders a one-ACL-per-route template (the design
// rproxy-gen replaced) for comparison. Run it through bench/routing.sh.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rproxy-gen/rproxy-gen/compile"
	"github.com/rproxy-gen/rproxy-gen/model"
)

// aclChain is the per-route ACL design, for comparison only.
const aclChain = `global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen stats
    bind {{.Stats.Addr}}
    stats enable
frontend http
{{- range .HTTP }}
    bind {{ listen $.Bind .Port }}
{{- end }}
{{- range .HTTP }}{{ range .Routes }}
    acl r_{{.Backend}} hdr(host),field(1,:),lower -m end .{{.Host}}
    acl e_{{.Backend}} hdr(host),field(1,:),lower -m str {{.Host}}
    use_backend {{.Backend}} if r_{{.Backend}} or e_{{.Backend}}
{{- end }}{{ end }}
{{- range .HTTP }}{{ range .Routes }}
backend {{.Backend}}
{{- range .Servers }}
    server {{.Name}} {{ listen .Address .Port }}
{{- end }}
{{- end }}{{ end }}
`

func main() {
	routes := flag.Int("routes", 10000, "number of routes in the large config")
	duration := flag.Duration("duration", 5*time.Second, "wrk duration per run")
	conns := flag.Int("connections", 32, "wrk connections")
	withACL := flag.Bool("acl-chain", false, "also measure the one-ACL-per-route design")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *routes, *duration, *conns, *withACL); err != nil {
		log.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, routes int, d time.Duration, conns int, withACL bool) error {
	for _, bin := range []string{"haproxy", "wrk"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y haproxy wrk", bin)
		}
	}
	backend, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return fmt.Errorf("backend listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})}
	go srv.Serve(backend)
	defer srv.Close()
	bport := backend.Addr().(*net.TCPAddr).Port

	builtin, err := compile.Load("haproxy")
	if err != nil {
		return err
	}
	acl, err := compile.Parse("acl-chain", aclChain)
	if err != nil {
		return err
	}
	type variant struct {
		name   string
		tmpl   *compile.Template
		routes int
	}
	variants := []variant{{"map, 1 route", builtin, 1}, {fmt.Sprintf("map, %d routes", routes), builtin, routes}}
	if withACL {
		variants = append(variants, variant{"acl chain, 1 route", acl, 1}, variant{fmt.Sprintf("acl chain, %d routes", routes), acl, routes})
	}
	rates := map[string]float64{}
	for _, v := range variants {
		rps, err := measure(log, v.tmpl, v.routes, bport, d, conns)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		rates[v.name] = rps
		fmt.Printf("%-28s %10.0f req/s\n", v.name, rps)
	}
	fmt.Printf("map: %d routes serve %.1f%% of the 1-route rate\n", routes,
		100*rates[variants[1].name]/rates[variants[0].name])
	if withACL {
		fmt.Printf("acl chain: %d routes serve %.1f%% of the 1-route rate\n", routes,
			100*rates[variants[3].name]/rates[variants[2].name])
	}
	return nil
}

// measure renders a model with n routes (the target in the middle), starts
// HAProxy and returns wrk's requests per second.
func measure(log *slog.Logger, tmpl *compile.Template, n, backendPort int, d time.Duration, conns int) (float64, error) {
	dir, err := os.MkdirTemp("", "rproxy-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	stats, err := freePort()
	if err != nil {
		return 0, err
	}
	// All routes point at the one backend port; they differ by host.
	m := &model.Model{Version: model.Version, Bind: "127.0.0.1", Stats: model.Stats{Addr: fmt.Sprintf("127.0.0.1:%d", stats)}}
	hp := model.HTTPPort{Port: port}
	for i := 0; i < n; i++ {
		hp.Routes = append(hp.Routes, model.HTTPRoute{
			Host: fmt.Sprintf("app%d.bench.example", i), Path: "/",
			Servers: []model.Server{{Name: "b", Address: "127.0.0.2", Port: backendPort}},
		})
	}
	m.HTTP = []model.HTTPPort{hp}
	m.Normalize()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if _, err := compile.Write(context.Background(), cfg, mustRender(tmpl, m), compile.WriteOptions{Check: "haproxy -q -c -f {{.File}}"}); err != nil {
		return 0, err
	}
	hap := exec.Command("haproxy", "-db", "-f", cfg)
	hap.Dir = dir
	hap.Stderr = os.Stderr
	if err := hap.Start(); err != nil {
		return 0, err
	}
	defer func() { hap.Process.Kill(); hap.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitPort(addr, 90*time.Second); err != nil {
		return 0, err
	}
	host := fmt.Sprintf("app%d.bench.example", n/2)
	// Check the route really works before measuring.
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("route %s answered %d", host, resp.StatusCode)
	}
	log.Info("measuring", "template", tmpl.Name, "routes", n, "duration", d)
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "-H", "Host: "+host, "http://"+addr+"/").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseRPS(string(out))
}

func mustRender(t *compile.Template, m *model.Model) *compile.Rendered {
	r, err := t.Render(m, "haproxy")
	if err != nil {
		panic(err)
	}
	return r
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func parseRPS(out string) (float64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := rpsLine.FindStringSubmatch(sc.Text()); m != nil {
			return strconv.ParseFloat(m[1], 64)
		}
	}
	return 0, fmt.Errorf("no Requests/sec in wrk output: %s", out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not open within %s", addr, timeout)
}
