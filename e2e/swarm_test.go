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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// swarmPort is the port the Swarm tests' services listen on and HAProxy
// serves them on; both live in network namespaces of their own, so it
// cannot collide with anything on the host.
const swarmPort = 8080

// swarmNet is the attachable overlay network of the Swarm tests.
const swarmNet = "rpgnet"

// cluster is a real Swarm of one test: a PrivateDaemon as manager
// (optionally with a NetnsDaemon as worker), an attachable overlay network,
// rproxy-gen --watch --swarm on the manager, and HAProxy inside the network
// namespace of a container ("edge") attached to the overlay network, since
// Swarm's virtual IPs do not answer here but task IPs do. The host reaches
// HAProxy on the edge container's bridge address.
type cluster struct {
	tb       testing.TB
	mgr      *dockertest.Daemon
	cli      *client.Client // the manager's
	worker   *dockertest.NetnsDaemon
	wcli     *client.Client
	workerID string
	front    string // edge IP:swarmPort, where HAProxy serves
	dir      string // rproxy-gen's and HAProxy's working directory
	cfg      string
	common   []string // rproxy-gen's arguments in watch and one-shot mode alike
	rpg      *proxytest.Process
}

// newCluster sets the Swarm up; rproxy-gen gets extra arguments args.
func newCluster(tb testing.TB, withWorker bool, args ...string) *cluster {
	tb.Helper()
	haproxy := proxytest.NeedHAProxy(tb)
	c := &cluster{tb: tb, mgr: dockertest.PrivateDaemon(tb)}
	c.cli = c.mgr.Client(tb)
	ip := "127.0.0.1"
	if withWorker {
		c.worker = dockertest.StartNetnsDaemon(tb)
		c.wcli = c.worker.Client(tb)
		ip = c.worker.HostAddr()
	}
	c.mgr.InitSwarm(tb, ip)
	dockertest.BuildTestImage(tb, c.cli)
	if withWorker {
		dockertest.BuildTestImage(tb, c.wcli)
		c.workerID = c.worker.JoinSwarm(tb, c.cli, ip)
	}
	ctx := context.Background()
	if _, err := c.cli.NetworkCreate(ctx, swarmNet, network.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		tb.Fatalf("overlay network: %v", err)
	}
	// The edge container is a plain container with a route too (a label),
	// which keeps HAProxy listening on swarmPort when no service is left.
	edge := dockertest.Run(tb, c.cli, dockertest.RunOptions{Name: "edge", Network: swarmNet, Env: []string{"NAME=edge", "HTTP_PORTS=9999"},
		Labels: map[string]string{"rproxy": "http://edge.test:" + strconv.Itoa(swarmPort) + "?to=9999"}})
	if err := c.cli.NetworkConnect(ctx, "bridge", edge.ID, nil); err != nil {
		tb.Fatalf("connect edge to the bridge: %v", err)
	}
	c.front = dockertest.IP(tb, c.cli, edge.ID, "bridge") + ":" + strconv.Itoa(swarmPort)
	st, err := c.cli.ContainerInspect(ctx, edge.ID)
	if err != nil {
		tb.Fatal(err)
	}

	c.dir = tb.TempDir()
	c.cfg = filepath.Join(c.dir, "haproxy.cfg")
	pidfile := filepath.Join(c.dir, "haproxy.pid")
	c.common = []string{"--swarm", "--network", swarmNet, "-o", c.cfg, "--stats-addr", "127.0.0.1:8404",
		"--check", "haproxy -c -q -f {{.File}}", "--notify", reloadAndWait(pidfile)}
	args = append(append([]string{"--watch", "--wait", "50ms:500ms", "--log-level", "debug"}, c.common...), args...)
	c.rpg = proxytest.Start(tb, c.dir, c.env(), binary, args...)
	tb.Cleanup(c.stopWatch)
	waitFile(tb, c.cfg, "listen stats")
	proxytest.Start(tb, c.dir, nil, "nsenter", "-t", strconv.Itoa(st.State.Pid), "-n", haproxy, "-W", "-db", "-f", c.cfg, "-p", pidfile)
	dockertest.Poll(tb, 30*time.Second, "haproxy pidfile", func() error {
		_, err := os.Stat(pidfile)
		return err
	})
	return c
}

// reloadAndWait is a --notify command that reloads the HAProxy whose master
// PID is in pidfile (nothing before HAProxy wrote it) and returns once the
// new worker runs, at most after 2s. HAProxy 2.6's master ignores a SIGUSR2
// that arrives while it re-executes itself for the previous one (within
// about 0.2s), so a reload signal sent right after another is lost unless
// the notify waits; rproxy-gen's notifier runs one notify at a time.
func reloadAndWait(pidfile string) string {
	return fmt.Sprintf(`test ! -s %[1]s || { p=$(head -n 1 %[1]s); old=$(pgrep -P "$p" | sort -n | tail -n 1); kill -USR2 "$p"; i=0; `+
		`while [ $i -lt 100 ]; do new=$(pgrep -P "$p" | sort -n | tail -n 1); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.02; i=$((i+1)); done; }`, pidfile)
}

