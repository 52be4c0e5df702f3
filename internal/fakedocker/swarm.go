package fakedocker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
)

// ServiceSpec describes a Swarm service for AddService. The zero value is
// one replica of nginx:latest named "service-N" on no network.
type ServiceSpec struct {
	// Name of the service; "service-N" when empty.
	Name string
	// Image of the tasks; "nginx:latest" when empty.
	Image string
	// Replicas of a replicated service; 0 means 1 (ScaleService(id, 0)
	// scales to none).
	Replicas int
	// Global makes one task per ready, active node (Replicas is ignored).
	Global bool
	// Labels are the service's labels (Spec.Labels), where Swarm services
	// carry their configuration.
	Labels map[string]string
	// ContainerLabels are the labels of the task containers.
	ContainerLabels map[string]string
	// Env holds KEY=value entries of the task containers.
	Env []string
	// Networks are overlay networks by name, created on first use with a
	// 10.N.0.0/16 subnet. Tasks get an address on each.
	Networks []string
	// Ports are published ports: the service gets a virtual IP on the
	// "ingress" network and its tasks an address there too.
	Ports []swarm.PortConfig
	// TaskState is the state new tasks are created in; "running" when empty.
	TaskState swarm.TaskState
}

// NodeSpec describes a Swarm node for AddNode. The zero value is a ready,
// active worker named "node-N".
type NodeSpec struct {
	// Hostname of the node; "node-N" when empty.
	Hostname string
	// Role is "worker" (default) or "manager".
	Role swarm.NodeRole
	// Availability is "active" (default), "pause" or "drain".
	Availability swarm.NodeAvailability
	// State is "ready" (default), "down", "unknown" or "disconnected".
	State swarm.NodeState
	// Addr is the node's address; 192.168.65.N when empty.
	Addr string
	// Labels are the node's labels (Spec.Labels, filter "node.label").
	Labels map[string]string
	// EngineLabels are the node's engine labels (filter "label").
	EngineLabels map[string]string
}

// Service is a handle on a Swarm service of an Engine.
type Service struct {
	// ID is the full service ID.
	ID string
	e  *Engine
}

// Inspect returns a copy of the service as the API shows it.
func (s *Service) Inspect() swarm.Service {
	s.e.helper()
	return s.e.Service(s.ID)
}

// Tasks returns copies of the service's tasks (all states), oldest first.
func (s *Service) Tasks() []swarm.Task {
	s.e.helper()
	return s.e.Tasks(s.ID)
}

// service is the Engine's record of one service.
type service struct {
	s         swarm.Service
	tasks     []string // task IDs, oldest first
	taskState swarm.TaskState
}

// overlay is a swarm-scoped network and its address pool.
type overlay struct {
	net    swarm.Network
	prefix string // "10.1."
	next   int
}

func swarmID() string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 25)
	for i := range b {
		b[i] = digits[rand.IntN(len(digits))]
	}
	return string(b)
}

// clone deep-copies v through JSON, the way the API would hand it out.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakedocker: clone %T: %v", v, err))
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("fakedocker: clone %T: %v", v, err))
	}
	return out
}

// initSwarm creates the Engine's own node in Swarm mode.
func (e *Engine) initSwarm() {
	if !e.cfg.swarm {
		return
	}
	role := swarm.NodeRoleManager
	if e.cfg.swarmWorker {
		role = swarm.NodeRoleWorker
	}
	n := e.newNode(NodeSpec{Hostname: e.cfg.hostname, Role: role, Addr: "192.168.65.3"})
	if role == swarm.NodeRoleManager {
		n.ManagerStatus = &swarm.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: "192.168.65.3:2377"}
	}
	e.selfNode = n.ID
	e.nodes[n.ID] = n
	e.nodeOrder = append(e.nodeOrder, n.ID)
}

// NodeID is the ID of the Engine's own Swarm node ("" outside Swarm).
func (e *Engine) NodeID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.selfNode
}

