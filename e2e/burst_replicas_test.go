package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// BenchmarkBurstReplicas starts N replicas of one existing route together
// (a service scaled up: the change --haproxy-socket applies without a
// reload) under rproxy-gen --watch with the Runtime API, and measures for
// each replica the time from its start (its ContainerStart returning) to
// the first request through HAProxy that it answers, next to Docker's
// floor (the replica answering on its own address), plus HAProxy reloads
// per burst. Eight probes send requests to the route through HAProxy
// throughout the burst and note the first answer of each replica, so with
// round robin over N replicas the figure includes up to one round of
// probes (a few ms at 30 replicas, tens at 100). BURST_WAIT sets --wait
// (default: rproxy-gen's default). Run it with bench/burst.sh.
func BenchmarkBurstReplicas(b *testing.B) {
	for _, n := range []int{30, 100} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) { burstReplicas(b, n) })
	}
}

var answerName = regexp.MustCompile(`name=(\S+)`)

func burstReplicas(b *testing.B, n int) {
	wait := os.Getenv("BURST_WAIT")
	if wait == "" {
		wait = "100ms:2s"
	}
	e := startBench(b, true, 1, wait)
	ctx := context.Background()
	var served, floor, behind []time.Duration
	var all, allFloor time.Duration
	var nreloads int
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		ids := make([]string, n)
		names := make([]string, n)
		for i := range n {
			names[i] = dockertest.UniqueName(fmt.Sprintf("rep%d-%d", iter, i))
			c, err := e.cli.ContainerCreate(ctx, &container.Config{Image: dockertest.TestImage,
				Env:    []string{"NAME=" + names[i], "RPROXY=http://bench.test:" + e.hp, "HTTP_PORTS=" + e.hp},
				Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}},
				&container.HostConfig{NetworkMode: container.NetworkMode(e.net)}, nil, nil, names[i])
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = c.ID
		}
		time.Sleep(time.Second) // let the create events settle
		before := e.notifies()
		b.StartTimer()

		// The probes: the first time each name answered through HAProxy.
		var mu sync.Mutex
		seen := map[string]time.Time{}
		done := make(chan struct{})
		var probes sync.WaitGroup
		for range 8 {
			probes.Go(func() {
				client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
				defer client.CloseIdleConnections()
				for {
					select {
					case <-done:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, "http://"+e.front+"/", nil)
					req.Host = "bench.test"
					resp, err := client.Do(req)
					if err != nil {
						time.Sleep(time.Millisecond)
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					at := time.Now()
					if m := answerName.FindSubmatch(body); m != nil {
						mu.Lock()
						if _, ok := seen[string(m[1])]; !ok {
							seen[string(m[1])] = at
						}
						mu.Unlock()
					}
					time.Sleep(time.Millisecond)
				}
			})
		}

		t0 := time.Now()
		var wg sync.WaitGroup
		var lastServed, lastFloor time.Time
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
				if direct.IsZero() || proxied.IsZero() {
					b.Errorf("%s: not served within 60s (direct %v, proxied %v)", names[i], !direct.IsZero(), !proxied.IsZero())
					return
				}
				mu.Lock()
				defer mu.Unlock()
				served = append(served, proxied.Sub(start))
				floor = append(floor, direct.Sub(start))
				behind = append(behind, max(proxied.Sub(direct), 0))
				if proxied.After(lastServed) {
					lastServed = proxied
				}
				if direct.After(lastFloor) {
					lastFloor = direct
				}
			})
		}
		wg.Wait()
		close(done)
		probes.Wait()
		b.StopTimer()
		if b.Failed() {
			b.FailNow()
		}
		all += lastServed.Sub(t0)
		allFloor += lastFloor.Sub(t0)
		time.Sleep(3 * time.Second) // trailing renders and reloads of the burst
		nreloads += e.notifies() - before

		for _, id := range ids {
			if err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
		}
		dockertest.Poll(b, 60*time.Second, "burst removed from the config", func() error {
			if data, _ := os.ReadFile(e.cfg); strings.Contains(string(data), fmt.Sprintf("rep%d-", iter)) {
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
