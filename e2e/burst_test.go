package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

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
func BenchmarkBurst(b *testing.B) {
	for _, n := range []int{30, 100} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) { burst(b, n) })
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

	var served, floor, behind []time.Duration
	var all, allFloor time.Duration
	var nreloads int
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		// Create every container first: the burst is their starts.
		ids := make([]string, n)
		names := make([]string, n)
		for i := range n {
			names[i] = dockertest.UniqueName(fmt.Sprintf("burst%d-%d", iter, i))
			c, err := cli.ContainerCreate(ctx, &container.Config{Image: img,
				Env:    []string{"NAME=" + names[i], "RPROXY=http://" + names[i] + ".test:" + hp, "HTTP_PORTS=" + hp},
				Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}}, nil, nil, nil, names[i])
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = c.ID
		}
		time.Sleep(time.Second) // let the create events settle
		before := lines(reloads)
		b.StartTimer()

		t0 := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var lastServed, lastFloor time.Time
		for i := range n {
			wg.Go(func() {
				if err := cli.ContainerStart(ctx, ids[i], container.StartOptions{}); err != nil {
					b.Error(err)
					return
				}
				start := time.Now()
				st, err := cli.ContainerInspect(ctx, ids[i])
				if err != nil || st.NetworkSettings == nil || st.NetworkSettings.Networks["bridge"] == nil {
					b.Errorf("%s: no address: %v", names[i], err)
					return
				}
				ip := st.NetworkSettings.Networks["bridge"].IPAddress
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
				if direct.IsZero() || proxied.IsZero() {
					b.Errorf("%s: not served within 60s (direct %v, proxied %v)", names[i], !direct.IsZero(), !proxied.IsZero())
					return
				}
				mu.Lock()
				defer mu.Unlock()
				served = append(served, proxied.Sub(start))
				floor = append(floor, direct.Sub(start))
				behind = append(behind, proxied.Sub(direct))
				if proxied.After(lastServed) {
					lastServed = proxied
				}
				if direct.After(lastFloor) {
					lastFloor = direct
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		if b.Failed() {
			b.FailNow()
		}
		all += lastServed.Sub(t0)
		allFloor += lastFloor.Sub(t0)
		time.Sleep(3 * time.Second) // trailing renders and reloads of the burst
		nreloads += lines(reloads) - before

		// Remove the burst and wait until the config has dropped it.
		for _, id := range ids {
			if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
		}
		dockertest.Poll(b, 60*time.Second, "burst removed from the config", func() error {
			if data, _ := os.ReadFile(cfg); strings.Contains(string(data), "burst") {
				return fmt.Errorf("still in the config")
			}
			return nil
		})
		time.Sleep(3 * time.Second)
		b.StartTimer()
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(v []time.Duration, p int) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return ms(s[min(len(s)*p/100, len(s)-1)])
	}
	b.ReportMetric(pct(served, 50), "ms-p50")
	b.ReportMetric(pct(served, 90), "ms-p90")
	b.ReportMetric(pct(floor, 50), "ms-floor-p50")
	b.ReportMetric(pct(floor, 90), "ms-floor-p90")
	b.ReportMetric(pct(behind, 90), "ms-behind-floor-p90")
	b.ReportMetric(ms(all)/float64(b.N), "ms-all-served")
	b.ReportMetric(ms(allFloor)/float64(b.N), "ms-all-floor")
	b.ReportMetric(float64(nreloads)/float64(b.N), "reloads/burst")
	b.ReportMetric(0, "ns/op")
}

// lines counts the lines of a file (0 when it does not exist).
func lines(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "\n")
}