func (e *Engine) newNode(spec NodeSpec) *swarm.Node {
	now := time.Now().UTC()
	e.version++
	idx := len(e.nodes) + 1
	if spec.Hostname == "" {
		spec.Hostname = fmt.Sprintf("node-%d", idx)
	}
	if spec.Role == "" {
		spec.Role = swarm.NodeRoleWorker
	}
	if spec.Availability == "" {
		spec.Availability = swarm.NodeAvailabilityActive
	}
	if spec.State == "" {
		spec.State = swarm.NodeStateReady
	}
	if spec.Addr == "" {
		spec.Addr = fmt.Sprintf("192.168.65.%d", 2+idx)
	}
	return &swarm.Node{
		ID:   swarmID(),
		Meta: swarm.Meta{Version: swarm.Version{Index: e.version}, CreatedAt: now, UpdatedAt: now},
		Spec: swarm.NodeSpec{
			Annotations:  swarm.Annotations{Labels: nonNil(maps.Clone(spec.Labels))},
			Role:         spec.Role,
			Availability: spec.Availability,
		},
		Description: swarm.NodeDescription{
			Hostname: spec.Hostname,
			Platform: swarm.Platform{Architecture: "x86_64", OS: "linux"},
			Engine:   swarm.EngineDescription{EngineVersion: e.cfg.version, Labels: maps.Clone(spec.EngineLabels)},
		},
		Status: swarm.NodeStatus{State: spec.State, Addr: spec.Addr},
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// swarmHelper checks that the Engine is a Swarm manager for a helper.
func (e *Engine) swarmHelper(what string) error {
	if !e.cfg.swarm || e.cfg.swarmWorker {
		return fmt.Errorf("%s: the Engine is not a Swarm manager (use WithSwarm)", what)
	}
	return nil
}

// emitCluster publishes a service or node event (scope "swarm"). e.mu held.
func (e *Engine) emitCluster(typ events.Type, action events.Action, id string, attrs map[string]string, at time.Time) {
	e.publish(events.Message{
		Type:     typ,
		Action:   action,
		Actor:    events.Actor{ID: id, Attributes: attrs},
		Scope:    "swarm",
		Time:     at.Unix(),
		TimeNano: at.UnixNano(),
	})
}

// eventAt is t, moved after the previous event if needed. e.mu held.
func (e *Engine) eventAt(t time.Time) time.Time {
	if t.UnixNano() <= e.lastNano {
		return e.stamp()
	}
	return t
}

// AddNode adds a Swarm node (node event "create") and places the global
// services' tasks on it when it is ready and active. It returns the ID.
func (e *Engine) AddNode(spec NodeSpec) string {
	e.helper()
	e.mu.Lock()
	if err := e.swarmHelper("AddNode"); err != nil {
		e.mu.Unlock()
		e.fail(err)
		return ""
	}
	n := e.newNode(spec)
	e.nodes[n.ID] = n
	e.nodeOrder = append(e.nodeOrder, n.ID)
	e.emitCluster(events.NodeEventType, events.ActionCreate, n.ID, map[string]string{"name": n.Description.Hostname}, e.eventAt(n.CreatedAt))
	for _, id := range slices.Sorted(maps.Keys(e.services)) {
		e.reconcile(e.services[id])
	}
	e.mu.Unlock()
	return n.ID
}

// UpdateNode changes a node with fn (node event "update" with the
// availability, role and state changes as attributes, like the daemon).
func (e *Engine) UpdateNode(ref string, fn func(*swarm.Node)) {
	e.helper()
	e.mu.Lock()
	n, err := e.lookupNode(ref)
	if err != nil {
		e.mu.Unlock()
		e.fail(err)
		return
	}
	old := clone(*n)
	fn(n)
	e.version++
	n.Version.Index = e.version
	n.UpdatedAt = time.Now().UTC()
	attrs := map[string]string{"name": n.Description.Hostname}
	if n.Spec.Annotations.Name != "" {
		attrs["name"] = n.Spec.Annotations.Name
	}
	if n.Spec.Availability != old.Spec.Availability {
		attrs["availability.old"], attrs["availability.new"] = string(old.Spec.Availability), string(n.Spec.Availability)
	}
	if n.Spec.Role != old.Spec.Role {
		attrs["role.old"], attrs["role.new"] = string(old.Spec.Role), string(n.Spec.Role)
	}
	if n.Status.State != old.Status.State {
		attrs["state.old"], attrs["state.new"] = string(old.Status.State), string(n.Status.State)
	}
	e.emitCluster(events.NodeEventType, events.ActionUpdate, n.ID, attrs, e.eventAt(n.UpdatedAt))
	e.mu.Unlock()
}

// SetNodeState sets a node's status ("ready", "down", ...), a node
// "update" event. Tasks are not rescheduled.
func (e *Engine) SetNodeState(ref string, state swarm.NodeState) {
	e.helper()
	e.UpdateNode(ref, func(n *swarm.Node) { n.Status.State = state })
}

// RemoveNode removes a node (node event "remove"); its tasks are shut down.
func (e *Engine) RemoveNode(ref string) {
	e.helper()
	e.mu.Lock()
	n, err := e.lookupNode(ref)
	if err != nil {
		e.mu.Unlock()
		e.fail(err)
		return
	}
	for _, t := range e.tasks {
		if t.NodeID == n.ID && t.DesiredState == swarm.TaskStateRunning {
			e.setTaskState(t, swarm.TaskStateShutdown, swarm.TaskStateShutdown)
		}
	}
	delete(e.nodes, n.ID)
	e.nodeOrder = slices.DeleteFunc(e.nodeOrder, func(id string) bool { return id == n.ID })
	e.emitCluster(events.NodeEventType, events.ActionRemove, n.ID, map[string]string{"name": n.Description.Hostname}, e.stamp())
	e.mu.Unlock()
}

// Node returns a copy of the node ref (ID, name or ID prefix).
func (e *Engine) Node(ref string) swarm.Node {
	e.helper()
	e.mu.Lock()
	n, err := e.lookupNode(ref)
	var out swarm.Node
	if err == nil {
		out = clone(*n)
	}
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
	}
	return out
}

// overlay returns (creating on first use) the overlay network name.
// e.mu held.
func (e *Engine) overlay(name string) *overlay {
	if o, ok := e.overlayNet[name]; ok {
		return o
	}
	idx := 0 // ingress is 10.0.0.0/16, the others 10.1, 10.2, ...
	if name != "ingress" {
		idx = len(e.overlayNet) + 1
		if _, ok := e.overlayNet["ingress"]; ok {
			idx--
		}
	}
	now := time.Now().UTC()
	e.version++
	subnet := fmt.Sprintf("10.%d.0.0/16", idx)
	o := &overlay{prefix: fmt.Sprintf("10.%d.", idx), next: 2, net: swarm.Network{
		ID:   swarmID(),
		Meta: swarm.Meta{Version: swarm.Version{Index: e.version}, CreatedAt: now, UpdatedAt: now},
		Spec: swarm.NetworkSpec{
			Annotations:         swarm.Annotations{Name: name, Labels: map[string]string{}},
			DriverConfiguration: &swarm.Driver{Name: "overlay"},
			Ingress:             name == "ingress",
			IPAMOptions:         &swarm.IPAMOptions{Driver: swarm.Driver{Name: "default"}, Configs: []swarm.IPAMConfig{{Subnet: subnet, Gateway: fmt.Sprintf("10.%d.0.1", idx)}}},
			Scope:               "swarm",
		},
		DriverState: swarm.Driver{Name: "overlay", Options: map[string]string{"com.docker.network.driver.overlay.vxlanid_list": strconv.Itoa(4096 + idx)}},
		IPAMOptions: &swarm.IPAMOptions{Driver: swarm.Driver{Name: "default"}, Configs: []swarm.IPAMConfig{{Subnet: subnet, Gateway: fmt.Sprintf("10.%d.0.1", idx)}}},
	}}
	e.overlayNet[name] = o
	return o
}

// alloc returns the next address of the overlay, with its prefix length.
func (o *overlay) alloc() string {
	for ; ; o.next++ {
		if lo := o.next & 255; lo == 0 || lo == 255 {
			continue
		}
		ip := fmt.Sprintf("%s%d.%d/16", o.prefix, (o.next>>8)&255, o.next&255)
		o.next++
		return ip
	}
}

// overlayByID finds an overlay by ID. e.mu held.
func (e *Engine) overlayByID(id string) *overlay {
	for _, o := range e.overlayNet {
		if o.net.ID == id {
			return o
		}
	}
	return nil
}

// AddService creates a Swarm service (service event "create") and its
// tasks, and returns a handle on it. No task events are sent unless
// WithTaskEvents.
func (e *Engine) AddService(spec ServiceSpec) *Service {
	e.helper()
	e.mu.Lock()
	if err := e.swarmHelper("AddService"); err != nil {
		e.mu.Unlock()
		e.fail(err)
		return nil
	}
	name := spec.Name
	if name == "" {
		name = fmt.Sprintf("service-%d", len(e.services)+1)
	}
	for _, s := range e.services {
		if s.s.Spec.Name == name {
			e.mu.Unlock()
			e.fail(fmt.Errorf("addService: service %q already exists", name))
			return nil
		}
	}
	image := spec.Image
	if image == "" {
		image = "nginx:latest"
	}
	var mode swarm.ServiceMode
	if spec.Global {
		mode.Global = &swarm.GlobalService{}
	} else {
		n := uint64(max(spec.Replicas, 1))
		mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
	}
	var nets []swarm.NetworkAttachmentConfig
	for _, nw := range spec.Networks {
		nets = append(nets, swarm.NetworkAttachmentConfig{Target: e.overlay(nw).net.ID})
	}
	now := time.Now().UTC()
	e.version++
	s := &service{taskState: spec.TaskState, s: swarm.Service{
		ID:   swarmID(),
		Meta: swarm.Meta{Version: swarm.Version{Index: e.version}, CreatedAt: now, UpdatedAt: now},
		Spec: swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: name, Labels: nonNil(maps.Clone(spec.Labels))},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{
					Image:     image,
					Labels:    maps.Clone(spec.ContainerLabels),
					Env:       slices.Clone(spec.Env),
					Isolation: "default",
				},
				Networks:      nets,
				RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
				Placement:     &swarm.Placement{},
				Runtime:       swarm.RuntimeContainer,
				ForceUpdate:   0,
			},
			Mode:         mode,
			EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: slices.Clone(spec.Ports)},
		},
	}}
	if s.taskState == "" {
		s.taskState = swarm.TaskStateRunning
	}
	e.setEndpoint(s, nil)
	e.services[s.s.ID] = s
	e.emitCluster(events.ServiceEventType, events.ActionCreate, s.s.ID, map[string]string{"name": name}, e.eventAt(now))
	e.reconcile(s)
	e.mu.Unlock()
	return &Service{ID: s.s.ID, e: e}
}

