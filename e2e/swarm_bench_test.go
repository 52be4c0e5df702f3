package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/config"
	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// BenchmarkSwarm measures how fast rproxy-gen --watch --swarm follows a
// real two-node Swarm (see TestSwarmTwoNodes), with the default debounce
// (--wait 100ms:2s) and resync period (2s), and HAProxy's Runtime API
// (--haproxy-socket: new tasks of a service are new servers of an existing
// backend, applied without a reload; without it each scale waits for a
// reload, and reloads are paced by --wait's MAX). Run it with bench/swarm.sh (or go test -run '^$' -bench
// BenchmarkSwarm -benchtime 5x ./e2e). Sub-benchmarks, one iteration each:
//
//   - scale/watch: docker service scale 2 → 4. Reported: for each new task,
//     its container running (the task's status time) → its server line in
//     haproxy.cfg ("in-config": detection, debounce, render, haproxy -c,
//     swap) and → first request it answers through HAProxy ("served",
//     applied over the Runtime API); the scale call → the task running ("swarm", Swarm's own
//     scheduling); the scale call → every new task served ("all").
//   - death/watch: the container of a task on the worker is killed (no event
//     reaches the manager) → its server is out of haproxy.cfg ("removed").
//   - scale/poll=15s: the same scale, with rproxy-gen run one-shot every 15s
//     instead (what a 15s poll, Traefik's default for Swarm, gives).
//
// Medians over the iterations of each.
func BenchmarkSwarm(b *testing.B) {
	c := newCluster(b, true, "--wait", "100ms:2s", // the default debounce
		"--haproxy-socket", filepath.Join(b.TempDir(), "admin.sock"))
	web := c.service("web", 2, map[string]string{"rproxy": "http://app.test:" + strconv.Itoa(swarmPort)}, func(s *swarm.ServiceSpec) {
		delay := 8 * time.Second // a killed task comes back after this
		s.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay}
	})
	c.keeper()
	servedOnly(b, c, c.settled(web, "web", 2)...)
	parent := c.tb
	sub := func(name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			c.tb = b
			defer func() { c.tb = parent }()
			f(b)
		})
	}
	sub("scale/watch", func(b *testing.B) { benchScale(b, c, web) })
	sub("death/watch", func(b *testing.B) { benchDeath(b, c, web) })

	c.stopWatch()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cmd := exec.CommandContext(ctx, binary, c.common...)
			cmd.Dir, cmd.Env = c.dir, append(os.Environ(), c.env()...)
			cmd.Run()
			select {
			case <-ctx.Done():
				return
			case <-time.After(15 * time.Second):
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	sub("scale/poll=15s", func(b *testing.B) { benchScale(b, c, web) })
}

