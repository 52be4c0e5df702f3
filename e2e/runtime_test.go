package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/docker/docker/client"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// live is a running `rproxy-gen --watch --haproxy-socket` beside a real
// HAProxy (master-worker, with its master CLI), on a Docker network of its
// own, with a notify that counts the reloads it asks for.
type live struct {
	t                     *testing.T
	cli                   *client.Client
	dir, cfg, net         string
	httpPort, tcpPort     int
	hp                    string // httpPort as text
	front                 string // the http frontend, 127.0.0.1:PORT
	w                     *watcher
	api                   *haproxyapi.Client
	master                *haproxyapi.Master
	notified, metricsAddr string
}

// startLive starts the watcher (with extra arguments) and HAProxy on its
// first render.
func startLive(t *testing.T, extra ...string) *live {
	t.Helper()
	cli := setup(t)
	e := &live{t: t, cli: cli, dir: t.TempDir(), net: dockertest.Network(t, cli)}
	e.cfg = filepath.Join(e.dir, "haproxy.cfg")
	e.httpPort, e.tcpPort = proxytest.FreePort(t), proxytest.FreePort(t)
	e.hp = strconv.Itoa(e.httpPort)
	e.front = "127.0.0.1:" + e.hp
	e.notified = filepath.Join(e.dir, "notified")
	e.metricsAddr = "127.0.0.1:" + strconv.Itoa(proxytest.FreePort(t))
	pidfile := filepath.Join(e.dir, "haproxy.pid")
	sock := filepath.Join(e.dir, "admin.sock")
	args := append([]string{"-o", e.cfg, "--bind", "127.0.0.1", "--stats-addr", "127.0.0.1:" + strconv.Itoa(proxytest.FreePort(t)),
		"--network", e.net, "--haproxy-socket", sock, "--metrics-addr", e.metricsAddr,
		"--check", "haproxy -c -q -f {{.File}}",
		"--notify", "echo reload >> " + e.notified + "; " + proxytest.ReloadCommand(pidfile)}, extra...)
	e.w = startWatch(t, nil, args...)
	waitFile(t, e.cfg, "listen stats", "stats socket "+sock)
	masterSock := filepath.Join(e.dir, "master.sock")
	proxytest.Start(t, e.dir, nil, "sh", "-c", "exec "+proxytest.NeedHAProxy(t)+" -W -db -S "+masterSock+" -f "+e.cfg+" -p "+pidfile+" >> "+e.dir+"/haproxy.log 2>&1")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(e.dir + "/haproxy.log")
			os.WriteFile("/tmp/live-haproxy.log", b, 0o644)
		}
	})
	var err error
	if e.api, err = haproxyapi.New(sock); err != nil {
		t.Fatal(err)
	}
	if e.master, err = haproxyapi.NewMaster(masterSock); err != nil {
		t.Fatal(err)
	}
	dockertest.Poll(t, routeWait, "HAProxy's sockets", func() error {
		if _, err := e.api.ShowInfo(context.Background()); err != nil {
			return err
		}
		_, err := e.master.ShowProc(context.Background())
		return err
	})
	return e
}

// run starts a test backend on the live network answering HTTP on the http
// port (and raw TCP on the tcp port) with RPROXY rproxy.
func (e *live) run(name, rproxy string) dockertest.Container {
	e.t.Helper()
	return dockertest.Run(e.t, e.cli, dockertest.RunOptions{Name: name, Network: e.net,
		Env: []string{"NAME=" + name, "RPROXY=" + rproxy, "HTTP_PORTS=" + e.hp, "TCP_PORTS=" + strconv.Itoa(e.tcpPort)}})
}

// notifies counts the reloads the watcher asked for.
func (e *live) notifies() int {
	b, _ := os.ReadFile(e.notified)
	return strings.Count(string(b), "reload\n")
}

// worker returns the PID of HAProxy's current worker and the number of old
// workers still running.
func (e *live) worker() (pid, old int) {
	e.t.Helper()
	p := e.procs()
	if len(p.Workers) != 1 {
		e.t.Fatalf("show proc: %+v", p)
	}
	return p.Workers[0].PID, len(p.OldWorkers)
}