// setEndpoint computes the service's Endpoint: published ports and a
// virtual IP per network (ingress first when ports are published), keeping
// the old VIPs. e.mu held.
func (e *Engine) setEndpoint(s *service, old []swarm.EndpointVirtualIP) {
	ep := swarm.Endpoint{}
	if s.s.Spec.EndpointSpec != nil {
		ep.Spec = *s.s.Spec.EndpointSpec
		for i, p := range ep.Spec.Ports {
			if p.PublishedPort == 0 {
				p.PublishedPort = uint32(30000 + len(e.services) + i)
			}
			if p.Protocol == "" {
				p.Protocol = swarm.PortConfigProtocolTCP
			}
			if p.PublishMode == "" {
				p.PublishMode = swarm.PortConfigPublishModeIngress
			}
			ep.Ports = append(ep.Ports, p)
		}
	}
	var netIDs []string
	if len(ep.Ports) > 0 {
		netIDs = append(netIDs, e.overlay("ingress").net.ID)
	}
	for _, n := range s.s.Spec.TaskTemplate.Networks {
		netIDs = append(netIDs, n.Target)
	}
	for _, id := range netIDs {
		addr := ""
		for _, v := range old {
			if v.NetworkID == id {
				addr = v.Addr
			}
		}
		if addr == "" {
			if o := e.overlayByID(id); o != nil {
				addr = o.alloc()
			}
		}
		ep.VirtualIPs = append(ep.VirtualIPs, swarm.EndpointVirtualIP{NetworkID: id, Addr: addr})
	}
	s.s.Endpoint = ep
}

