package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// bench is a watcher and HAProxy serving a route bench.test (one replica,
// "base") among routes-1 other routes, applying changes over the Runtime
// API (runtime) or by reloads (notify only). BENCH_LOG=FILE keeps the
// watcher's debug log there.
type bench struct {
	b        *testing.B
	cli      *client.Client
	net, hp  string
	front    string
	cfg      string
	notified string
}

func startBench(b *testing.B, runtime bool, routes int, wait string) *bench {
	b.Helper()
	proxytest.NeedHAProxy(b)
	cli := dockertest.Connect(b)
	dockertest.BuildTestImage(b, cli)
	dir := b.TempDir()
	e := &bench{b: b, cli: cli, net: dockertest.Network(b, cli), hp: strconv.Itoa(proxytest.FreePort(b)),
		cfg: filepath.Join(dir, "haproxy.cfg"), notified: filepath.Join(dir, "notified")}
	e.front = "127.0.0.1:" + e.hp
	pidfile := filepath.Join(dir, "haproxy.pid")
	args := []string{"--watch", "--wait", wait, "-o", e.cfg, "--bind", "127.0.0.1", "--network", e.net,
		"--stats-addr", "127.0.0.1:" + strconv.Itoa(proxytest.FreePort(b)), "--log-level", "warn",
		"--check", "haproxy -c -q -f {{.File}}",
		"--notify", "echo reload >> " + e.notified + "; " + proxytest.ReloadCommand(pidfile)}
	if runtime {
		args = append(args, "--haproxy-socket", filepath.Join(dir, "admin.sock"))
	}
	if os.Getenv("BENCH_LOG") != "" {
		args = append(args, "--log-level", "debug")
	}
	watcher := proxytest.Start(b, dir, nil, binary, args...)
	if path := os.Getenv("BENCH_LOG"); path != "" {
		b.Cleanup(func() { os.WriteFile(path, []byte(watcher.Logs.String()), 0o644) })
	}
	waitFile(b, e.cfg, "listen stats")
	masterSock := filepath.Join(dir, "master.sock")
	proxytest.Start(b, dir, nil, "sh", "-c", "exec haproxy -W -db -S "+masterSock+" -f "+e.cfg+" -p "+pidfile+" >/dev/null 2>&1")
	master, err := haproxyapi.NewMaster(masterSock)
	if err != nil {
		b.Fatal(err)
	}
	// The other routes, all from one container; then the measured route.
	var other []string
	for i := range routes - 1 {
		other = append(other, fmt.Sprintf("http://r%d.bench.test:%s", i, e.hp))
	}
	if len(other) > 0 {
		// With a Docker health check, as most production images have: its
		// servers get no active check, so the replicas measured never move
		// the count of actively checked servers across a step of the
		// check interval (1,000, 2,000, ...), where every server line
		// changes and any change reloads (docs/runtime.md).
		dockertest.Run(e.b, e.cli, dockertest.RunOptions{Name: "filler", Network: e.net,
			Env: []string{"NAME=filler", "RPROXY=" + strings.Join(other, ","), "HTTP_PORTS=" + e.hp},
			Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/testbackend", "-health"},
				Interval: 500 * time.Millisecond, Retries: 1}})
	}
	e.run("base", "http://bench.test:"+e.hp)
	dockertest.Poll(b, 2*time.Minute, "the routes served", func() error {
		if _, body, err := proxytest.Get(e.front, "bench.test", "/"); err != nil || !strings.Contains(body, "name=base") {
			return fmt.Errorf("%q %v", body, err)
		}
		if _, body, err := proxytest.Get(e.front, "r0.bench.test", "/"); routes > 1 && (err != nil || !strings.Contains(body, "name=filler")) {
			return fmt.Errorf("filler (healthy?): %q %v", body, err)
		}
		p, err := master.ShowProc(context.Background())
		if err == nil && len(p.OldWorkers) > 0 {
			err = fmt.Errorf("%d old workers", len(p.OldWorkers))
		}
		return err
	})
	return e
}

