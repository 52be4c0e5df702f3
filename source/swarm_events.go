package source

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// allServices is the converge target that stands for every service (after
// a node event).
const allServices = ""

// Events subscribes to the manager's service and node events, replaying
// those since the given time (zero: from now on). An event's key
// ("service:ID" or "node:ID") goes out at once; then the converge loop
// re-lists the service's tasks (every service's after a node event) every
// Interval, sending the key again whenever they changed, until they match
// the desired replicas and no update is in progress, or Window has passed.
// The error channel gets one value when the stream ends.
func (s *Swarm) Events(ctx context.Context, since time.Time) (<-chan string, <-chan error) {
	opts := events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ServiceEventType)),
		filters.Arg("type", string(events.NodeEventType)),
	)}
	if !since.IsZero() {
		opts.Since = fmt.Sprint(since.Unix())
	}
	msgs, errs := s.cli.Events(ctx, opts)
	keys := make(chan string, 64)
	done := make(chan error, 1)
	triggers := make(chan string, 64)
	c := &converger{cli: s.cli, log: s.log, keys: keys,
		interval: orDefault(s.Interval, DefaultConvergeInterval), window: orDefault(s.Window, DefaultConvergeWindow)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.run(ctx, triggers)
	}()
	go func() {
		defer func() {
			close(triggers)
			wg.Wait()
			close(keys)
		}()
		for {
			select {
			case m := <-msgs:
				key, target, ok := swarmEvent(m)
				if !ok {
					continue
				}
				if !send(ctx, keys, key) {
					done <- ctx.Err()
					return
				}
				select {
				case triggers <- target:
				case <-ctx.Done():
					done <- ctx.Err()
					return
				}
			case err := <-errs:
				done <- fmt.Errorf("docker events on %s: %w", s, explain(err, s.cli.DaemonHost()))
				return
			}
		}
	}()
	return keys, done
}

// swarmEvent returns the refresh key of a service or node event and the
// service the converge loop should follow (allServices for a node).
func swarmEvent(m events.Message) (key, target string, ok bool) {
	if m.Actor.ID == "" {
		return "", "", false
	}
	switch m.Type {
	case events.ServiceEventType:
		return serviceKey + m.Actor.ID, m.Actor.ID, true
	case events.NodeEventType:
		return nodeKey + m.Actor.ID, allServices, true
	}
	return "", "", false
}

func send(ctx context.Context, ch chan<- string, v string) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// converger re-lists services after their events until they settle.
type converger struct {
	cli      Client
	log      *slog.Logger
	keys     chan<- string
	interval time.Duration
	window   time.Duration

	pending map[string]time.Time // service ID (or allServices) → end of its window
	last    map[string]string    // service ID → fingerprint of its tasks at the last round
}

// run follows the targets it is sent until ctx ends or triggers is closed.
func (c *converger) run(ctx context.Context, triggers <-chan string) {
	c.pending, c.last = map[string]time.Time{}, map[string]string{}
	ticker := time.NewTicker(c.interval)
	ticker.Stop()
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case target, ok := <-triggers:
			if !ok {
				return
			}
			if len(c.pending) == 0 {
				ticker.Reset(c.interval)
			}
			c.pending[target] = time.Now().Add(c.window)
			// The next round sends the key again whatever it finds: the
			// refresh after the event may have listed an older state.
			if target == allServices {
				clear(c.last)
			} else {
				delete(c.last, target)
			}
		case <-ticker.C:
			if !c.round(ctx) {
				return
			}
			if len(c.pending) == 0 {
				ticker.Stop()
				clear(c.last)
			}
		}
	}
}