// eligibleNodes are the ready, active nodes, oldest first. e.mu held.
func (e *Engine) eligibleNodes() []*swarm.Node {
	var out []*swarm.Node
	for _, id := range e.nodeOrder {
		n := e.nodes[id]
		if n.Status.State == swarm.NodeStateReady && n.Spec.Availability == swarm.NodeAvailabilityActive {
			out = append(out, n)
		}
	}
	return out
}

// reconcile creates or shuts down tasks so the service has its desired
// number of live tasks (desired state running). e.mu held.
func (e *Engine) reconcile(s *service) {
	nodes := e.eligibleNodes()
	live := map[int]*swarm.Task{}         // slot → task, replicated
	liveNodes := map[string]*swarm.Task{} // node → task, global
	for _, id := range s.tasks {
		t := e.tasks[id]
		if t == nil || t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		if s.s.Spec.Mode.Global != nil {
			liveNodes[t.NodeID] = t
		} else {
			live[t.Slot] = t
		}
	}
	if s.s.Spec.Mode.Global != nil {
		eligible := map[string]bool{}
		for _, n := range nodes {
			eligible[n.ID] = true
			if liveNodes[n.ID] == nil {
				e.newTask(s, 0, n.ID)
			}
		}
		for _, nodeID := range slices.Sorted(maps.Keys(liveNodes)) {
			if !eligible[nodeID] && e.nodes[nodeID] == nil {
				e.setTaskState(liveNodes[nodeID], swarm.TaskStateShutdown, swarm.TaskStateShutdown)
			}
		}
		return
	}
	want := 0
	if r := s.s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		want = int(*r.Replicas)
	}
	for slot := 1; slot <= want; slot++ {
		if live[slot] == nil {
			nodeID := ""
			if len(nodes) > 0 {
				nodeID = nodes[(slot-1)%len(nodes)].ID
			}
			e.newTask(s, slot, nodeID)
		}
	}
	for _, slot := range slices.Sorted(maps.Keys(live)) {
		if slot > want {
			e.setTaskState(live[slot], swarm.TaskStateShutdown, swarm.TaskStateShutdown)
		}
	}
}