// procs runs "show proc" on the master CLI, which refuses connections for
// a moment during a reload.
func (e *live) procs() haproxyapi.Procs {
	e.t.Helper()
	var p haproxyapi.Procs
	dockertest.Poll(e.t, 10*time.Second, "show proc", func() (err error) {
		p, err = e.master.ShowProc(context.Background())
		return err
	})
	return p
}

// servers returns HAProxy's servers of every backend as
// "BACKEND/NAME@ADDR:PORT", sorted.
func (e *live) servers() []string {
	e.t.Helper()
	st, err := e.api.ShowServersState(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, s := range st {
		out = append(out, fmt.Sprintf("%s/%s@%s:%d", s.Backend, s.Name, s.Addr, s.Port))
	}
	slices.Sort(out)
	return out
}

// settled waits until the watcher has nothing in flight: no drain under
// way (every server HAProxy has is in the file).
func (e *live) settled() {
	e.t.Helper()
	dockertest.Poll(e.t, routeWait, "drains over", func() error {
		b, err := os.ReadFile(e.cfg)
		if err != nil {
			return err
		}
		for _, s := range e.servers() {
			name := s[strings.Index(s, "/")+1 : strings.Index(s, "@")]
			if !strings.Contains(string(b), "server "+name+" ") {
				return fmt.Errorf("%s still in HAProxy", s)
			}
		}
		return nil
	})
}

// scrape reads the watcher's metrics.
func (e *live) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	resp, err := http.Get("http://" + e.metricsAddr + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatalf("parse metrics: %v\n%s", err, body)
	}
	return fams
}

