package source

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Pacing of the converge loop that follows a service after its event (see
// Swarm.Events).
const (
	// DefaultConvergeInterval is how often a service's tasks are re-listed
	// after an event about it, until they match its desired replicas.
	DefaultConvergeInterval = 250 * time.Millisecond
	// DefaultConvergeWindow bounds that re-listing per event; the periodic
	// resync catches what is still moving after it.
	DefaultConvergeWindow = 30 * time.Second
)

// Keys the Swarm source hands to Refresh (through its event channel).
const (
	serviceKey = "service:"
	nodeKey    = "node:"
)

// maxServiceRefresh is the number of services above which Refresh lists
// everything at once instead of service by service.
const maxServiceRefresh = 8

// SwarmState is what a Swarm manager says about its services: the services,
// their tasks whose desired state is running, and the nodes. Live mode lists
// it (ListSwarm); a snapshot holds it. FromSwarm turns it into containers.
type SwarmState struct {
	Services []swarm.Service
	Tasks    []swarm.Task
	Nodes    []swarm.Node
}

// Swarm is the live source of a Swarm manager's services: each running task
// of a service with RPROXY entries is one model.Container. A manager sends
// service and node events but no task events, so after an event about a
// service its tasks are re-listed every Interval until they match the
// service's desired replicas (at most Window long), and the watch loop's
// periodic resync catches the rest (a task dying on another node). A Swarm
// value is not safe for concurrent use, except that Events runs its own
// goroutines, which only read from the daemon.
type Swarm struct {
	cli Client
	log *slog.Logger
	// Interval paces the converge loop; DefaultConvergeInterval when zero.
	Interval time.Duration
	// Window bounds the converge loop per event; DefaultConvergeWindow when
	// zero.
	Window time.Duration

	services map[string]swarm.Service
	tasks    map[string][]swarm.Task // by service ID
	nodes    []swarm.Node
}

// NewSwarm returns a source reading the Swarm whose manager is behind cli.
func NewSwarm(cli Client, log *slog.Logger) *Swarm {
	return &Swarm{cli: cli, log: log, services: map[string]swarm.Service{}, tasks: map[string][]swarm.Task{}}
}

// String names the manager, for logs.
func (s *Swarm) String() string { return "swarm manager " + s.cli.DaemonHost() }

// ListSwarm reads the state FromSwarm needs from a manager: every service,
// every task whose desired state is running, every node. On a daemon that is
// no Swarm manager the error says so.
func ListSwarm(ctx context.Context, cli Client) (*SwarmState, error) {
	services, err := cli.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		return nil, notManager(ctx, cli, fmt.Errorf("list services on %s: %w", cli.DaemonHost(), explain(err, cli.DaemonHost())))
	}
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("desired-state", string(swarm.TaskStateRunning)))})
	if err != nil {
		return nil, fmt.Errorf("list tasks on %s: %w", cli.DaemonHost(), err)
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes on %s: %w", cli.DaemonHost(), err)
	}
	return &SwarmState{Services: services, Tasks: tasks, Nodes: nodes}, nil
}

// notManager explains err when the daemon is no Swarm manager.
func notManager(ctx context.Context, cli Client, err error) error {
	info, ierr := cli.Info(ctx)
	if ierr != nil || info.Swarm.ControlAvailable {
		return err
	}
	state := string(info.Swarm.LocalNodeState)
	if state == "" {
		state = "inactive"
	}
	what := "not in a Swarm"
	if info.Swarm.LocalNodeState == swarm.LocalNodeStateActive {
		what = "a Swarm worker"
	}
	return fmt.Errorf("--swarm needs a Swarm manager, but %s is %s (swarm state %s): point DOCKER_HOST at a manager, "+
		"or run rproxy-gen on one (placement constraint node.role == manager): %w", cli.DaemonHost(), what, state, err)
}

// Sync replaces the view with a full listing of services, tasks and nodes.
func (s *Swarm) Sync(ctx context.Context) error {
	st, err := ListSwarm(ctx, s.cli)
	if err != nil {
		return err
	}
	s.services = make(map[string]swarm.Service, len(st.Services))
	for _, svc := range st.Services {
		s.services[svc.ID] = svc
	}
	s.tasks = make(map[string][]swarm.Task, len(st.Services))
	for _, t := range st.Tasks {
		s.tasks[t.ServiceID] = append(s.tasks[t.ServiceID], t)
	}
	s.nodes = st.Nodes
	return nil
}