func (e *bench) run(name, rproxy string) dockertest.Container {
	return dockertest.Run(e.b, e.cli, dockertest.RunOptions{Name: name, Network: e.net,
		Env: []string{"NAME=" + name, "RPROXY=" + rproxy, "HTTP_PORTS=" + e.hp}})
}

func (e *bench) notifies() int {
	data, _ := os.ReadFile(e.notified)
	return strings.Count(string(data), "reload\n")
}

// BenchmarkReplicaServed measures, per iteration, a new replica of an
// existing route from its container's start to its first request served
// through HAProxy, applied over the Runtime API (runtime) or by a reload,
// with 10, 100 and 1,000 routes in the config. It reports the median and
// 90th percentile of the time from the container itself answering to
// HAProxy serving it (ms-after-container: what rproxy-gen and HAProxy
// add), of the whole time from the start, and of the container's own
// start-up; --wait 0 takes the debounce out, and runtime/routes=10/wait=100ms
// shows it with the default --wait. Run it with bench/runtime.sh.
func BenchmarkReplicaServed(b *testing.B) {
	for _, path := range []string{"runtime", "reload"} {
		for _, routes := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/routes=%d/wait=0", path, routes), func(b *testing.B) { replicaServed(b, path == "runtime", routes, "0") })
		}
	}
	b.Run("runtime/routes=10/wait=100ms", func(b *testing.B) { replicaServed(b, true, 10, "100ms:2s") })
}

func replicaServed(b *testing.B, runtime bool, routes int, wait string) {
	e := startBench(b, runtime, routes, wait)
	ctx := context.Background()
	var afterContainer, fromStart, direct []time.Duration
	reloads := e.notifies()
	b.ResetTimer()
	for i := range b.N {
		name := dockertest.UniqueName(fmt.Sprintf("rep%d", i))
		c, err := e.cli.ContainerCreate(ctx, &container.Config{Image: dockertest.TestImage,
			Env:    []string{"NAME=" + name, "RPROXY=http://bench.test:" + e.hp, "HTTP_PORTS=" + e.hp},
			Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}},
			&container.HostConfig{NetworkMode: container.NetworkMode(e.net)}, nil, nil, name)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := e.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		var tDirect, tProxy time.Duration
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // the container itself
			defer wg.Done()
			ip := dockertest.IP(b, e.cli, c.ID, e.net)
			tDirect = firstAnswer(ip+":"+e.hp, name, start)
		}()
		go func() { // through HAProxy
			defer wg.Done()
			tProxy = firstAnswer(e.front, name, start)
		}()
		wg.Wait()
		if tDirect < 0 || tProxy < 0 {
			b.Fatalf("%s not served within 30s (direct %v, proxy %v)", name, tDirect, tProxy)
		}
		direct = append(direct, tDirect)
		fromStart = append(fromStart, tProxy)
		afterContainer = append(afterContainer, max(tProxy-tDirect, 0))
		b.StopTimer()
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		dockertest.Poll(b, 30*time.Second, name+" gone", func() error {
			if data, _ := os.ReadFile(e.cfg); strings.Contains(string(data), "server "+name+" ") {
				return fmt.Errorf("still in the config")
			}
			return nil
		})
		time.Sleep(200 * time.Millisecond) // the removal applied, old workers gone
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(percentileMS(afterContainer, 50), "ms-after-container")
	b.ReportMetric(percentileMS(afterContainer, 90), "ms-after-container-p90")
	b.ReportMetric(percentileMS(fromStart, 50), "ms-from-start")
	b.ReportMetric(percentileMS(direct, 50), "ms-container")
	b.ReportMetric(float64(e.notifies()-reloads)/float64(b.N), "reloads/op")
	b.ReportMetric(0, "ns/op")
}

// firstAnswer polls addr (Host bench.test) until the backend called name
// answers and returns the time since start, or -1 after 30s.
func firstAnswer(addr, name string, start time.Time) time.Duration {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for time.Since(start) < 30*time.Second {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = "bench.test"
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "name="+name+" ") {
				return time.Since(start)
			}
			continue // another replica answered: ask again at once
		}
		time.Sleep(time.Millisecond)
	}
	return -1
}

