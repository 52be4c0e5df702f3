package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// BenchmarkBurst starts N containers together (N concurrent container
// starts, each with its own http host) under one rproxy-gen --watch that
// reloads a real HAProxy, and measures for each container the time from its
// start (its ContainerStart returning) to the first request through HAProxy
// that it answers, next to Docker's floor: the same container answering on
// its own address. It reports the medians and 90th percentiles of both, the
// time from the first start until every container was served and until
// every one answered by itself, and the number of HAProxy reloads (notify
// runs) the burst caused. Each iteration is one burst; run it with
// bench/burst.sh. BURST_WAIT sets --wait (default: rproxy-gen's default).
// rproxy-gen runs with --haproxy-socket, so each new route is served
// through a spare backend until its reload; BURST_SPARES sets
// --spare-backends (0: new routes wait for the reload). One site is served
// on the port before the bursts, as on a proxy in use.
//
// replicas=N starts N replicas of one existing route together instead (a
// service scaled up: the change --haproxy-socket applies without a reload)
// under rproxy-gen --watch with the Runtime API. There eight probes send
// requests to the route through HAProxy throughout the burst and note the
// first answer of each replica, so with round robin over N replicas the
// figure includes up to one round of probes (a few ms at 30 replicas, tens
// at 100).
func BenchmarkBurst(b *testing.B) {
	for _, n := range []int{30, 100} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) { burst(b, n) })
	}
	for _, n := range []int{30, 100} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) { burstReplicas(b, n) })
	}
}

func burst(b *testing.B, n int) {
	proxytest.NeedHAProxy(b)
	cli := dockertest.Connect(b)
	img := dockertest.BuildTestImage(b, cli)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	pidfile := filepath.Join(dir, "haproxy.pid")
	reloads := filepath.Join(dir, "reloads")
	port, statsPort := proxytest.FreePort(b), proxytest.FreePort(b)
	hp := strconv.Itoa(port)
	args := []string{"--watch", "-o", cfg, "--bind", "127.0.0.1",
		"--stats-addr", "127.0.0.1:" + strconv.Itoa(statsPort), "--check", "haproxy -c -q -f {{.File}}",
		"--notify", "echo reload >> " + reloads + "; " + proxytest.ReloadCommand(pidfile)}
	args = append(args, "--haproxy-socket", filepath.Join(dir, "admin.sock"))
	if n := os.Getenv("BURST_SPARES"); n != "" {
		args = append(args, "--spare-backends", n)
	}
	if w := os.Getenv("BURST_WAIT"); w != "" {
		args = append(args, "--wait", w)
	}
	if os.Getenv("BURST_LOG") != "" {
		args = append(args, "--log-level", "debug")
	}
	watcher := proxytest.Start(b, dir, nil, binary, args...)
	if path := os.Getenv("BURST_LOG"); path != "" {
		b.Cleanup(func() { os.WriteFile(path, []byte(watcher.Logs.String()), 0o644) })
	}
	waitFile(b, cfg, "listen stats")
	proxytest.StartHAProxy(b, cfg, pidfile)
	front := "127.0.0.1:" + hp
	ctx := context.Background()
	// A site the proxy serves already: the burst adds routes to its port.
	dockertest.Run(b, cli, dockertest.RunOptions{Name: "resident", Image: img,
		Env: []string{"NAME=resident", "RPROXY=http://resident.test:" + hp, "HTTP_PORTS=" + hp}})
	waitServed(b, "the resident site", front, "resident.test", map[string]int{"resident": 1})
	time.Sleep(3 * time.Second) // its reload, and --wait's MAX after it

	var st burstStats
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		// Create every container first: the burst is their starts.
		ids, names := createBurst(b, cli, img, "", fmt.Sprintf("burst%d", iter), n, hp,
			func(name string) string { return "http://" + name + ".test:" + hp })
		before := lines(reloads)
		b.StartTimer()

		t0 := time.Now()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := cli.ContainerStart(ctx, ids[i], container.StartOptions{}); err != nil {
					b.Error(err)
					return
				}
				start := time.Now()
				info, err := cli.ContainerInspect(ctx, ids[i])
				if err != nil || info.NetworkSettings == nil || info.NetworkSettings.Networks["bridge"] == nil {
					b.Errorf("%s: no address: %v", names[i], err)
					return
				}
				ip := info.NetworkSettings.Networks["bridge"].IPAddress
				// The container answers by itself first (a request through
				// the proxy reaches it too), then through the proxy.
				var direct, proxied time.Time
				deadline := start.Add(60 * time.Second)
				for proxied.IsZero() && time.Now().Before(deadline) {
					addr := front
					if direct.IsZero() {
						addr = ip + ":" + hp
					}
					if code, body, err := proxytest.Get(addr, names[i]+".test", "/"); err == nil && code == 200 && field(body, "name") == names[i] {
						if direct.IsZero() {
							direct = time.Now()
							continue
						}
						proxied = time.Now()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				st.record(b, names[i], start, direct, proxied)
			})
		}
		wg.Wait()
		b.StopTimer()
		if b.Failed() {
			b.FailNow()
		}
		time.Sleep(3 * time.Second) // trailing renders and reloads of the burst
		st.ended(t0, lines(reloads)-before)
		removeBurst(b, cli, ids, cfg, "burst")
		b.StartTimer()
	}
	b.StopTimer()
	st.report(b)
}