// Refresh re-lists what the keys name: a service's tasks ("service:ID"),
// or everything after a node event ("node:ID") or when many services
// changed at once.
func (s *Swarm) Refresh(ctx context.Context, keys []string) error {
	var ids []string
	full := false
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, serviceKey); ok {
			ids = append(ids, id)
		} else {
			full = true
		}
	}
	if full || len(ids) > maxServiceRefresh {
		return s.Sync(ctx)
	}
	for _, id := range ids {
		if err := s.refreshService(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// refreshService re-reads one service and its tasks; a service that is gone
// leaves the view.
func (s *Swarm) refreshService(ctx context.Context, id string) error {
	svc, tasks, err := listService(ctx, s.cli, id)
	if err != nil {
		return err
	}
	if svc == nil {
		delete(s.services, id)
		delete(s.tasks, id)
		return nil
	}
	s.services[id] = *svc
	s.tasks[id] = tasks
	return nil
}

// listService lists one service and its tasks whose desired state is
// running; a nil service means it is gone.
func listService(ctx context.Context, cli Client, id string) (*swarm.Service, []swarm.Task, error) {
	list, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("id", id)), Status: true})
	if err != nil {
		return nil, nil, fmt.Errorf("list service %s on %s: %w", id, cli.DaemonHost(), err)
	}
	var svc *swarm.Service
	for i := range list {
		if list[i].ID == id { // the id filter matches prefixes
			svc = &list[i]
		}
	}
	if svc == nil {
		return nil, nil, nil
	}
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", id), filters.Arg("desired-state", string(swarm.TaskStateRunning)))})
	switch {
	case cerrdefs.IsNotFound(err):
		return nil, nil, nil // removed in between
	case err != nil:
		return nil, nil, fmt.Errorf("list tasks of service %s on %s: %w", svc.Spec.Name, cli.DaemonHost(), err)
	}
	return svc, tasks, nil
}

// State returns the current view as a SwarmState.
func (s *Swarm) State() SwarmState {
	st := SwarmState{Nodes: s.nodes}
	for id, svc := range s.services {
		st.Services = append(st.Services, svc)
		st.Tasks = append(st.Tasks, s.tasks[id]...)
	}
	return st
}

// Containers returns a container per running task of every service with
// RPROXY entries (see FromSwarm).
func (s *Swarm) Containers() []model.Container { return FromSwarm(s.State()) }

// ServiceRProxy is a service's RPROXY value: its container spec's env
// RPROXY, its service label rproxy and its container label rproxy, merged
// (MergeRProxy).
func ServiceRProxy(svc swarm.Service) string {
	env, containerLabel := "", ""
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		env = envValue(cs.Env, EnvVar)
		containerLabel = cs.Labels[Label]
	}
	return MergeRProxy(env, svc.Spec.Labels[Label], containerLabel)
}

// FromSwarm converts Swarm state to containers, one per task that is a
// server of its service: desired and observed state running, on a node that
// is ready (when nodes are known), of a service with RPROXY entries (see
// ServiceRProxy). A task still in state "starting" (Swarm keeps a task
// there until its health check passes) is a container with health status
// "starting", which model.Build lists as excluded; every other state
// (pending, shutting down, failed, ...) leaves the task out.
//
// The container's name is stable across task replacements and unique across
// nodes: SERVICE.SLOT for a replicated service, SERVICE.NODEID for a global
// one (when two tasks share a slot for a moment, during a start-first
// update, the newer gets its short task ID appended). Its creation time is
// the service's, so a service keeps its claim on a port across rolling
// updates. Its networks are the task's network attachments. Live mode and
// snapshot mode both go through here.
func FromSwarm(st SwarmState) []model.Container {
	services := make(map[string]swarm.Service, len(st.Services))
	for _, svc := range st.Services {
		services[svc.ID] = svc
	}
	var ready map[string]bool
	if len(st.Nodes) > 0 {
		ready = make(map[string]bool, len(st.Nodes))
		for _, n := range st.Nodes {
			ready[n.ID] = n.Status.State == swarm.NodeStateReady
		}
	}
	tasks := append([]swarm.Task(nil), st.Tasks...)
	sort.Slice(tasks, func(i, j int) bool {
		a, b := tasks[i], tasks[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	var out []model.Container
	taken := map[string]bool{}
	for _, t := range tasks {
		svc, ok := services[t.ServiceID]
		if !ok || t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		health := ""
		switch t.Status.State {
		case swarm.TaskStateRunning:
		case swarm.TaskStateStarting:
			health = "starting"
		default:
			continue
		}
		if ready != nil && !ready[t.NodeID] {
			continue
		}
		rproxy := ServiceRProxy(svc)
		if rproxy == "" {
			continue
		}
		name := TaskName(svc.Spec.Name, t)
		if taken[name] {
			name += "." + model.ShortID(t.ID)
		}
		taken[name] = true
		id := t.ID
		if cs := t.Status.ContainerStatus; cs != nil && cs.ContainerID != "" {
			id = cs.ContainerID
		}
		c := model.Container{ID: id, Name: name, Created: svc.CreatedAt, Running: true, Health: health, RProxy: rproxy}
		for _, a := range t.NetworksAttachments {
			for _, addr := range a.Addresses {
				ip, _, _ := strings.Cut(addr, "/")
				c.Networks = append(c.Networks, model.Network{Name: a.Network.Spec.Name, IP: ip})
				break // one address per network, as for containers
			}
		}
		out = append(out, c)
	}
	return out
}

// TaskName is the server name of a task: SERVICE.SLOT for a replicated
// service's task, SERVICE.NODEID for a global service's.
func TaskName(service string, t swarm.Task) string {
	if t.Slot > 0 {
		return service + "." + strconv.Itoa(t.Slot)
	}
	return service + "." + t.NodeID
}