// BenchmarkChurnRPS measures requests per second through HAProxy (16
// keep-alive clients on one route) while nothing changes (5 s before and 5
// s after, averaged: the machine's speed drifts), and while 50
// replica changes of another route are applied, one every 250 ms (a replica
// paused and unpaused 25 times: it leaves the route and comes back), over the Runtime
// API or by reloads: what changes cost the traffic that does not take part
// in them. (Pausing costs Docker little, unlike starting and removing
// containers, whose CPU load on a small machine would hide the proxy's
// share; requests in flight to a container that dies stall until HAProxy's
// connect timeout whatever the path.) b.N is ignored beyond 1. Run it with
// bench/runtime.sh.
func BenchmarkChurnRPS(b *testing.B) {
	for _, path := range []string{"runtime", "reload"} {
		b.Run(path, func(b *testing.B) { churnRPS(b, path == "runtime") })
	}
}

func churnRPS(b *testing.B, runtime bool) {
	e := startBench(b, runtime, 10, "0")
	e.run("churnbase", "http://churn.test:"+e.hp)
	dockertest.Poll(b, time.Minute, "the churned route", func() error {
		if _, body, err := proxytest.Get(e.front, "churn.test", "/"); err != nil || !strings.Contains(body, "name=churnbase") {
			return fmt.Errorf("%q %v", body, err)
		}
		return nil
	})
	time.Sleep(time.Second) // the reload for it is over
	reloads := e.notifies()
	measure := func(during func()) (rps float64, failed int64) {
		var ok, bad atomic.Int64
		clients := make([]*http.Client, 16)
		for i := range clients {
			clients[i] = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
		}
		tr := startTraffic(e.front, "bench.test", clients, 0, func(a answer) {
			if a.err == nil && a.code == 200 {
				ok.Add(1)
			} else {
				bad.Add(1)
			}
		})
		began := time.Now()
		during()
		elapsed := time.Since(began)
		tr.end()
		return float64(ok.Load()) / elapsed.Seconds(), bad.Load()
	}
	var churnTime time.Duration
	b.ResetTimer()
	// The changes: a second replica of churn.test paused (it leaves the
	// route) and unpaused (it comes back), 25 times each; pausing costs
	// Docker little, so the figure shows what the proxy side costs.
	rep := e.run("churner", "http://churn.test:"+e.hp)
	waitFile(b, e.cfg, "server "+rep.Name+" ")
	time.Sleep(time.Second)
	reloads = e.notifies()
	ctx := context.Background()
	idleBefore, failedBefore := measure(func() { time.Sleep(5 * time.Second) })
	churnRate, churnFailed := measure(func() {
		began := time.Now()
		for i := range 50 {
			next := began.Add(time.Duration(i+1) * 250 * time.Millisecond) // one change every 250 ms
			var err error
			if i%2 == 0 {
				err = e.cli.ContainerPause(ctx, rep.ID)
			} else {
				err = e.cli.ContainerUnpause(ctx, rep.ID)
			}
			if err != nil {
				b.Fatal(err)
			}
			dockertest.Poll(b, 30*time.Second, fmt.Sprintf("change %d applied", i+1), func() error {
				data, _ := os.ReadFile(e.cfg)
				if strings.Contains(string(data), "server "+rep.Name+" ") == (i%2 == 0) {
					return fmt.Errorf("not in the config yet")
				}
				return nil
			})
			time.Sleep(time.Until(next))
		}
		churnTime = time.Since(began)
	})
	b.StopTimer()
	churnReloads := e.notifies() - reloads
	idleAfter, idleFailed := measure(func() { time.Sleep(5 * time.Second) })
	idleRate, idleFailed := (idleBefore+idleAfter)/2, idleFailed+failedBefore
	b.ReportMetric(idleRate, "rps-idle")
	b.ReportMetric(churnRate, "rps-churn")
	b.ReportMetric(100*churnRate/idleRate, "%-of-idle")
	b.ReportMetric(float64(churnReloads), "reloads")
	b.ReportMetric(float64(churnFailed+idleFailed), "failed")
	b.ReportMetric(churnTime.Seconds(), "s-churn")
	b.ReportMetric(0, "ns/op")
}