// servedOnly waits until HAProxy answers app.test from exactly these tasks.
func servedOnly(tb testing.TB, c *cluster, tasks ...string) {
	tb.Helper()
	want := replicas(2, tasks...)
	dockertest.Poll(tb, 90*time.Second, fmt.Sprintf("served by %v", tasks), func() error {
		if got := names(c.front, "app.test", 2*len(tasks)); !maps.Equal(got, want) {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
}

// prober sends requests through HAProxy in a loop and records when each
// backend name answered first, and when each server name first appeared in
// the config file.
type prober struct {
	mu       sync.Mutex
	first    map[string]time.Time
	inConfig map[string]time.Time
	stop     chan struct{}
	done     chan struct{}
}

func probe(addr, host, cfg string) *prober {
	p := &prober{first: map[string]time.Time{}, inConfig: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			if b, err := os.ReadFile(cfg); err == nil {
				at := time.Now()
				for _, line := range strings.Split(string(b), "\n") {
					if f := strings.Fields(line); len(f) > 2 && f[0] == "server" {
						p.mu.Lock()
						if _, ok := p.inConfig[f[1]]; !ok {
							p.inConfig[f[1]] = at
						}
						p.mu.Unlock()
					}
				}
			}
			code, body, err := proxytest.Get(addr, host, "/")
			at := time.Now()
			if err != nil || code != 200 {
				time.Sleep(time.Millisecond)
				continue
			}
			name := field(body, "name")
			p.mu.Lock()
			if _, ok := p.first[name]; !ok {
				p.first[name] = at
			}
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *prober) firstServed(name string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.first[name]
	return t, ok
}

func (p *prober) firstInConfig(name string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inConfig[name]
}

func (p *prober) close() {
	close(p.stop)
	<-p.done
}

func benchScale(b *testing.B, c *cluster, web string) {
	var served, inConfig, sched, all []time.Duration
	for range b.N {
		before := c.settled(web, "web", 2)
		p := probe(c.front, "app.test", c.cfg)
		start := time.Now()
		c.scale(web, 4)
		running := map[string]time.Time{}
		var fresh []string
		dockertest.Poll(b, 90*time.Second, "new tasks running and served", func() error {
			fresh = nil
			for _, t := range c.tasks(web) {
				name := "web." + strconv.Itoa(t.Slot)
				if slices.Contains(before, name) {
					continue
				}
				fresh = append(fresh, name)
				if t.Status.State == swarm.TaskStateRunning {
					running[name] = t.Status.Timestamp
				}
			}
			if len(fresh) != 2 {
				return fmt.Errorf("%d new tasks", len(fresh))
			}
			for _, name := range fresh {
				if _, ok := p.firstServed(name); !ok || running[name].IsZero() {
					return fmt.Errorf("%s: running %v, served %v", name, !running[name].IsZero(), ok)
				}
			}
			return nil
		})
		p.close()
		var last time.Time
		for _, name := range fresh {
			at, _ := p.firstServed(name)
			served = append(served, at.Sub(running[name]))
			inConfig = append(inConfig, p.firstInConfig(name).Sub(running[name]))
			sched = append(sched, running[name].Sub(start))
			if at.After(last) {
				last = at
			}
		}
		all = append(all, last.Sub(start))
		c.scale(web, 2)
		kept := c.settled(web, "web", 2)
		servedOnly(b, c, kept...)
		dockertest.Poll(b, 90*time.Second, "only the kept tasks in the config", func() error {
			if got := configServers(c.cfg, "web."); !slices.Equal(got, kept) {
				return fmt.Errorf("servers %v", got)
			}
			return nil
		})
	}
	b.ReportMetric(median(inConfig), "in-config-ms")
	b.ReportMetric(median(served), "served-ms")
	b.ReportMetric(median(sched), "swarm-ms")
	b.ReportMetric(median(all), "all-ms")
	b.ReportMetric(0, "ns/op")
}

func benchDeath(b *testing.B, c *cluster, web string) {
	var removed []time.Duration
	for range b.N {
		var victim *swarm.Task
		for _, t := range c.tasks(web) {
			if t.NodeID == c.workerID && t.Status.State == swarm.TaskStateRunning {
				victim = &t
			}
		}
		if victim == nil {
			b.Fatal("no running task on the worker")
		}
		name := "web." + strconv.Itoa(victim.Slot)
		addr := ""
		for _, a := range victim.NetworksAttachments {
			if a.Network.Spec.Name == swarmNet && len(a.Addresses) > 0 {
				addr, _, _ = strings.Cut(a.Addresses[0], "/")
			}
		}
		line := fmt.Sprintf("server %s %s:%d ", name, addr, swarmPort)
		waitFile(b, c.cfg, line)
		start := time.Now()
		if err := c.wcli.ContainerKill(context.Background(), victim.Status.ContainerStatus.ContainerID, "KILL"); err != nil {
			b.Fatal(err)
		}
		for {
			if cfg, _ := os.ReadFile(c.cfg); !strings.Contains(string(cfg), line) {
				break
			}
			if time.Since(start) > 60*time.Second {
				b.Fatalf("%s still in the config after 60s", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		removed = append(removed, time.Since(start))
		// Swarm restarts it after the restart delay; wait for it.
		dockertest.Poll(b, 90*time.Second, name+" back", func() error {
			for _, t := range c.tasks(web) {
				if t.Slot == victim.Slot && t.ID != victim.ID && t.Status.State == swarm.TaskStateRunning {
					return nil
				}
			}
			return fmt.Errorf("%s not replaced yet", name)
		})
		servedOnly(b, c, c.settled(web, "web", 2)...)
	}
	b.ReportMetric(median(removed), "removed-ms")
	b.ReportMetric(float64(config.DefaultSwarmResync.Milliseconds()), "resync-ms")
	b.ReportMetric(0, "ns/op")
}

// configServers lists the server names with prefix in the config file,
// sorted.
func configServers(cfg, prefix string) []string {
	b, _ := os.ReadFile(cfg)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "server" && strings.HasPrefix(f[1], prefix) {
			out = append(out, f[1])
		}
	}
	slices.Sort(out)
	return out
}

// median of ds in milliseconds.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}
