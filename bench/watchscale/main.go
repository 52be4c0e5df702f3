// Command watchscale measures rproxy-gen --watch at scale against the fake
// Docker Engine API (internal/fakedocker): N running containers, then E
// events, each a health change of one container (one Docker event that
// changes the output). It prints, for the rproxy-gen process alone (it runs
// as a child process; the fake runs in this one): the time from each event
// to the output written (median, p90), its CPU time per event, its
// inspections per event, and its resident memory after the events.
//
// Usage: go run ./bench/watchscale -n 10000 -events 300
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/fsnotify/fsnotify"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
)

func main() {
	n := flag.Int("n", 1000, "running containers")
	events := flag.Int("events", 300, "health events to send, one at a time")
	bin := flag.String("bin", "", "rproxy-gen binary (default: built from this tree)")
	logLevel := flag.String("log-level", "warn", "rproxy-gen's --log-level (its log goes to stderr)")
	flag.Parse()
	if err := run(*n, *events, *bin, *logLevel); err != nil {
		log.Fatal(err)
	}
}

func run(n, events int, bin, logLevel string) error {
	dir, err := os.MkdirTemp("", "watchscale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "rproxy-gen")
		build := exec.Command("go", "build", "-o", bin, "./cmd/rproxy-gen")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	e, err := fakedocker.Start(fakedocker.WithEventLog(0))
	if err != nil {
		return err
	}
	defer e.Close()
	start := time.Now()
	cs := e.AddN(n, func(i int) fakedocker.ContainerSpec {
		return fakedocker.ContainerSpec{
			Name:     fmt.Sprintf("app-%05d", i),
			Env:      []string{"PATH=/bin", fmt.Sprintf("RPROXY=http://app%d.example.com", i/2)},
			Health:   container.Healthy,
			Networks: map[string]string{"bridge": fmt.Sprintf("10.%d.%d.%d", (i+1)>>16&255, (i+1)>>8&255, (i+1)&255)}, // every one valid and distinct
		}
	})
	fmt.Printf("fake engine: %d containers in %v\n", n, time.Since(start).Round(time.Millisecond))

	out := filepath.Join(dir, "haproxy.cfg")
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--watch", "--wait", "0", "-o", out, "--log-level", logLevel)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.Host(), "DOCKER_API_VERSION=")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { // on every return: stop it, then reap it
		cancel()
		cmd.Wait()
	}()
	written := func(timeout time.Duration) error {
		deadline := time.After(timeout)
		for {
			select {
			case ev := <-w.Events:
				if ev.Name == out && ev.Has(fsnotify.Create) {
					return nil
				}
			case err := <-w.Errors:
				return err
			case <-deadline:
				return fmt.Errorf("no output written within %v", timeout)
			}
		}
	}
	t0 := time.Now()
	if err := written(5 * time.Minute); err != nil {
		return fmt.Errorf("first render: %w", err)
	}
	fmt.Printf("start: first output %v after launch\n", time.Since(t0).Round(time.Millisecond))
	time.Sleep(200 * time.Millisecond) // let the start settle
	cpu0 := cpuTime(cmd.Process.Pid)
	e.ResetCounters()
	lat := make([]time.Duration, 0, events)
	for i := range events {
		c := cs[(i/2*7919)%n] // the same container goes unhealthy, then healthy again
		status := container.Unhealthy
		if i%2 == 1 {
			status = container.Healthy
		}
		t := time.Now()
		e.SetHealth(c.ID, status)
		if err := written(time.Minute); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		lat = append(lat, time.Since(t))
	}
	cpu := cpuTime(cmd.Process.Pid) - cpu0
	rss := rssKB(cmd.Process.Pid)
	slices.Sort(lat)
	inspections := e.Requests(fakedocker.RouteContainerInspect)
	fmt.Printf("containers %d, events %d: event→written median %v, p90 %v, max %v; CPU %.2f ms/event; %.1f inspections/event, %d listings; RSS %d kB after the events\n",
		n, events, lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*9/10].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond),
		float64(cpu.Microseconds())/1000/float64(events), float64(inspections)/float64(events), e.Requests(fakedocker.RouteContainerList), rss)
	return nil
}

// cpuTime is the user+system time the process used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// rssKB is the process's resident memory.
func rssKB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}