// round lists the pending services once, sends the key of each whose tasks
// changed since the last round, and drops those that have settled or whose
// window is over. It returns false when ctx ended.
func (c *converger) round(ctx context.Context) bool {
	now := time.Now()
	for target, end := range c.pending {
		if now.After(end) {
			delete(c.pending, target)
			c.log.Debug("swarm converge window over; the periodic resync follows on", "service", target)
		}
	}
	if len(c.pending) == 0 {
		return true
	}
	type view struct {
		svc   *swarm.Service
		tasks []swarm.Task
	}
	views := map[string]view{}
	_, all := c.pending[allServices]
	if !all && len(c.pending) == 1 {
		for id := range c.pending {
			svc, tasks, err := listService(ctx, c.cli, id)
			if err != nil {
				c.log.Debug("swarm converge: listing failed; retrying", "service", id, "err", err)
				return ctx.Err() == nil
			}
			views[id] = view{svc, tasks}
		}
	} else {
		services, err := c.cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true})
		if err != nil {
			c.log.Debug("swarm converge: listing services failed; retrying", "err", err)
			return ctx.Err() == nil
		}
		tasks, err := c.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("desired-state", string(swarm.TaskStateRunning)))})
		if err != nil {
			c.log.Debug("swarm converge: listing tasks failed; retrying", "err", err)
			return ctx.Err() == nil
		}
		byService := map[string][]swarm.Task{}
		for _, t := range tasks {
			byService[t.ServiceID] = append(byService[t.ServiceID], t)
		}
		for i := range services {
			if _, ok := c.pending[services[i].ID]; all || ok {
				views[services[i].ID] = view{&services[i], byService[services[i].ID]}
			}
		}
		for id := range c.pending {
			if _, ok := views[id]; !ok && id != allServices {
				views[id] = view{} // gone
			}
		}
		if all {
			for id := range c.last {
				if _, ok := views[id]; !ok {
					views[id] = view{}
				}
			}
		}
	}
	allSettled := true
	for id, v := range views {
		fp := fingerprint(v.svc, v.tasks)
		if prev, ok := c.last[id]; !ok || prev != fp {
			c.last[id] = fp
			if !send(ctx, c.keys, serviceKey+id) {
				return false
			}
		}
		settled := v.svc == nil || converged(*v.svc, v.tasks)
		if end, ok := c.pending[id]; ok && settled {
			delete(c.pending, id)
			c.log.Debug("swarm service settled", "service", serviceName(v.svc, id), "after", time.Since(end.Add(-c.window)).Round(time.Millisecond))
		}
		allSettled = allSettled && settled
	}
	if all && allSettled {
		c.log.Debug("swarm services settled", "after", time.Since(c.pending[allServices].Add(-c.window)).Round(time.Millisecond))
		delete(c.pending, allServices)
	}
	return true
}

// serviceName names a service for logs: its name, or its ID once it is gone.
func serviceName(svc *swarm.Service, id string) string {
	if svc == nil {
		return id
	}
	return svc.Spec.Name
}

// fingerprint sums up what routing depends on in a service's tasks.
func fingerprint(svc *swarm.Service, tasks []swarm.Task) string {
	if svc == nil {
		return "gone"
	}
	parts := make([]string, 0, len(tasks))
	for _, t := range tasks {
		var addrs []string
		for _, a := range t.NetworksAttachments {
			addrs = append(addrs, a.Network.ID+"="+strings.Join(a.Addresses, "+"))
		}
		parts = append(parts, fmt.Sprintf("%s/%s/%s/%s", t.ID, t.Status.State, t.NodeID, strings.Join(addrs, ",")))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// converged tells whether a service has settled: no update in progress, and
// every task meant to run is running, as many as the service wants.
func converged(svc swarm.Service, tasks []swarm.Task) bool {
	if u := svc.UpdateStatus; u != nil && (u.State == swarm.UpdateStateUpdating || u.State == swarm.UpdateStateRollbackStarted) {
		return false
	}
	for _, t := range tasks {
		if t.Status.State != swarm.TaskStateRunning {
			return false
		}
	}
	switch {
	case svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil:
		return uint64(len(tasks)) == *svc.Spec.Mode.Replicated.Replicas
	case svc.ServiceStatus != nil:
		return uint64(len(tasks)) >= svc.ServiceStatus.DesiredTasks
	}
	return true
}
