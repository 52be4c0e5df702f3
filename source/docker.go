package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
)

// DefaultInspectConcurrency bounds how many containers are inspected at once.
const DefaultInspectConcurrency = 16

// Docker is the live source: a Docker client and a cache of the running
// containers by ID, so an event re-inspects only the container it names. A
// Docker value is not safe for concurrent use.
type Docker struct {
	cli         Client
	concurrency int
	cache       map[string]model.Container
	self        []string // networks of the container rproxy-gen runs in
	selfKnown   bool
	selfIDs     func() []string // where this process may run: container IDs or names
	skipTasks   bool
	filter      filters.Args // --filter: only matching containers count
	log         *slog.Logger
}

// NewDocker returns a source reading the daemon behind cli.
func NewDocker(cli Client, log *slog.Logger) *Docker {
	return &Docker{cli: cli, concurrency: DefaultInspectConcurrency, cache: map[string]model.Container{}, selfIDs: selfCandidates, log: log}
}

// SkipSwarmTasks leaves the containers of Swarm tasks (TaskLabel) out of
// Containers: with --swarm they are routed through their services (the
// Swarm source), which must not be counted twice.
func (d *Docker) SkipSwarmTasks() { d.skipTasks = true }

// keep tells whether an inspected container belongs in the cache.
func (d *Docker) keep(c container.InspectResponse, mc model.Container) bool {
	return mc.Running && !(d.skipTasks && IsSwarmTask(c))
}

// String names the daemon, for logs.
func (d *Docker) String() string { return d.cli.DaemonHost() }

// SetFilter makes only the containers that match f count (--filter, see
// ParseFilters): the listing asks the daemon for them, and a container an
// event names is kept only while it still matches. An empty f counts every
// container.
func (d *Docker) SetFilter(f filters.Args) { d.filter = f }

// Daemon describes the daemon for logs: its product and version and the
// API version it speaks, e.g. "Docker Engine 20.10.24 (API 1.41, client
// uses 1.41)". The client's version is the one negotiated with it.
func (d *Docker) Daemon(ctx context.Context) (string, error) {
	v, err := d.cli.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("version of %s: %w", d, explain(err, d.String()))
	}
	product := "Docker Engine"
	for _, c := range v.Components {
		if strings.Contains(c.Name, "Podman") {
			product = c.Name
		}
	}
	return fmt.Sprintf("%s %s (API %s, client uses %s)", product, v.Version, v.APIVersion, d.cli.ClientVersion()), nil
}