// metric sums the values of a family's series (a histogram counts its
// samples).
func metric(fams map[string]*dto.MetricFamily, name string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	sum := 0.0
	for _, m := range f.Metric {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// TestRuntimeReplicaChanges: replicas started, stopped, killed and moved to
// another address reach HAProxy over its Runtime API, without a reload: the
// watcher notifies nothing and HAProxy keeps its worker. A reload from the
// file afterwards gives the same servers; a command HAProxy refuses makes
// that render fall back to a reload; the metrics count all of it.
func TestRuntimeReplicaChanges(t *testing.T) {
	e := startLive(t)
	start := time.Now()
	app := "app.test"
	rp := "http://" + app + ":" + e.hp

	// A new route is a new backend: a reload.
	web1 := e.run("web1", rp)
	waitServed(t, "web1", e.front, app, map[string]int{"web1": 1})
	dockertest.Poll(t, routeWait, "first reload done", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	reloads := e.notifies()
	pid, _ := e.worker()
	noReload := func(step string) {
		t.Helper()
		if n := e.notifies(); n != reloads {
			t.Errorf("%s: %d reloads asked, want none", step, n-reloads)
		}
		if now, old := e.worker(); now != pid || old != 0 {
			t.Errorf("%s: HAProxy worker %d (%d old), want still %d: it reloaded", step, now, old, pid)
		}
	}

	web2 := e.run("web2", rp)
	waitServed(t, "web2 started", e.front, app, map[string]int{"web1": 2, "web2": 2})
	noReload("replica started")

	dockertest.Stop(t, e.cli, web2.ID)
	waitServed(t, "web2 stopped", e.front, app, map[string]int{"web1": 3})
	noReload("replica stopped")

	web3 := e.run("web3", rp)
	waitServed(t, "web3 started", e.front, app, map[string]int{"web1": 2, "web3": 2})
	if err := e.cli.ContainerKill(context.Background(), web3.ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitServed(t, "web3 killed", e.front, app, map[string]int{"web1": 3})
	noReload("replica killed")

	// A second replica, so that the route stays while web1 moves.
	web4 := e.run("web4", rp)
	waitServed(t, "web4 started", e.front, app, map[string]int{"web1": 2, "web4": 2})
	noReload("replica started")

	// Move web1 to another address on the network: disconnect it, let a
	// filler take its address, connect it again.
	ctx := context.Background()
	oldIP := dockertest.IP(t, e.cli, web1.ID, e.net)
	filler := dockertest.Run(t, e.cli, dockertest.RunOptions{Name: "filler", Env: []string{"NAME=filler"}})
	if err := e.cli.NetworkDisconnect(ctx, e.net, web1.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.NetworkConnect(ctx, e.net, filler.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.NetworkConnect(ctx, e.net, web1.ID, nil); err != nil {
		t.Fatal(err)
	}
	newIP := dockertest.IP(t, e.cli, web1.ID, e.net)
	if newIP == oldIP {
		t.Fatalf("web1 kept its address %s", oldIP)
	}
	waitFile(t, e.cfg, "server "+web1.Name+" "+newIP+":"+e.hp)
	waitServed(t, "web1 at its new address", e.front, app, map[string]int{"web1": 2, "web4": 2})
	e.settled()
	noReload("address changed")
	if s := strings.Join(e.servers(), " "); !strings.Contains(s, "/"+web1.Name+"@"+newIP+":"+e.hp) {
		t.Errorf("HAProxy's servers %s lack web1 at %s", s, newIP)
	}
	_ = web4

	// After these runtime changes a reload from the file gives the same
	// servers: the file is the truth.
	before := e.servers()
	if _, err := e.master.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if after := e.servers(); !slices.Equal(before, after) {
		t.Errorf("servers before a reload from the file:\n%v\nafter:\n%v", before, after)
	}
	pid, _ = e.worker()
	noReload("after the forced reload") // that reload was the test's, not the watcher's

	// The socket out of reach: the next replica change falls back to a
	// reload, which loads the file. (HAProxy passes the socket itself to
	// the new worker, so its path comes back only when renamed back.)
	sock := filepath.Join(e.dir, "admin.sock")
	if err := os.Rename(sock, sock+".away"); err != nil {
		t.Fatal(err)
	}
	e.run("web5", rp)
	waitServed(t, "web5 after the fallback reload", e.front, app, map[string]int{"web1": 2, "web4": 2, "web5": 2})
	e.w.waitLog("fallback logged", "applying live failed; reloading instead", "admin.sock: connect: no such file")
	if n := e.notifies(); n != reloads+1 {
		t.Errorf("%d reloads asked after the socket went away, want 1", n-reloads)
	}
	if err := os.Rename(sock+".away", sock); err != nil {
		t.Fatal(err)
	}
	dockertest.Poll(t, routeWait, "the socket back, the reload over", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		_, err := e.api.ShowInfo(ctx)
		return err
	})
	pid, _ = e.worker()
	reloads = e.notifies()
	e.run("web6", rp)
	waitServed(t, "web6 started", e.front, app, map[string]int{"web1": 2, "web4": 2, "web5": 2, "web6": 2})
	noReload("replica started after the fallback")

	// The metrics count what happened.
	fams := e.scrape()
	for name, atLeast := range map[string]float64{
		"rproxy_gen_renders_total":                        8,
		"rproxy_gen_runtime_applies_total":                6, // web2 start, stop, web3 start, kill, web4, web1 moved, web6
		"rproxy_gen_runtime_fallbacks_total":              1,
		"rproxy_gen_reloads_total":                        float64(e.notifies()),
		"rproxy_gen_event_to_applied_seconds":             6,
		"rproxy_gen_containers":                           5, // web1, web4, web5, web6, filler
		"rproxy_gen_routes":                               1,
		"rproxy_gen_last_apply_success_timestamp_seconds": float64(start.Unix()),
	} {
		if got := metric(fams, name); got < atLeast {
			t.Errorf("metric %s = %v, want at least %v", name, got, atLeast)
		}
	}
	if got := metric(fams, "rproxy_gen_reloads_total"); got != float64(e.notifies()) {
		t.Errorf("rproxy_gen_reloads_total = %v, but %d notifies ran", got, e.notifies())
	}
	for _, name := range []string{"rproxy_gen_render_failures_total", "rproxy_gen_check_failures_total", "rproxy_gen_docker_reconnects_total"} {
		if got := metric(fams, name); got > 0 {
			t.Errorf("metric %s = %v, want 0", name, got)
		}
	}
}

// TestRuntimeNoFailedRequests keeps a steady load of keep-alive and
// new-connection clients on a route while its replicas come and go
// (started, stopped, killed), all applied over the Runtime API, and then
// while 50 structural changes reload HAProxy: not one request may fail.
func TestRuntimeNoFailedRequests(t *testing.T) {
	e := startLive(t)
	app := "load.test"
	rp := "http://" + app + ":" + e.hp
	replicas := []dockertest.Container{e.run("r0", rp), e.run("r1", rp)}
	waitServed(t, "two replicas", e.front, app, map[string]int{"r0": 2, "r1": 2})
	dockertest.Poll(t, routeWait, "first reloads done", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	reloads := e.notifies()

	l := startLoad(e.front, app)
	ctx := context.Background()
	for i := range 6 {
		c := e.run(fmt.Sprintf("r%d", i+2), rp)
		waitFile(t, e.cfg, "server "+c.Name+" ")
		old := replicas[0]
		replicas = append(replicas[1:], c)
		if i%2 == 0 {
			if err := e.cli.ContainerKill(ctx, old.ID, "KILL"); err != nil {
				t.Fatal(err)
			}
		} else {
			dockertest.Stop(t, e.cli, old.ID)
		}
		dockertest.Poll(t, routeWait, old.Name+" out of the config", func() error {
			if b, _ := os.ReadFile(e.cfg); strings.Contains(string(b), "server "+old.Name+" ") {
				return fmt.Errorf("still there")
			}
			return nil
		})
		time.Sleep(300 * time.Millisecond)
	}
	ok, failed, errs := l.end()
	t.Logf("replica churn: %d requests answered, %d failed", ok, failed)
	if failed > 0 || ok == 0 {
		t.Errorf("replica churn: %d of %d requests failed: %v", failed, ok+failed, errs)
	}
	if n := e.notifies(); n != reloads {
		t.Errorf("replica churn asked %d reloads, want none", n-reloads)
	}

	// 50 structural changes, each a reload: a route comes and goes as its
	// only container is paused and unpaused.
	other := e.run("other", "http://other.test:"+e.hp)
	waitFile(t, e.cfg, "server "+other.Name+" ")
	var pid int
	dockertest.Poll(t, routeWait, "no reload under way", func() error {
		var old int
		if pid, old = e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	l = startLoad(e.front, app)
	for i := range 50 {
		before := e.notifies()
		var err error
		if i%2 == 0 {
			err = e.cli.ContainerPause(ctx, other.ID)
		} else {
			err = e.cli.ContainerUnpause(ctx, other.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		// Each reload completes (a new worker, the old one gone) before the
		// next change: reloads one after the other, not a storm.
		dockertest.Poll(t, routeWait, fmt.Sprintf("reload %d", i+1), func() error {
			if e.notifies() == before {
				return fmt.Errorf("not asked yet")
			}
			if now, old := e.worker(); now == pid || old != 0 {
				return fmt.Errorf("worker %d, %d old", now, old)
			}
			return nil
		})
		pid, _ = e.worker()
	}
	dockertest.Poll(t, routeWait, "last reload done", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	ok, failed, errs = l.end()
	procs := e.procs()
	t.Logf("50 reloads (master reloads %d): %d requests answered, %d failed", procs.Master.Reloads, ok, failed)
	if failed > 0 || ok == 0 {
		t.Errorf("across reloads: %d of %d requests failed: %v", failed, ok+failed, errs)
	}
	if procs.Master.Reloads < 50 {
		t.Errorf("HAProxy reloaded %d times, want at least 50", procs.Master.Reloads)
	}
}

// TestRuntimeStateSurvivesReload: a replica HAProxy found DOWN by its health
// checks is still DOWN right after a reload (rproxy-gen wrote its state to
// the server-state file first), so the new worker sends it no request.
// Without the file HAProxy would take it as UP until its checks failed
// again, for several seconds.
func TestRuntimeStateSurvivesReload(t *testing.T) {
	e := startLive(t)
	rp := "http://state.test:" + e.hp
	e.run("up1", rp)
	down := e.run("down1", rp+"?to=9") // nothing listens on port 9: checks fail
	ctx := context.Background()
	downState := func(sess *haproxyapi.Session) (haproxyapi.ServerState, error) {
		st, err := sess.ShowServersState(ctx, "")
		if err != nil {
			return haproxyapi.ServerState{}, err
		}
		for _, s := range st {
			if s.Name == down.Name {
				return s, nil
			}
		}
		return haproxyapi.ServerState{}, fmt.Errorf("no server %s", down.Name)
	}
	dockertest.Poll(t, routeWait, "down1 DOWN by its checks", func() error {
		sess, err := e.api.Session(ctx)
		if err != nil {
			return err
		}
		defer sess.Close()
		s, err := downState(sess)
		if err == nil && s.OpState != haproxyapi.OpStopped {
			err = fmt.Errorf("op state %d", s.OpState)
		}
		return err
	})
	dockertest.Poll(t, routeWait, "no reload under way", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	pid, _ := e.worker()

	// A new route: rproxy-gen writes the states, then reloads.
	e.run("other", "http://other.test:"+e.hp)
	var newPid int
	dockertest.Poll(t, routeWait, "the reload", func() error {
		if newPid, _ = e.worker(); newPid == pid {
			return fmt.Errorf("still worker %d", pid)
		}
		return nil
	})
	// At once, on the new worker: down1 is DOWN, and gets no request.
	var s haproxyapi.ServerState
	dockertest.Poll(t, 5*time.Second, "the new worker's state", func() error {
		sess, err := e.api.Session(ctx)
		if err != nil {
			return err
		}
		defer sess.Close()
		info, err := sess.ShowInfo(ctx)
		if err != nil {
			return err
		}
		if info.Pid != newPid {
			return fmt.Errorf("the socket reached worker %d, not %d", info.Pid, newPid)
		}
		s, err = downState(sess)
		return err
	})
	if s.OpState != haproxyapi.OpStopped {
		t.Fatalf("down1 after the reload: op state %d, want DOWN (0) from the state file", s.OpState)
	}
	if got := names(e.front, "state.test", 10); got["up1"] != 10 {
		t.Errorf("answers after the reload %v, want up1 only", got)
	}
	st, err := e.api.ShowStat(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range st {
		if x.Name == down.Name && x.Fields["stot"] != "0" {
			t.Errorf("down1 got %s sessions after the reload, want none", x.Fields["stot"])
		}
	}
	data, err := os.ReadFile(filepath.Join(e.dir, "haproxy.state"))
	if err != nil || !strings.Contains(string(data), " "+down.Name+" ") {
		t.Errorf("state file lacks down1: %v\n%s", err, data)
	}
}

// TestRuntimeOldWorkersBounded: with --hard-stop-after, old workers kept
// alive by long-lived tunnels end that long after each reload, however
// many reloads come; their tunnels are cut, the newest one works.
func TestRuntimeOldWorkersBounded(t *testing.T) {
	e := startLive(t, "--hard-stop-after", "2s")
	tp := strconv.Itoa(e.tcpPort)
	// A tcp route to a container that speaks HTTP on that port: a raw
	// connection through HAProxy is a tunnel that stays open.
	dockertest.Run(t, e.cli, dockertest.RunOptions{Name: "tunnel", Network: e.net,
		Env: []string{"NAME=tunnel", "RPROXY=tcp://tunnel:" + tp, "HTTP_PORTS=" + tp}})
	waitFile(t, e.cfg, "hard-stop-after 2s", "frontend tcp")
	addr := "127.0.0.1:" + tp
	open := func() *tunnel {
		t.Helper()
		var tn *tunnel
		dockertest.Poll(t, routeWait, "a tunnel", func() (err error) {
			tn, err = dialTunnel(addr)
			return err
		})
		return tn
	}
	dockertest.Poll(t, routeWait, "no reload under way", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	var tunnels []*tunnel
	ctx := context.Background()
	for range 6 {
		tunnels = append(tunnels, open())
		if _, err := e.master.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	last := open()
	if _, old := e.worker(); old == 0 {
		t.Fatalf("no old worker right after 6 reloads with tunnels open: the tunnels did not hold them")
	}
	dockertest.Poll(t, 15*time.Second, "old workers gone", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	for i, tn := range tunnels {
		if err := tn.roundTrip(); err == nil {
			t.Errorf("tunnel %d through an old worker still works after hard-stop-after", i)
		}
	}
	if err := last.roundTrip(); err != nil {
		t.Errorf("the tunnel through the current worker: %v", err)
	}
}

// tunnel is a raw TCP connection through HAProxy to an HTTP server, kept
// open between requests.
type tunnel struct {
	c  net.Conn
	br *bufio.Reader
}

func dialTunnel(addr string) (*tunnel, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	tn := &tunnel{c: c, br: bufio.NewReader(c)}
	if err := tn.roundTrip(); err != nil {
		c.Close()
		return nil, err
	}
	return tn, nil
}

// roundTrip sends one request on the tunnel and reads its answer.
func (tn *tunnel) roundTrip() error {
	tn.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(tn.c, "GET / HTTP/1.1\r\nHost: tunnel\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(tn.br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestRuntimeSidecar runs rproxy-gen as the sidecar image does
// (unprivileged, user 65534) with the HAProxy socket on a shared
// directory, mounted at the same path in the container as HAProxy (on the
// host) sees it: a new replica is applied from inside the container over
// the socket, without a reload. The sidecar gets the socket's group (root,
// HAProxy's) so that a socket with mode 660 lets it in.
func TestRuntimeSidecar(t *testing.T) {
	cli := setup(t)
	ctx := context.Background()
	tag := "rproxy-gen:e2e-live-" + strconv.Itoa(os.Getpid())
	buildSidecarImage(t, cli, tag)
	dir, err := os.MkdirTemp("", "rpg-sidecar-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil { // the image's user writes there
		t.Fatal(err)
	}
	netName := dockertest.Network(t, cli)
	hp := strconv.Itoa(proxytest.FreePort(t))
	cfg, sock := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "admin.sock")
	dockerSock := strings.TrimPrefix(cli.DaemonHost(), "unix://")
	var st syscall.Stat_t
	if err := syscall.Stat(dockerSock, &st); err != nil {
		t.Fatalf("the sidecar test needs a local unix socket: %v", err)
	}
	name := dockertest.UniqueName("sidecar")
	id := dockertest.StartContainer(t, cli, name,
		&container.Config{Image: tag,
			Cmd: []string{"--watch", "--wait", "50ms", "-o", cfg, "--network", netName, "--bind", "127.0.0.1",
				"--stats-addr", "127.0.0.1:" + strconv.Itoa(proxytest.FreePort(t)), "--haproxy-socket", sock, "--log-level", "debug"}},
		&container.HostConfig{
			GroupAdd: []string{strconv.Itoa(int(st.Gid)), "0"},
			Mounts: []mount.Mount{
				{Type: mount.TypeBind, Source: dockerSock, Target: "/var/run/docker.sock", ReadOnly: true},
				{Type: mount.TypeBind, Source: dir, Target: dir},
			},
		})
	waitFile(t, cfg, "stats socket "+sock)
	masterSock := filepath.Join(dir, "master.sock")
	proxytest.Start(t, dir, nil, proxytest.NeedHAProxy(t), "-W", "-db", "-S", masterSock, "-f", cfg)
	master, err := haproxyapi.NewMaster(masterSock)
	if err != nil {
		t.Fatal(err)
	}
	procs := func() haproxyapi.Procs {
		var p haproxyapi.Procs
		dockertest.Poll(t, routeWait, "show proc", func() (err error) {
			p, err = master.ShowProc(ctx)
			return err
		})
		return p
	}
	procs()

	// A new route: the sidecar has no notify here, so the test reloads.
	rp := "http://sidecar.test:" + hp
	run := func(n string) dockertest.Container {
		return dockertest.Run(t, cli, dockertest.RunOptions{Name: n, Network: netName, Env: []string{"NAME=" + n, "RPROXY=" + rp, "HTTP_PORTS=" + hp}})
	}
	web1 := run("web1")
	waitFile(t, cfg, "server "+web1.Name+" ")
	if _, err := master.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	front := "127.0.0.1:" + hp
	waitServed(t, "web1", front, "sidecar.test", map[string]int{"web1": 1})
	before := procs()

	// A replica: applied from inside the container over the socket.
	run("web2")
	waitServed(t, "web2 applied live by the sidecar", front, "sidecar.test", map[string]int{"web1": 2, "web2": 2})
	after := procs()
	if after.Master.Reloads != before.Master.Reloads || after.Workers[0].PID != before.Workers[0].PID {
		t.Errorf("HAProxy reloaded for the replica: %+v -> %+v", before, after)
	}
	if logs := dockertest.Logs(t, cli, id); !strings.Contains(logs, "applied live, without a reload") {
		t.Errorf("the sidecar did not apply the replica live:\n%s", logs)
	}
}