var taskMessages = map[swarm.TaskState]string{
	swarm.TaskStateNew: "created", swarm.TaskStatePending: "pending task scheduling",
	swarm.TaskStateAssigned: "scheduler assigned task to node", swarm.TaskStateAccepted: "accepted",
	swarm.TaskStatePreparing: "preparing", swarm.TaskStateReady: "prepared", swarm.TaskStateStarting: "starting",
	swarm.TaskStateRunning: "started", swarm.TaskStateComplete: "finished", swarm.TaskStateShutdown: "shutdown",
	swarm.TaskStateFailed: "task: non-zero exit (1)", swarm.TaskStateRejected: "rejected",
	swarm.TaskStateRemove: "removed", swarm.TaskStateOrphaned: "orphaned",
}

// newTask creates a task of s in the service's task state. e.mu held.
func (e *Engine) newTask(s *service, slot int, nodeID string) *swarm.Task {
	now := time.Now().UTC()
	e.version++
	t := &swarm.Task{
		ID:           swarmID(),
		Meta:         swarm.Meta{Version: swarm.Version{Index: e.version}, CreatedAt: now, UpdatedAt: now},
		Spec:         clone(s.s.Spec.TaskTemplate),
		ServiceID:    s.s.ID,
		Slot:         slot,
		NodeID:       nodeID,
		DesiredState: swarm.TaskStateRunning,
		Status:       swarm.TaskStatus{Timestamp: now, State: s.taskState, Message: taskMessages[s.taskState]},
	}
	if withContainer(s.taskState) {
		t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: randHex(64), PID: 2000 + int(e.version)}
	}
	for _, vip := range s.s.Endpoint.VirtualIPs {
		if o := e.overlayByID(vip.NetworkID); o != nil {
			t.NetworksAttachments = append(t.NetworksAttachments, swarm.NetworkAttachment{Network: clone(o.net), Addresses: []string{o.alloc()}})
		}
	}
	e.tasks[t.ID] = t
	s.tasks = append(s.tasks, t.ID)
	if t.Status.State == swarm.TaskStateRunning {
		e.emitTask(t, "create", nil)
		e.emitTask(t, "start", nil)
	}
	return t
}

// withContainer: a task in this state has a container.
func withContainer(st swarm.TaskState) bool {
	switch st {
	case swarm.TaskStateNew, swarm.TaskStatePending, swarm.TaskStateAssigned, swarm.TaskStateAccepted, swarm.TaskStateRejected:
		return false
	}
	return true
}

func terminal(st swarm.TaskState) bool {
	switch st {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed, swarm.TaskStateRejected,
		swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return true
	}
	return false
}