// burstStats collects what the burst benchmarks measure.
type burstStats struct {
	mu                    sync.Mutex
	served, floor, behind []time.Duration // per container
	lastServed, lastFloor time.Time       // of the burst under way
	all, allFloor         time.Duration   // summed over bursts
	reloads, bursts       int
}

// record records one container: started at start, answering by itself at
// direct and through HAProxy at proxied (zero: it did not, a failure).
func (s *burstStats) record(b *testing.B, name string, start, direct, proxied time.Time) {
	if direct.IsZero() || proxied.IsZero() {
		b.Errorf("%s: not served within 60s (direct %v, proxied %v)", name, !direct.IsZero(), !proxied.IsZero())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served = append(s.served, proxied.Sub(start))
	s.floor = append(s.floor, direct.Sub(start))
	s.behind = append(s.behind, max(proxied.Sub(direct), 0))
	if proxied.After(s.lastServed) {
		s.lastServed = proxied
	}
	if direct.After(s.lastFloor) {
		s.lastFloor = direct
	}
}

// ended closes a burst that began at t0 and caused reloads reloads.
func (s *burstStats) ended(t0 time.Time, reloads int) {
	s.all += s.lastServed.Sub(t0)
	s.allFloor += s.lastFloor.Sub(t0)
	s.lastServed, s.lastFloor = time.Time{}, time.Time{}
	s.reloads += reloads
	s.bursts++
}

// report reports the figures bench/burst.sh prints.
func (s *burstStats) report(b *testing.B) {
	b.ReportMetric(percentileMS(s.served, 50), "ms-p50")
	b.ReportMetric(percentileMS(s.served, 90), "ms-p90")
	b.ReportMetric(percentileMS(s.floor, 50), "ms-floor-p50")
	b.ReportMetric(percentileMS(s.floor, 90), "ms-floor-p90")
	b.ReportMetric(percentileMS(s.behind, 90), "ms-behind-floor-p90")
	b.ReportMetric(float64(s.all.Microseconds())/1000/float64(s.bursts), "ms-all-served")
	b.ReportMetric(float64(s.allFloor.Microseconds())/1000/float64(s.bursts), "ms-all-floor")
	b.ReportMetric(float64(s.reloads)/float64(s.bursts), "reloads/burst")
	b.ReportMetric(0, "ns/op")
}

// percentileMS is the p-th percentile of ds (nearest rank), in milliseconds.
func percentileMS(ds []time.Duration, p int) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[(len(s)-1)*p/100].Microseconds()) / 1000
}

