// Command routing measures how HAProxy's request rate depends on the number of
// routes in the config rproxy-gen renders: it renders models with 1 and with
// N routes, starts HAProxy on loopback in front of an in-process backend, and
// drives it with wrk. It prints requests per second for each and the ratio.
// With -acl-chain it also renders a one-ACL-per-route template (the design
// rproxy-gen replaced) for comparison. With -https the routes are https
// routes: HAProxy terminates TLS (a test certificate made here) and wrk
// keeps its connections open, so the TLS handshakes are amortized and the
// per-request routing cost is what is compared. Run it through
// bench/routing.sh.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
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
	"sort"
	"strconv"
	"strings"
	"time"

	installpkg "github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
	"github.com/rproxy-gen/rproxy-gen/render"
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
	rounds := flag.Int("rounds", 3, "runs per config, interleaved; the median counts")
	https := flag.Bool("https", false, "measure https routes (TLS terminated by HAProxy, keep-alive connections) instead of http")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var err error
	if *https {
		err = runHTTPS(log, *routes, *duration, *conns, *rounds)
	} else {
		err = run(log, *routes, *duration, *conns, *withACL, *rounds)
	}
	if err != nil {
		log.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}

// startBackend checks that haproxy and wrk are installed and starts the backend
// every route goes to, on 127.0.0.2; it returns its port and a stop function.
func startBackend() (port int, stop func(), err error) {
	for _, bin := range []string{"haproxy", "wrk"} {
		if _, err := exec.LookPath(bin); err != nil {
			return 0, nil, fmt.Errorf("%s not found: apt-get install -y haproxy wrk", bin)
		}
	}
	backend, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return 0, nil, fmt.Errorf("backend listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})}
	go srv.Serve(backend)
	return backend.Addr().(*net.TCPAddr).Port, func() { srv.Close() }, nil
}

func run(log *slog.Logger, routes int, d time.Duration, conns int, withACL bool, rounds int) error {
	bport, stop, err := startBackend()
	if err != nil {
		return err
	}
	defer stop()

	builtin, err := render.Load("haproxy")
	if err != nil {
		return err
	}
	acl, err := render.Parse("acl-chain", aclChain)
	if err != nil {
		return err
	}
	variants := []variant{{"map, 1 route", builtin, 1}, {fmt.Sprintf("map, %d routes", routes), builtin, routes}}
	if withACL {
		variants = append(variants, variant{"acl chain, 1 route", acl, 1}, variant{fmt.Sprintf("acl chain, %d routes", routes), acl, routes})
	}
	rates, err := measure(log, variants, bport, nil, d, conns, rounds)
	if err != nil {
		return err
	}
	fmt.Printf("map: %d routes serve %.1f%% of the 1-route rate\n", routes, 100*rates[1]/rates[0])
	if withACL {
		fmt.Printf("acl chain: %d routes serve %.1f%% of the 1-route rate\n", routes, 100*rates[3]/rates[2])
	}
	return nil
}

// variant is one config to measure: a template and a number of routes.
type variant struct {
	name   string
	tmpl   *render.Template
	routes int
}

// measure renders each variant once (https routes with certificates c when
// c is not nil, else http routes to the backend on bport) and returns each
// one's median rate. Each measurement starts its HAProxy, lets it settle,
// runs wrk and stops it, so only one HAProxy runs at a time (the health
// checks of a large config must not slow the 1-route one). The runs
// alternate between the configs, round after round, so a change in the
// host's speed (a shared machine) hits all configs alike.
func measure(log *slog.Logger, variants []variant, bport int, c *model.Certificates, d time.Duration, conns, rounds int) ([]float64, error) {
	configs := make([]config, len(variants))
	for i, v := range variants {
		pc, err := prepare(v.tmpl, v.routes, bport, c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		defer os.RemoveAll(pc.dir)
		configs[i] = pc
	}
	samples := make([][]float64, len(variants))
	for r := 0; r < max(rounds, 1); r++ {
		for i, v := range variants {
			log.Info("measuring", "config", v.name, "round", r+1, "duration", d)
			t, err := launch(configs[i])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			time.Sleep(settle)
			rps, err := wrk(t, d, conns)
			t.stop()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			samples[i] = append(samples[i], rps)
		}
	}
	rates := make([]float64, len(variants))
	for i, v := range variants {
		sort.Float64s(samples[i])
		rates[i] = samples[i][len(samples[i])/2]
		fmt.Printf("%-28s %10.0f req/s (median of %d; runs %.0f–%.0f)\n", v.name, rates[i], len(samples[i]), samples[i][0], samples[i][len(samples[i])-1])
	}
	return rates, nil
}

// settle is the pause between an HAProxy's start and its measurement.
const settle = 2 * time.Second

// config is a rendered config and the route to request from it.
type config struct {
	dir, cfg   string
	addr, host string
	scheme     string // http, or https with a certificate for every host
}

// target is one running HAProxy and the host to request from it.
type target struct {
	addr, host, scheme string
	stop               func()
}

// prepare renders a model with n routes (the requested one in the middle)
// into a new directory: http routes, or https routes with certificates c
// when c is not nil.
func prepare(tmpl *render.Template, n, backendPort int, c *model.Certificates) (config, error) {
	dir, err := os.MkdirTemp("", "rproxy-bench-")
	if err != nil {
		return config{}, err
	}
	port, err := freePort()
	if err != nil {
		return config{}, err
	}
	stats, err := freePort()
	if err != nil {
		return config{}, err
	}
	// All routes point at the one backend port; they differ by host.
	m := &model.Model{Version: model.Version, Bind: "127.0.0.1", Stats: model.Stats{Addr: fmt.Sprintf("127.0.0.1:%d", stats)}, Certificates: c}
	hp := model.HTTPPort{Port: port}
	for i := 0; i < n; i++ {
		hp.Routes = append(hp.Routes, model.HTTPRoute{
			Host: fmt.Sprintf("app%d.bench.example", i), Path: "/",
			Servers: []model.Server{{Name: "b", Address: "127.0.0.2", Port: backendPort}},
		})
	}
	if c != nil {
		m.HTTPS = []model.HTTPPort{hp}
	} else {
		m.HTTP = []model.HTTPPort{hp}
	}
	m.Normalize()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := install(tmpl, m, cfg); err != nil {
		os.RemoveAll(dir)
		return config{}, err
	}
	scheme := "http"
	if c != nil {
		scheme = "https"
	}
	return config{dir: dir, cfg: cfg, addr: fmt.Sprintf("127.0.0.1:%d", port), host: fmt.Sprintf("app%d.bench.example", n/2), scheme: scheme}, nil
}

// launch starts HAProxy on c and checks that the route answers.
func launch(c config) (target, error) {
	hap := exec.Command("haproxy", "-db", "-f", c.cfg)
	hap.Dir = c.dir
	hap.Stderr = os.Stderr
	if err := hap.Start(); err != nil {
		return target{}, err
	}
	t := target{addr: c.addr, host: c.host, scheme: c.scheme, stop: func() { hap.Process.Kill(); hap.Wait() }}
	if err := waitPort(t.addr, 90*time.Second); err != nil {
		t.stop()
		return target{}, err
	}
	// Check the route really works before measuring.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{ServerName: t.host, InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", t.scheme+"://"+t.addr+"/", nil)
	req.Host = t.host
	resp, err := client.Do(req)
	if err != nil {
		t.stop()
		return target{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.stop()
		return target{}, fmt.Errorf("route %s answered %d", t.host, resp.StatusCode)
	}
	return t, nil
}

// wrk runs one wrk measurement against t and returns requests per second.
func wrk(t target, d time.Duration, conns int) (float64, error) {
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "-H", "Host: "+t.host, t.scheme+"://"+t.addr+"/").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		return 0, fmt.Errorf("wrk saw errors: %s", out)
	}
	return parseRPS(string(out))
}

// install renders m through tmpl into dest as rproxy-gen does: staged,
// checked with haproxy -c, swapped in.
func install(tmpl *render.Template, m *model.Model, dest string) error {
	check, err := installpkg.ParseCheck("haproxy -q -c -f {{.File}}")
	if err != nil {
		return err
	}
	p := pipeline.New(pipeline.Config{
		Outputs: []*pipeline.Output{{Template: tmpl, Dest: dest, Check: installpkg.CommandCheck(check, 5*time.Minute)}},
		Log:     slog.New(slog.DiscardHandler),
	})
	rep, err := p.Apply(context.Background(), m, "bench")
	if err != nil {
		return err
	}
	return rep.Results[0].Err
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