// setTaskState moves a task to state with desired state desired ("" keeps
// it), sending task container events when enabled. e.mu held.
func (e *Engine) setTaskState(t *swarm.Task, state, desired swarm.TaskState) {
	old := t.Status.State
	now := time.Now().UTC()
	e.version++
	t.Version.Index = e.version
	t.UpdatedAt = now
	t.Status.State = state
	t.Status.Timestamp = now
	t.Status.Message = taskMessages[state]
	if desired != "" {
		t.DesiredState = desired
	}
	if withContainer(state) && t.Status.ContainerStatus == nil {
		t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: randHex(64), PID: 2000 + int(e.version)}
	}
	if cs := t.Status.ContainerStatus; cs != nil && terminal(state) {
		cs.PID = 0
		if state == swarm.TaskStateFailed {
			cs.ExitCode = 1
		}
	}
	switch {
	case state == swarm.TaskStateRunning && old != swarm.TaskStateRunning:
		e.emitTask(t, "start", nil)
	case old == swarm.TaskStateRunning && state != swarm.TaskStateRunning:
		code := 0
		if cs := t.Status.ContainerStatus; cs != nil {
			code = cs.ExitCode
		}
		e.emitTask(t, string(events.ActionDie), map[string]string{"exitCode": strconv.Itoa(code)})
	}
}

// taskName is swarmkit's naming.Task: service.slot.id, or
// service.node.id for a global service's task.
func (e *Engine) taskName(t *swarm.Task) string {
	svc := ""
	if s := e.services[t.ServiceID]; s != nil {
		svc = s.s.Spec.Name
	}
	if t.Slot == 0 {
		return fmt.Sprintf("%s.%s.%s", svc, t.NodeID, t.ID)
	}
	return fmt.Sprintf("%s.%d.%s", svc, t.Slot, t.ID)
}

// emitTask sends the container event the local engine of the task's node
// would send for its container, when WithTaskEvents. e.mu held.
func (e *Engine) emitTask(t *swarm.Task, action string, extra map[string]string) {
	if !e.cfg.taskEvents || t.Status.ContainerStatus == nil {
		return
	}
	if action == string(events.ActionDie) && e.cfg.podman {
		action = "died"
	}
	svc := ""
	if s := e.services[t.ServiceID]; s != nil {
		svc = s.s.Spec.Name
	}
	attrs := map[string]string{}
	maps.Copy(attrs, extra)
	image := ""
	if cs := t.Spec.ContainerSpec; cs != nil {
		maps.Copy(attrs, cs.Labels)
		image = cs.Image
	}
	name := e.taskName(t)
	maps.Copy(attrs, map[string]string{
		"com.docker.swarm.node.id":      t.NodeID,
		"com.docker.swarm.service.id":   t.ServiceID,
		"com.docker.swarm.service.name": svc,
		"com.docker.swarm.task":         "",
		"com.docker.swarm.task.id":      t.ID,
		"com.docker.swarm.task.name":    name,
		"image":                         image,
		"name":                          name,
	})
	id := t.Status.ContainerStatus.ContainerID
	e.publish(events.Message{
		Status: action, ID: id, From: image,
		Type: events.ContainerEventType, Action: events.Action(action),
		Actor: events.Actor{ID: id, Attributes: attrs}, Scope: "local",
	})
}