// InspectAll lists the running containers (paused ones included) and
// inspects them concurrently, at most DefaultInspectConcurrency at a time. A
// container that vanishes between list and inspect is left out. The result is
// sorted by name, the same structure `docker inspect` prints.
func (d *Docker) InspectAll(ctx context.Context) ([]container.InspectResponse, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{Filters: d.filter})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", d, explain(err, d.String()))
	}
	if err := checkAPIVersion(d.cli.ClientVersion()); err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	res, err := d.inspect(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]container.InspectResponse, 0, len(res))
	for _, r := range res {
		if r != nil {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// inspect inspects ids concurrently; a nil entry means the container is gone.
func (d *Docker) inspect(ctx context.Context, ids []string) ([]*container.InspectResponse, error) {
	out := make([]*container.InspectResponse, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, max(d.concurrency, 1))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := d.cli.ContainerInspect(ctx, id)
			switch {
			case cerrdefs.IsNotFound(err):
			case err != nil:
				errs[i] = fmt.Errorf("inspect %s: %w", model.ShortID(id), err)
			default:
				out[i] = &c
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Sync replaces the cache with a full listing of the daemon's containers.
func (d *Docker) Sync(ctx context.Context) error {
	all, err := d.InspectAll(ctx)
	if err != nil {
		return err
	}
	cache := make(map[string]model.Container, len(all))
	for _, c := range all {
		if mc := FromInspect(c); d.keep(c, mc) {
			cache[mc.ID] = mc
		}
	}
	d.cache = cache
	return nil
}

// Refresh re-inspects only the containers that keys (from Events) name,
// updating the cache: one that is gone, no longer running or (with a
// filter) no longer matching leaves it. A network event about a container
// that is not running (not in the cache) is skipped unless another event
// names it too: if it is starting, its start event follows.
func (d *Docker) Refresh(ctx context.Context, keys []string) error {
	var ids, later []string
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		id, net := strings.CutPrefix(k, netKeyPrefix)
		if _, running := d.cache[id]; net && !running {
			later = append(later, id)
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range later {
		if !seen[id] {
			d.log.Debug("network event of a container that is not running: waiting for its start", "container", model.ShortID(id))
		}
	}
	wanted := ids
	if d.filter.Len() > 0 && len(ids) > 0 {
		var err error
		if wanted, err = d.matching(ctx, ids); err != nil {
			return err
		}
	}
	res, err := d.inspect(ctx, wanted)
	if err != nil {
		return err
	}
	for _, id := range ids {
		delete(d.cache, id)
	}
	for _, r := range res {
		if r == nil {
			continue
		}
		if mc := FromInspect(*r); d.keep(*r, mc) {
			d.cache[mc.ID] = mc
		}
	}
	return nil
}

// matching returns those of ids that match the filter: the daemon lists the
// containers with the filter and these IDs, so the filter means exactly what
// it means to docker ps.
func (d *Docker) matching(ctx context.Context, ids []string) ([]string, error) {
	f := d.filter.Clone()
	for _, id := range ids {
		f.Add("id", id)
	}
	list, err := d.cli.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", d, explain(err, d.String()))
	}
	out := make([]string, 0, len(list))
	for _, id := range ids {
		if slices.ContainsFunc(list, func(c container.Summary) bool { return strings.HasPrefix(c.ID, id) }) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Containers returns the cached running containers in no particular order:
// model.Build puts them in its own order.
func (d *Docker) Containers() []model.Container {
	out := make([]model.Container, 0, len(d.cache))
	for _, c := range d.cache {
		out = append(out, c)
	}
	return out
}

// Events subscribes to the events that can change routing, replaying those
// since the given time (zero: from now on). Each value on the first channel
// names a container to re-inspect (see EventKey). The error channel gets one value
// when the stream ends (the daemon went away, or ctx was cancelled).
// Subscribe before Sync, with since a little before it, so that nothing
// started between the listing and the subscription is missed.
func (d *Docker) Events(ctx context.Context, since time.Time) (<-chan string, <-chan error) {
	opts := eventOptions()
	if !since.IsZero() {
		opts.Since = fmt.Sprint(since.Unix())
	}
	msgs, errs := d.cli.Events(ctx, opts)
	ids := make(chan string, 64)
	done := make(chan error, 1)
	go func() {
		defer close(ids)
		for {
			select {
			case m := <-msgs:
				key := EventKey(m)
				if key == "" {
					continue
				}
				select {
				case ids <- key:
				case <-ctx.Done():
					done <- ctx.Err()
					return
				}
			case err := <-errs:
				done <- fmt.Errorf("docker events on %s: %w", d, explain(err, d.String()))
				return
			}
		}
	}()
	return ids, done
}

// ServiceLabel is the label Swarm puts on a task's container naming its
// service.
const ServiceLabel = "com.docker.swarm.service.name"

// Signal sends sig (e.g. "HUP") to the container called or numbered name.
// When no container has that name, name may be a Swarm service's: then
// every running container of that service on this daemon gets the signal
// (a task's container name changes with every task, its service name does
// not). For a container that is not running, or does not exist (yet:
// compose creates the proxy after the sidecar), the error wraps
// notify.ErrNotRunning.
func (d *Docker) Signal(ctx context.Context, name, sig string) error {
	err := d.cli.ContainerKill(ctx, name, sig)
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) {
		list, lerr := d.cli.ContainerList(ctx, container.ListOptions{
			Filters: filters.NewArgs(filters.Arg("label", ServiceLabel+"="+name)),
		})
		if lerr == nil && len(list) > 0 {
			var errs []error
			for _, c := range list {
				if err := d.cli.ContainerKill(ctx, c.ID, sig); err != nil && !cerrdefs.IsNotFound(err) {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("signal %s to the containers of service %s: %w", sig, name, err)
			}
			return nil
		}
	}
	if cerrdefs.IsConflict(err) || cerrdefs.IsNotFound(err) {
		return fmt.Errorf("signal %s to container %s: %w: %w", sig, name, notify.ErrNotRunning, err)
	}
	return fmt.Errorf("signal %s to container %s: %w", sig, name, err)
}

// containerIDInPath finds a full container ID in a mount path such as
// /var/lib/docker/containers/ID/hostname.
var containerIDInPath = regexp.MustCompile(`/containers/([0-9a-f]{64})/`)

// containerHostname is Docker's default hostname for a container: its ID,
// shortened to 12 characters.
var containerHostname = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

// SelfNetworks returns the networks of the container this process runs in,
// so routes use addresses the proxy beside it can reach; nil when it runs on
// the host (or the container cannot be found). It asks the daemon once and
// remembers the answer.
func (d *Docker) SelfNetworks(ctx context.Context) []string {
	if d.selfKnown {
		return d.self
	}
	for _, id := range d.selfIDs() {
		c, err := d.cli.ContainerInspect(ctx, id)
		if err != nil {
			if !cerrdefs.IsNotFound(err) {
				return nil // the daemon is away: ask again next time
			}
			continue
		}
		if c.NetworkSettings == nil {
			continue
		}
		var nets []string
		for name := range c.NetworkSettings.Networks {
			nets = append(nets, name)
		}
		sort.Strings(nets)
		d.log.Info("running in a container: preferring its networks", "container", strings.TrimPrefix(c.Name, "/"), "networks", nets)
		d.self = nets
		break
	}
	d.selfKnown = true
	return d.self
}

// selfCandidates are the container IDs this process may run in: the one in
// its mount paths (/var/lib/docker/containers/ID/...), and its hostname when
// that looks like Docker's default (the short ID).
func selfCandidates() []string {
	var ids []string
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		if m := containerIDInPath.FindSubmatch(b); m != nil {
			ids = append(ids, string(m[1]))
		}
	}
	if h, err := os.Hostname(); err == nil && containerHostname.MatchString(h) {
		ids = append(ids, h)
	}
	return ids
}