// removeBurst removes a burst's containers and waits until the config at
// cfg no longer mentions mark.
func removeBurst(b *testing.B, cli *client.Client, ids []string, cfg, mark string) {
	ctx := context.Background()
	for _, id := range ids {
		if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
	}
	dockertest.Poll(b, 60*time.Second, "burst removed from the config", func() error {
		if data, _ := os.ReadFile(cfg); strings.Contains(string(data), mark) {
			return fmt.Errorf("still in the config")
		}
		return nil
	})
	time.Sleep(3 * time.Second)
}

// createBurst creates n test backends (not started) named PREFIX-I,
// answering HTTP on port hp with RPROXY rproxy(name), on network net
// (empty: Docker's default bridge), and lets their create events settle.
func createBurst(b *testing.B, cli *client.Client, img, net, prefix string, n int, hp string, rproxy func(name string) string) (ids, names []string) {
	ids, names = make([]string, n), make([]string, n)
	var host *container.HostConfig
	if net != "" {
		host = &container.HostConfig{NetworkMode: container.NetworkMode(net)}
	}
	for i := range n {
		names[i] = dockertest.UniqueName(fmt.Sprintf("%s-%d", prefix, i))
		c, err := cli.ContainerCreate(context.Background(), &container.Config{Image: img,
			Env:    []string{"NAME=" + names[i], "RPROXY=" + rproxy(names[i]), "HTTP_PORTS=" + hp},
			Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}}, host, nil, nil, names[i])
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	time.Sleep(time.Second) // let the create events settle
	return ids, names
}

// lines counts the lines of a file (0 when it does not exist).
func lines(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "\n")
}

// answerName finds the test backend's name in its answer.
var answerName = regexp.MustCompile(`name=(\S+)`)

// burstReplicas is BenchmarkBurst's replicas=N case.
func burstReplicas(b *testing.B, n int) {
	wait := os.Getenv("BURST_WAIT")
	if wait == "" {
		wait = "100ms:2s"
	}
	e := startBench(b, true, 1, wait)
	ctx := context.Background()
	var st burstStats
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		ids, names := createBurst(b, e.cli, dockertest.TestImage, e.net, fmt.Sprintf("rep%d", iter), n, e.hp,
			func(string) string { return "http://bench.test:" + e.hp })
		before := e.notifies()
		b.StartTimer()

		// The probes: the first time each name answered through HAProxy.
		var mu sync.Mutex
		seen := map[string]time.Time{}
		probes := make([]*http.Client, 8)
		for i := range probes {
			probes[i] = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
		}
		tr := startTraffic(e.front, "bench.test", probes, time.Millisecond, func(a answer) {
			if a.err != nil {
				return
			}
			at := time.Now()
			if m := answerName.FindSubmatch(a.body); m != nil {
				mu.Lock()
				if _, ok := seen[string(m[1])]; !ok {
					seen[string(m[1])] = at
				}
				mu.Unlock()
			}
		})

		t0 := time.Now()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := e.cli.ContainerStart(ctx, ids[i], container.StartOptions{}); err != nil {
					b.Error(err)
					return
				}
				start := time.Now()
				ip := dockertest.IP(b, e.cli, ids[i], e.net)
				var direct time.Time
				deadline := start.Add(60 * time.Second)
				for direct.IsZero() && time.Now().Before(deadline) {
					if code, body, err := proxytest.Get(ip+":"+e.hp, "bench.test", "/"); err == nil && code == 200 && strings.Contains(body, "name="+names[i]+" ") {
						direct = time.Now()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				var proxied time.Time
				for time.Now().Before(deadline) {
					mu.Lock()
					proxied = seen[names[i]]
					mu.Unlock()
					if !proxied.IsZero() {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				st.record(b, names[i], start, direct, proxied)
			})
		}
		wg.Wait()
		tr.end()
		b.StopTimer()
		if b.Failed() {
			b.FailNow()
		}
		time.Sleep(3 * time.Second) // trailing renders and reloads of the burst
		st.ended(t0, e.notifies()-before)
		removeBurst(b, e.cli, ids, e.cfg, fmt.Sprintf("rep%d-", iter))
		b.StartTimer()
	}
	b.StopTimer()
	st.report(b)
}
