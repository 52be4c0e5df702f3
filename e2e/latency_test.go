package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// BenchmarkEventToRoute measures, per iteration, the time from starting a
// container with RPROXY to the first successful request through HAProxy:
// the Docker event, the debounce (the default --wait 100ms:2s), inspect,
// render, `haproxy -c`, the atomic swap and the HAProxy reload by --notify.
// It reports the median and the 90th percentile. Run it with
// bench/latency.sh (or go test -run '^$' -bench EventToRoute -benchtime 20x ./e2e).
// Sub-benchmarks: the default debounce, no debounce (--wait 0), and the
// baseline "direct": start → first answer from the container itself, no
// proxy, which is Docker's share of the figure.
func BenchmarkEventToRoute(b *testing.B) {
	b.Run("wait=100ms:2s", func(b *testing.B) { eventToRoute(b, "100ms:2s", false) })
	b.Run("wait=0", func(b *testing.B) { eventToRoute(b, "0", false) })
	b.Run("direct", func(b *testing.B) { eventToRoute(b, "0", true) })
}

func eventToRoute(b *testing.B, wait string, direct bool) {
	proxytest.NeedHAProxy(b)
	cli := dockertest.Connect(b)
	img := dockertest.BuildTestImage(b, cli)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	pidfile := filepath.Join(dir, "haproxy.pid")
	port, statsPort := proxytest.FreePort(b), proxytest.FreePort(b)
	hp := strconv.Itoa(port)
	proxytest.Start(b, dir, nil, binary, "--watch", "--wait", wait, "-o", cfg, "--bind", "127.0.0.1",
		"--stats-addr", "127.0.0.1:"+strconv.Itoa(statsPort), "--check", "haproxy -c -q -f {{.File}}",
		"--notify", proxytest.ReloadCommand(pidfile))
	waitFile(b, cfg, "listen stats")
	proxytest.StartHAProxy(b, cfg, pidfile)

	ctx := context.Background()
	front := "127.0.0.1:" + hp
	var samples []time.Duration
	b.ResetTimer()
	for i := range b.N {
		host := fmt.Sprintf("lat%d.test", i)
		name := dockertest.UniqueName(fmt.Sprintf("lat%d", i))
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: img,
			Env:    []string{"NAME=" + name, "RPROXY=http://" + host + ":" + hp, "HTTP_PORTS=" + hp},
			Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}},
			&container.HostConfig{AutoRemove: false}, nil, nil, name)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}) })
		start := time.Now()
		if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		addr := front
		if direct {
			addr = dockertest.IP(b, cli, c.ID, "") + ":" + hp
		}
		deadline := start.Add(30 * time.Second)
		for {
			code, body, err := proxytest.Get(addr, host, "/")
			if err == nil && code == 200 && field(body, "name") == name {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not routed after 30s (last: %d %q %v)", host, code, body, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(samples[len(samples)/2]), "ms-median")
	b.ReportMetric(ms(samples[len(samples)*9/10]), "ms-p90")
	b.ReportMetric(ms(samples[0]), "ms-min")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWatchMemory churns containers under one watcher (each iteration:
// start a container with RPROXY, wait until it is in the config, remove it,
// wait until it is gone) and reports the watcher's resident memory after a
// warm-up of 20 iterations and at the end: flat memory means the two agree.
// Run it with bench/watch-memory.sh.
func BenchmarkWatchMemory(b *testing.B) {
	cli := dockertest.Connect(b)
	img := dockertest.BuildTestImage(b, cli)
	out := filepath.Join(b.TempDir(), "haproxy.cfg")
	w := proxytest.Start(b, b.TempDir(), nil, binary, "--watch", "--wait", "20ms:200ms", "-o", out)
	waitFile(b, out, "listen stats")
	ctx := context.Background()
	var warm int
	for i := range b.N {
		name := dockertest.UniqueName(fmt.Sprintf("mem%d", i))
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: img,
			Env:    []string{"RPROXY=http://" + name + ".test"},
			Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}}, nil, nil, nil, name)
		if err != nil {
			b.Fatal(err)
		}
		if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		waitFile(b, out, "server "+name+" ")
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		dockertest.Poll(b, 30*time.Second, name+" gone", func() error {
			if b, _ := os.ReadFile(out); strings.Contains(string(b), name) {
				return fmt.Errorf("still in the config")
			}
			return nil
		})
		if i == min(20, b.N-1) {
			warm = rssKB(b, w.Cmd.Process.Pid)
		}
	}
	b.ReportMetric(float64(warm), "kB-rss-warm")
	b.ReportMetric(float64(rssKB(b, w.Cmd.Process.Pid)), "kB-rss-end")
	b.ReportMetric(0, "ns/op")
}

// rssKB reads a process's resident set size from /proc.
func rssKB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