// env is rproxy-gen's environment: the manager's socket.
func (c *cluster) env() []string { return []string{"DOCKER_HOST=" + c.mgr.Host()} }

// stopWatch stops rproxy-gen --watch, checking it exits cleanly.
func (c *cluster) stopWatch() {
	if c.rpg.Exited() {
		return
	}
	c.rpg.Signal(syscall.SIGTERM)
	if err := c.rpg.Wait(10 * time.Second); err != nil {
		c.tb.Errorf("rproxy-gen --watch did not exit cleanly on SIGTERM: %v", err)
	}
}

// service creates a replicated service of the test image on the overlay
// network. NAME of each task is SERVICE.SLOT (a Swarm template), the name
// rproxy-gen gives its server. opts change the spec before it is created.
func (c *cluster) service(name string, replicas uint64, labels map[string]string, opts ...func(*swarm.ServiceSpec)) string {
	c.tb.Helper()
	grace := time.Second
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: dockertest.TestImage, StopGracePeriod: &grace,
				Env: []string{"NAME={{.Service.Name}}.{{.Task.Slot}}", "HTTP_PORTS=" + strconv.Itoa(swarmPort)}},
			Networks: []swarm.NetworkAttachmentConfig{{Target: swarmNet}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	for _, o := range opts {
		o(&spec)
	}
	// The API equivalent of docker service create --no-resolve-image: the
	// image is local, no registry is asked.
	resp, err := c.cli.ServiceCreate(context.Background(), spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		c.tb.Fatalf("service create %s: %v", name, err)
	}
	return resp.ID
}

// update changes a service's spec with fn, like docker service update.
func (c *cluster) update(id string, fn func(*swarm.ServiceSpec)) {
	c.tb.Helper()
	ctx := context.Background()
	svc, _, err := c.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		c.tb.Fatal(err)
	}
	fn(&svc.Spec)
	if _, err := c.cli.ServiceUpdate(ctx, id, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
		c.tb.Fatalf("service update: %v", err)
	}
}

// scale sets a service's replicas, like docker service scale.
func (c *cluster) scale(id string, n uint64) {
	c.tb.Helper()
	c.update(id, func(s *swarm.ServiceSpec) { s.Mode.Replicated.Replicas = &n })
}

// tasks lists a service's tasks whose desired state is running.
func (c *cluster) tasks(id string) []swarm.Task {
	c.tb.Helper()
	ts, err := c.cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", id), filters.Arg("desired-state", "running"))})
	if err != nil {
		c.tb.Fatal(err)
	}
	return ts
}

// settled waits until service id has exactly n tasks meant to run, all
// running, and returns their names (SERVICE.SLOT), sorted. Swarm chooses
// which slots a scale-down keeps.
func (c *cluster) settled(id, service string, n int) []string {
	c.tb.Helper()
	var names []string
	dockertest.Poll(c.tb, 90*time.Second, fmt.Sprintf("%d tasks of %s running", n, service), func() error {
		names = nil
		for _, t := range c.tasks(id) {
			if t.Status.State != swarm.TaskStateRunning {
				return fmt.Errorf("task %s is %s", t.ID, t.Status.State)
			}
			names = append(names, service+"."+strconv.Itoa(t.Slot))
		}
		if len(names) != n {
			return fmt.Errorf("%d tasks", len(names))
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// keeper runs a task of a service without routes on every worker, on the
// overlay network: a task that dies on a worker then never takes the
// worker's last endpoint on the network away, which would change the node
// and send a node event; only the resync can see such a death.
func (c *cluster) keeper() {
	c.tb.Helper()
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "keeper"},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: dockertest.TestImage},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: swarmNet}},
			Placement:     &swarm.Placement{Constraints: []string{"node.role == worker"}},
		},
		Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}},
	}
	resp, err := c.cli.ServiceCreate(context.Background(), spec, swarm.ServiceCreateOptions{})
	if err != nil {
		c.tb.Fatalf("service create keeper: %v", err)
	}
	c.settled(resp.ID, "keeper", 1)
}

// taskIDs are the sorted IDs of tasks.
func taskIDs(ts []swarm.Task) []string {
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	slices.Sort(ids)
	return ids
}

// replicas is want for waitServed: each of the names answering n times.
func replicas(n int, names ...string) map[string]int {
	m := map[string]int{}
	for _, name := range names {
		m[name] = n
	}
	return m
}

// waitLogged waits until rproxy-gen logged every one of subs.
func (c *cluster) waitLogged(what string, subs ...string) {
	c.tb.Helper()
	dockertest.Poll(c.tb, 60*time.Second, what, func() error {
		for _, s := range subs {
			if !strings.Contains(c.rpg.Logs.String(), s) {
				return fmt.Errorf("log lacks %q", s)
			}
		}
		return nil
	})
}