// UpdateService changes a service's spec with fn, like `docker service
// update`: a service event "update" (attributes replicas.old/new,
// image.old/new, updatestate.old/new as the daemon sends them). A changed
// task template replaces the live tasks (new IDs and addresses) and sends
// a second "update" when the update completes; a label-only change keeps
// the tasks; a replica change scales.
func (e *Engine) UpdateService(ref string, fn func(*swarm.ServiceSpec)) {
	e.helper()
	e.mu.Lock()
	s, err := e.lookupService(ref)
	if err != nil {
		e.mu.Unlock()
		e.fail(err)
		return
	}
	old := clone(s.s)
	spec := clone(s.s.Spec)
	fn(&spec)
	if (spec.Mode.Global == nil) == (spec.Mode.Replicated == nil) {
		e.mu.Unlock()
		e.fail(fmt.Errorf("updateService %s: the mode must be replicated or global", ref))
		return
	}
	now := time.Now().UTC()
	e.version++
	s.s.Spec = spec
	s.s.PreviousSpec = &old.Spec
	s.s.Version.Index = e.version
	s.s.UpdatedAt = now
	e.setEndpoint(s, old.Endpoint.VirtualIPs)

	attrs := map[string]string{"name": spec.Name}
	oldImage, newImage := "", ""
	if old.Spec.TaskTemplate.ContainerSpec != nil {
		oldImage = old.Spec.TaskTemplate.ContainerSpec.Image
	}
	if spec.TaskTemplate.ContainerSpec != nil {
		newImage = spec.TaskTemplate.ContainerSpec.Image
	}
	if oldImage != newImage {
		attrs["image.old"], attrs["image.new"] = oldImage, newImage
	}
	if o, n := old.Spec.Mode.Replicated, spec.Mode.Replicated; o != nil && n != nil && o.Replicas != nil && n.Replicas != nil && *o.Replicas != *n.Replicas {
		attrs["replicas.old"], attrs["replicas.new"] = strconv.FormatUint(*o.Replicas, 10), strconv.FormatUint(*n.Replicas, 10)
	}
	oldTmpl, _ := json.Marshal(old.Spec.TaskTemplate)
	newTmpl, _ := json.Marshal(spec.TaskTemplate)
	rolling := !bytes.Equal(oldTmpl, newTmpl)
	if rolling {
		if old.UpdateStatus != nil && old.UpdateStatus.State != "" {
			attrs["updatestate.old"] = string(old.UpdateStatus.State)
		}
		attrs["updatestate.new"] = string(swarm.UpdateStateUpdating)
		s.s.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateStateUpdating, StartedAt: &now, Message: "update in progress"}
	}
	e.emitCluster(events.ServiceEventType, events.ActionUpdate, s.s.ID, attrs, e.eventAt(now))
	if rolling {
		for _, id := range s.tasks {
			if t := e.tasks[id]; t != nil && t.DesiredState == swarm.TaskStateRunning {
				e.setTaskState(t, swarm.TaskStateShutdown, swarm.TaskStateShutdown)
			}
		}
	}
	e.reconcile(s)
	if rolling {
		done := time.Now().UTC()
		e.version++
		s.s.Version.Index = e.version
		s.s.UpdatedAt = done
		s.s.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateStateCompleted, StartedAt: &now, CompletedAt: &done, Message: "update completed"}
		e.emitCluster(events.ServiceEventType, events.ActionUpdate, s.s.ID, map[string]string{
			"name": spec.Name, "updatestate.old": string(swarm.UpdateStateUpdating), "updatestate.new": string(swarm.UpdateStateCompleted),
		}, e.eventAt(done))
	}
	e.mu.Unlock()
}

// ScaleService sets a replicated service's replica count (UpdateService).
func (e *Engine) ScaleService(ref string, replicas int) {
	e.helper()
	e.mu.Lock()
	s, err := e.lookupService(ref)
	global := err == nil && s.s.Spec.Mode.Replicated == nil
	e.mu.Unlock()
	if global {
		e.fail(fmt.Errorf("scaleService %s: not a replicated service", ref))
		return
	}
	n := uint64(max(replicas, 0))
	e.UpdateService(ref, func(s *swarm.ServiceSpec) { s.Mode.Replicated.Replicas = &n })
}

// RemoveService removes a service and its tasks (service event "remove").
func (e *Engine) RemoveService(ref string) {
	e.helper()
	e.mu.Lock()
	s, err := e.lookupService(ref)
	if err != nil {
		e.mu.Unlock()
		e.fail(err)
		return
	}
	for _, id := range s.tasks {
		if t := e.tasks[id]; t != nil {
			if t.Status.State == swarm.TaskStateRunning {
				e.setTaskState(t, swarm.TaskStateShutdown, swarm.TaskStateShutdown)
			}
			e.emitTask(t, string(events.ActionDestroy), nil)
			delete(e.tasks, id)
		}
	}
	delete(e.services, s.s.ID)
	e.emitCluster(events.ServiceEventType, events.ActionRemove, s.s.ID, map[string]string{"name": s.s.Spec.Name}, e.stamp())
	e.mu.Unlock()
}

// SetTaskState sets a task's observed state ("running", "failed",
// "shutdown", ...) and leaves its desired state alone, like a task dying
// before the orchestrator reacts. No event unless WithTaskEvents: a
// manager sends none.
func (e *Engine) SetTaskState(taskID string, state swarm.TaskState) {
	e.helper()
	if _, ok := taskMessages[state]; !ok {
		e.fail(fmt.Errorf("setTaskState %s: unknown state %q", taskID, state))
		return
	}
	e.mu.Lock()
	t, err := e.lookupTask(taskID)
	if err == nil {
		e.setTaskState(t, state, "")
	}
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
	}
}

// UpdateTask changes a task with fn (no event): e.g. its DesiredState or
// NetworksAttachments.
func (e *Engine) UpdateTask(taskID string, fn func(*swarm.Task)) {
	e.helper()
	e.mu.Lock()
	t, err := e.lookupTask(taskID)
	if err != nil {
		e.mu.Unlock()
		e.fail(err)
		return
	}
	fn(t)
	e.mu.Unlock()
}

