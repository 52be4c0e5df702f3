package source

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// DefaultInspectConcurrency bounds how many containers are inspected at once.
const DefaultInspectConcurrency = 16

// Docker is the live source: a Docker API client (configured like the docker
// CLI through DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and
// DOCKER_API_VERSION, with the API version negotiated with the daemon) and a
// cache of the running containers by ID, so an event re-inspects only the
// container it names. A Docker value is not safe for concurrent use.
type Docker struct {
	cli         *client.Client
	concurrency int
	cache       map[string]model.Container
}

// NewDocker connects to the daemon the environment names. It does not talk
// to the daemon yet; the first call does (and negotiates the API version).
func NewDocker() (*Docker, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Docker{cli: cli, concurrency: DefaultInspectConcurrency, cache: map[string]model.Container{}}, nil
}

// Close releases the client's connections.
func (d *Docker) Close() error { return d.cli.Close() }

// Host is the daemon address in use, for logs.
func (d *Docker) Host() string { return d.cli.DaemonHost() }

// InspectAll lists the running containers (paused ones included) and
// inspects them concurrently, at most DefaultInspectConcurrency at a time. A
// container that vanishes between list and inspect is left out. The result is
// sorted by name, the same structure `docker inspect` prints.
func (d *Docker) InspectAll(ctx context.Context) ([]container.InspectResponse, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", d.Host(), err)
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
			case errdefs.IsNotFound(err):
			case err != nil:
				errs[i] = fmt.Errorf("inspect %s: %w", shortID(id), err)
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
		if mc := FromInspect(c); mc.Running {
			cache[mc.ID] = mc
		}
	}
	d.cache = cache
	return nil
}

// Refresh re-inspects only the containers named, updating the cache: one that
// is gone or no longer running leaves it.
func (d *Docker) Refresh(ctx context.Context, ids []string) error {
	res, err := d.inspect(ctx, ids)
	if err != nil {
		return err
	}
	for i, r := range res {
		delete(d.cache, ids[i])
		if r == nil {
			continue
		}
		if mc := FromInspect(*r); mc.Running {
			d.cache[mc.ID] = mc
		}
	}
	return nil
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

// routingActions are the container events after which routing may differ.
var routingActions = []string{
	"start", "die", "stop", "kill", "pause", "unpause", "rename", "destroy", "health_status", "update",
}

// EventsSince subscribes to the container and network events that can change
// routing, replaying those since the Unix time since (empty: from now on).
// Each value on the first channel is the ID of a container to re-inspect. The
// error channel gets one value when the stream ends (the daemon went away, or
// ctx was cancelled). Subscribe before Sync, with since a little before it,
// so that nothing started between the listing and the subscription is missed.
func (d *Docker) EventsSince(ctx context.Context, since string) (<-chan string, <-chan error) {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("type", string(events.NetworkEventType)),
	)
	for _, a := range routingActions {
		f.Add("event", a)
	}
	f.Add("event", "connect")
	f.Add("event", "disconnect")
	msgs, errs := d.cli.Events(ctx, events.ListOptions{Filters: f, Since: since})
	ids := make(chan string, 64)
	done := make(chan error, 1)
	go func() {
		defer close(ids)
		for {
			select {
			case m := <-msgs:
				id := EventContainer(m)
				if id == "" {
					continue
				}
				select {
				case ids <- id:
				case <-ctx.Done():
					done <- ctx.Err()
					return
				}
			case err := <-errs:
				done <- fmt.Errorf("docker events on %s: %w", d.Host(), err)
				return
			}
		}
	}()
	return ids, done
}

// EventContainer returns the container ID a routing-relevant event names, or
// "" when the event does not concern routing.
func EventContainer(m events.Message) string {
	switch m.Type {
	case events.ContainerEventType:
		action := string(m.Action)
		for _, a := range routingActions {
			if action == a || strings.HasPrefix(action, a+":") {
				return m.Actor.ID
			}
		}
	case events.NetworkEventType:
		if m.Action == events.ActionConnect || m.Action == events.ActionDisconnect {
			return m.Actor.Attributes["container"]
		}
	}
	return ""
}

// Ping checks that the daemon answers.
func (d *Docker) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker on %s: %w", d.Host(), err)
	}
	return nil
}

// Signal sends sig (e.g. "HUP") to the container called or numbered name.
func (d *Docker) Signal(ctx context.Context, name, sig string) error {
	if err := d.cli.ContainerKill(ctx, name, sig); err != nil {
		return fmt.Errorf("signal %s to container %s: %w", sig, name, err)
	}
	return nil
}

// containerIDInPath finds a full container ID in a mount path such as
// /var/lib/docker/containers/ID/hostname.
var containerIDInPath = regexp.MustCompile(`/containers/([0-9a-f]{64})/`)

// containerHostname is Docker's default hostname for a container: its ID,
// shortened to 12 characters.
var containerHostname = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

// SelfNetworks returns the networks of the container this process runs in,
// so routes use addresses the proxy beside it can reach; nil when it runs on
// the host (or the container cannot be found).
func (d *Docker) SelfNetworks(ctx context.Context, log *slog.Logger) []string {
	var candidates []string
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		if m := containerIDInPath.FindSubmatch(b); m != nil {
			candidates = append(candidates, string(m[1]))
		}
	}
	if h, err := os.Hostname(); err == nil && containerHostname.MatchString(h) {
		candidates = append(candidates, h)
	}
	for _, id := range candidates {
		c, err := d.cli.ContainerInspect(ctx, id)
		if err != nil || c.NetworkSettings == nil {
			continue
		}
		var nets []string
		for name := range c.NetworkSettings.Networks {
			nets = append(nets, name)
		}
		sort.Strings(nets)
		log.Info("running in a container: preferring its networks", "container", strings.TrimPrefix(c.Name, "/"), "networks", nets)
		return nets
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