// TestSwarmSingleNode: a real single-node Swarm; a service's replicas are
// served round robin through HAProxy on the overlay network, and traffic
// follows scaling, a rolling update, a label-only update (no task restart)
// and the service's removal.
func TestSwarmSingleNode(t *testing.T) {
	c := newCluster(t, false)
	app := "app.test:" + strconv.Itoa(swarmPort)
	web := c.service("web", 3, map[string]string{"rproxy": "http://" + app})
	waitServed(t, "3 replicas round robin", c.front, "app.test", replicas(3, "web.1", "web.2", "web.3"))
	waitServed(t, "a plain container beside the service", c.front, "edge.test", replicas(2, "edge"))

	c.scale(web, 5)
	waitServed(t, "scaled to 5", c.front, "app.test", replicas(2, "web.1", "web.2", "web.3", "web.4", "web.5"))
	c.scale(web, 2)
	kept := c.settled(web, "web", 2)
	waitServed(t, "scaled to 2", c.front, "app.test", replicas(3, kept...))

	// A rolling update (new env, so new tasks one by one): traffic moves to
	// the new tasks. Errors during it are logged, not asserted: a stop-first
	// update stops a task before anything can tell the proxy.
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			sent.Add(1)
			if code, _, err := proxytest.Get(c.front, "app.test", "/"); err != nil || code != 200 {
				failed.Add(1)
			}
		}
	}()
	c.update(web, func(s *swarm.ServiceSpec) {
		s.TaskTemplate.ContainerSpec.Env[0] = "NAME=v2.{{.Task.Slot}}"
	})
	var v2 []string
	for _, name := range kept {
		v2 = append(v2, "v2."+strings.TrimPrefix(name, "web."))
	}
	waitServed(t, "rolling update done", c.front, "app.test", replicas(3, v2...))
	close(stop)
	wg.Wait()
	t.Logf("rolling update: %d of %d requests failed", failed.Load(), sent.Load())

	// A label-only update: a new route, the same tasks.
	before := taskIDs(c.tasks(web))
	c.update(web, func(s *swarm.ServiceSpec) {
		s.Labels["rproxy"] = "http://" + app + ",http://other.test:" + strconv.Itoa(swarmPort)
	})
	waitServed(t, "route added by a label", c.front, "other.test", replicas(2, v2...))
	if after := taskIDs(c.tasks(web)); !slices.Equal(before, after) {
		t.Errorf("a label-only update restarted tasks: %v → %v", before, after)
	}

	// Removed: 503.
	if err := c.cli.ServiceRemove(context.Background(), web); err != nil {
		t.Fatal(err)
	}
	waitServed(t, "service removed", c.front, "app.test", map[string]int{"503": 2})
}

// TestSwarmTwoNodes: a manager and a worker (a dockerd in its own network
// namespace); tasks on the worker are served over the overlay network, and
// a task killed on the worker, which no event reports to the manager,
// leaves the config within the resync period.
func TestSwarmTwoNodes(t *testing.T) {
	c := newCluster(t, true)
	c.keeper()
	app := "app.test:" + strconv.Itoa(swarmPort)
	// No restart: the killed task stays dead.
	web := c.service("web", 4, map[string]string{"rproxy": "http://" + app}, func(s *swarm.ServiceSpec) {
		s.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}
	})
	waitServed(t, "4 replicas on two nodes", c.front, "app.test", replicas(2, "web.1", "web.2", "web.3", "web.4"))
	var remote *swarm.Task
	for _, task := range c.tasks(web) {
		if task.NodeID == c.workerID && task.Status.State == swarm.TaskStateRunning {
			remote = &task
		}
	}
	if remote == nil {
		t.Fatalf("no task runs on the worker %s", c.workerID)
	}
	name := "web." + strconv.Itoa(remote.Slot)
	// Once the converge loop after the service events has settled, only
	// the periodic resync can see the death.
	c.waitLogged("converge settled", `msg="swarm service settled" service=web`)
	line := "server " + name + " "
	if b, _ := os.ReadFile(c.cfg); !strings.Contains(string(b), line) {
		t.Fatalf("%s not in the config:\n%s", name, b)
	}
	killed := time.Now()
	if err := c.wcli.ContainerKill(context.Background(), remote.Status.ContainerStatus.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	dockertest.Poll(t, routeWait, name+" out of the config", func() error {
		if b, _ := os.ReadFile(c.cfg); strings.Contains(string(b), line) {
			return fmt.Errorf("%s still in the config", name)
		}
		return nil
	})
	t.Logf("task %s killed on the worker: out of the config after %v (resync 2s)", name, time.Since(killed).Round(time.Millisecond))
	for _, line := range strings.Split(c.rpg.Logs.String(), "\n") {
		if strings.Contains(line, "servers_removed=") && strings.Contains(line, "/"+name+"@") {
			t.Logf("removed by: %s", line)
		}
	}
	var rest []string
	for _, n := range []string{"web.1", "web.2", "web.3", "web.4"} {
		if n != name {
			rest = append(rest, n)
		}
	}
	waitServed(t, "the others still served", c.front, "app.test", replicas(2, rest...))
	// The worker's other tasks are served too.
	n := 0
	for _, task := range c.tasks(web) {
		if task.NodeID == c.workerID && task.Status.State == swarm.TaskStateRunning {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no running task left on the worker")
	}
}