// RemoveTask deletes a task, as the task history cleanup does (no event
// unless WithTaskEvents).
func (e *Engine) RemoveTask(taskID string) {
	e.helper()
	e.mu.Lock()
	t, err := e.lookupTask(taskID)
	if err != nil {
		e.mu.Unlock()
		e.fail(err)
		return
	}
	if t.Status.State == swarm.TaskStateRunning {
		e.setTaskState(t, swarm.TaskStateShutdown, swarm.TaskStateShutdown)
	}
	e.emitTask(t, string(events.ActionDestroy), nil)
	delete(e.tasks, t.ID)
	if s := e.services[t.ServiceID]; s != nil {
		s.tasks = slices.DeleteFunc(s.tasks, func(id string) bool { return id == t.ID })
	}
	e.mu.Unlock()
}

// Service returns a copy of the service ref (ID, name or ID prefix).
func (e *Engine) Service(ref string) swarm.Service {
	e.helper()
	e.mu.Lock()
	s, err := e.lookupService(ref)
	var out swarm.Service
	if err == nil {
		out = clone(s.s)
	}
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
	}
	return out
}

// Tasks returns copies of the tasks of service ref (all states), oldest
// first; ref "" means every task.
func (e *Engine) Tasks(ref string) []swarm.Task {
	e.helper()
	e.mu.Lock()
	var ids []string
	if ref == "" {
		ids = e.taskIDsByCreation()
	} else {
		s, err := e.lookupService(ref)
		if err != nil {
			e.mu.Unlock()
			e.fail(err)
			return nil
		}
		ids = s.tasks
	}
	out := make([]swarm.Task, 0, len(ids))
	for _, id := range ids {
		if t := e.tasks[id]; t != nil {
			out = append(out, clone(*t))
		}
	}
	e.mu.Unlock()
	return out
}

// taskIDsByCreation lists every task ID, oldest first. e.mu held.
func (e *Engine) taskIDsByCreation() []string {
	all := slices.Collect(maps.Values(e.tasks))
	slices.SortFunc(all, func(a, b *swarm.Task) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	ids := make([]string, len(all))
	for i, t := range all {
		ids[i] = t.ID
	}
	return ids
}

// lookupService resolves a full ID, an exact name or a unique ID prefix,
// like the daemon's getService. e.mu held.
func (e *Engine) lookupService(ref string) (*service, *apiError) {
	return lookupObject("service", ref, e.services,
		func(s *service) string { return s.s.Spec.Name }, func(s *service) string { return s.s.ID })
}

// lookupNode resolves a node like the daemon's getNode. e.mu held.
func (e *Engine) lookupNode(ref string) (*swarm.Node, *apiError) {
	return lookupObject("node", ref, e.nodes, nodeName, func(n *swarm.Node) string { return n.ID })
}

func nodeName(n *swarm.Node) string {
	if n.Spec.Annotations.Name != "" {
		return n.Spec.Annotations.Name
	}
	return n.Description.Hostname
}

// lookupTask resolves a full task ID, a task name or a unique ID prefix.
// e.mu held.
func (e *Engine) lookupTask(ref string) (*swarm.Task, *apiError) {
	return lookupObject("task", ref, e.tasks, e.taskName, func(t *swarm.Task) string { return t.ID })
}

// lookupObject resolves ref among the objects of one kind (keyed by full
// ID) as the daemon does for services, nodes and tasks: the full ID, else
// an exact name, else a unique ID prefix.
func lookupObject[T any](kind, ref string, all map[string]*T, name, id func(*T) string) (*T, *apiError) {
	if o, ok := all[ref]; ok {
		return o, nil
	}
	var byName, byPrefix []*T
	for _, o := range all {
		if name(o) == ref {
			byName = append(byName, o)
		}
		if strings.HasPrefix(id(o), ref) {
			byPrefix = append(byPrefix, o)
		}
	}
	found := byName
	if len(found) == 0 {
		found = byPrefix
	}
	switch len(found) {
	case 0:
		return nil, errf(http.StatusNotFound, "%s %s not found", kind, ref)
	case 1:
		return found[0], nil
	}
	return nil, errf(http.StatusBadRequest, "%s %s is ambiguous (%d matches found)", kind, ref, len(found))
}
