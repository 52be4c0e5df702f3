// Command haproxy-scale measures what HAProxy makes of the built-in
// template's config at 1,000, 10,000 and 100,000 routes: the time of
// `haproxy -c` and its peak memory, the time from starting HAProxy to the
// first request routed, its resident memory once started, and the time of a
// reload (a new process with -sf) until a route only the new config has
// answers. Every route has one server, the in-process backend, without a
// Docker health check (the worst case for health checks). It runs HAProxy
// under the open-files limit it was given itself. Run it through
// bench/haproxy-scale.sh.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/render"
)

func main() {
	counts := flag.String("routes", "1000,10000,100000", "comma-separated route counts")
	rounds := flag.Int("rounds", 3, "runs of each measurement; the median counts")
	flag.Parse()
	if err := run(*counts, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "haproxy-scale:", err)
		os.Exit(1)
	}
}

func run(counts string, rounds int) error {
	if _, err := exec.LookPath("haproxy"); err != nil {
		return fmt.Errorf("haproxy not found: apt-get install -y haproxy")
	}
	backend, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return fmt.Errorf("backend listen: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
	go srv.Serve(backend)
	defer srv.Close()
	bport := backend.Addr().(*net.TCPAddr).Port

	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	fmt.Printf("open-files limit HAProxy runs under: soft %d, hard %d; %d rounds, medians\n", lim.Cur, lim.Max, rounds)
	fmt.Printf("%8s %9s %9s %11s %12s %9s %11s %10s %s\n", "routes", "config", "check/s", "check-RSS", "start/s", "RSS", "reload/s", "checked", "notes")
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad route count %q", f)
		}
		if err := measure(n, bport, rounds); err != nil {
			return fmt.Errorf("%d routes: %w", n, err)
		}
	}
	return nil
}

// measure prints one line of figures for n routes.
func measure(n, backendPort, rounds int) error {
	dir, err := os.MkdirTemp("", "rpg-haproxy-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return err
	}
	cfg, size, limits, err := write(filepath.Join(dir, "a"), n, port, backendPort)
	if err != nil {
		return err
	}
	next, _, _, err := write(filepath.Join(dir, "b"), n+1, port, backendPort)
	if err != nil {
		return err
	}
	var checks, checkRSS, starts, rss, reloads []float64
	for range rounds {
		t0 := time.Now()
		c := exec.Command("haproxy", "-c", "-q", "-f", cfg)
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("haproxy -c: %v\n%s", err, out)
		}
		checks = append(checks, time.Since(t0).Seconds())
		checkRSS = append(checkRSS, float64(c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024)

		addr := fmt.Sprintf("127.0.0.1:%d", port)
		old, d, err := start(cfg, addr, fmt.Sprintf("app%d.bench.example", n/2), 0)
		if err != nil {
			return err
		}
		starts = append(starts, d.Seconds())
		time.Sleep(time.Second) // settled: checks running, maps loaded
		rss = append(rss, float64(rssKB(old.Process.Pid))/1024)
		// Reload: a new process takes over from the old one (-sf); the
		// route only the new config has must answer.
		nw, d, err := start(next, addr, fmt.Sprintf("app%d.bench.example", n), old.Process.Pid)
		if err != nil {
			stop(old)
			return err
		}
		reloads = append(reloads, d.Seconds())
		stop(old)
		stop(nw)
	}
	note := "active checks every " + limits.CheckInter
	if !limits.Checks {
		note = fmt.Sprintf("no active checks (%d needed, room for %d)", limits.Checked, limits.CheckBudget)
	}
	fmt.Printf("%8d %7.1fMB %9.3f %9.0fMB %12.3f %7.0fMB %11.3f %10d maxconn %d; %s\n", n, float64(size)/1e6,
		median(checks), median(checkRSS), median(starts), median(rss), median(reloads), checked(limits), limits.MaxConn, note)
	return nil
}

func checked(l render.Limits) int {
	if l.Checks {
		return l.Checked
	}
	return 0
}

// write renders a model of n routes (app0 … app<n-1>.bench.example, each
// served by the backend) into dir and returns the config's path, the size
// of config and maps, and the limits the template applied.
func write(dir string, n, port, backendPort int) (string, int, render.Limits, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, render.Limits{}, err
	}
	stats, err := freePort()
	if err != nil {
		return "", 0, render.Limits{}, err
	}
	m := &model.Model{Version: model.Version, Bind: "127.0.0.1", Stats: model.Stats{Addr: fmt.Sprintf("127.0.0.1:%d", stats)}}
	hp := model.HTTPPort{Port: port}
	for i := range n {
		hp.Routes = append(hp.Routes, model.HTTPRoute{Host: fmt.Sprintf("app%d.bench.example", i), Path: "/",
			Servers: []model.Server{{Name: "b", Address: "127.0.0.2", Port: backendPort}}})
	}
	m.HTTP = []model.HTTPPort{hp}
	m.Normalize()
	if err := m.Validate(); err != nil {
		return "", 0, render.Limits{}, err
	}
	tmpl, err := render.Load("haproxy")
	if err != nil {
		return "", 0, render.Limits{}, err
	}
	r, err := tmpl.Render(m, "haproxy")
	if err != nil {
		return "", 0, render.Limits{}, err
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	size := len(r.Main)
	if err := os.WriteFile(cfg, r.Main, 0o644); err != nil {
		return "", 0, render.Limits{}, err
	}
	for _, f := range r.Files {
		size += len(f.Data)
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return "", 0, render.Limits{}, err
		}
	}
	return cfg, size, render.ProxyLimits(m), nil
}

// start starts HAProxy on cfg (taking over from pid when not 0) and returns
// it with the time until a request for host through addr answered 200.
func start(cfg, addr, host string, pid int) (*exec.Cmd, time.Duration, error) {
	args := []string{"-db", "-f", cfg}
	if pid != 0 {
		args = append(args, "-sf", strconv.Itoa(pid))
	}
	cmd := exec.Command("haproxy", args...)
	cmd.Dir = filepath.Dir(cfg)
	logFile := filepath.Join(cmd.Dir, fmt.Sprintf("haproxy-%d.log", time.Now().UnixNano()))
	logw, err := os.Create(logFile)
	if err != nil {
		return nil, 0, err
	}
	defer logw.Close()
	cmd.Stdout, cmd.Stderr = logw, logw
	logs := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := t0.Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, 0, fmt.Errorf("haproxy exited: %v\n%s", err, logs())
		default:
		}
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = host
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, time.Since(t0), nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, 0, fmt.Errorf("%s not served within 5 minutes\n%s", host, logs())
}

func stop(cmd *exec.Cmd) {
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill()
		time.Sleep(100 * time.Millisecond)
	}
}

// rssKB reads a process's resident set size from /proc (0 when gone).
func rssKB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
