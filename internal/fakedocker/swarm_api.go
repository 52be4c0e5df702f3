package fakedocker

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// requireManager answers 503 like a daemon that is no Swarm manager.
// e.mu is not held.
func (e *Engine) requireManager(w http.ResponseWriter) bool {
	switch {
	case !e.cfg.swarm:
		writeError(w, http.StatusServiceUnavailable, `This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`)
		return false
	case e.cfg.swarmWorker:
		writeError(w, http.StatusServiceUnavailable, "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.")
		return false
	}
	return true
}

// parseFilters reads and validates the filters parameter.
func parseFilters(w http.ResponseWriter, r *http.Request, accepted map[string]bool) (filters.Args, bool) {
	f, err := filters.FromJSON(r.Form.Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return f, false
	}
	if err := validateFilters(f, accepted); err != nil {
		writeAPIError(w, err)
		return f, false
	}
	return f, true
}

// hasPrefix: no values, or s starts with one of them (swarmkit's
// filterContainsPrefix).
func hasPrefix(s string, values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		if strings.HasPrefix(s, v) {
			return true
		}
	}
	return false
}

// matchLabels is swarmkit's filterMatchLabels: every "key" or "key=value"
// of values is on labels.
func matchLabels(labels map[string]string, values []string) bool {
	for _, kv := range values {
		k, v, withValue := strings.Cut(kv, "=")
		got, ok := labels[k]
		if !ok || (withValue && v != "" && got != v) {
			return false
		}
	}
	return true
}

func (e *Engine) handleServiceList(w http.ResponseWriter, r *http.Request, _ request) {
	if !e.requireManager(w) {
		return
	}
	f, ok := parseFilters(w, r, map[string]bool{"name": true, "id": true, "label": true, "mode": true, "runtime": true})
	if !ok {
		return
	}
	withStatus := r.Form.Get("status") == "true" || r.Form.Get("status") == "1"
	e.mu.Lock()
	var out []swarm.Service
	for _, id := range slices.Sorted(maps.Keys(e.services)) {
		s := e.services[id]
		mode := "replicated"
		if s.s.Spec.Mode.Global != nil {
			mode = "global"
		}
		if !hasPrefix(s.s.Spec.Name, f.Get("name")) || !hasPrefix(s.s.ID, f.Get("id")) ||
			!matchLabels(s.s.Spec.Labels, f.Get("label")) || (f.Contains("mode") && !f.ExactMatch("mode", mode)) {
			continue
		}
		svc := clone(s.s)
		if withStatus {
			svc.ServiceStatus = e.serviceStatus(s)
		}
		out = append(out, svc)
	}
	e.mu.Unlock()
	if out == nil {
		out = []swarm.Service{}
	}
	writeJSON(w, out)
}

// serviceStatus counts running and desired tasks. e.mu held.
func (e *Engine) serviceStatus(s *service) *swarm.ServiceStatus {
	st := &swarm.ServiceStatus{}
	for _, id := range s.tasks {
		t := e.tasks[id]
		if t == nil {
			continue
		}
		if t.Status.State == swarm.TaskStateRunning {
			st.RunningTasks++
		}
		if s.s.Spec.Mode.Global != nil && t.DesiredState != swarm.TaskStateShutdown {
			st.DesiredTasks++
		}
	}
	if r := s.s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		st.DesiredTasks = *r.Replicas
	}
	return st
}

func (e *Engine) handleServiceInspect(w http.ResponseWriter, _ *http.Request, q request) {
	if !e.requireManager(w) {
		return
	}
	e.mu.Lock()
	s, err := e.lookupService(q.id)
	var svc swarm.Service
	if err == nil {
		svc = clone(s.s)
	}
	e.mu.Unlock()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, svc)
}

func (e *Engine) handleTaskList(w http.ResponseWriter, r *http.Request, _ request) {
	if !e.requireManager(w) {
		return
	}
	f, ok := parseFilters(w, r, map[string]bool{"name": true, "id": true, "label": true, "service": true,
		"node": true, "desired-state": true, "_up-to-date": true, "runtime": true})
	if !ok {
		return
	}
	desired := map[swarm.TaskState]bool{}
	for _, v := range f.Get("desired-state") {
		st := swarm.TaskState(strings.ToLower(v))
		_, ok := taskMessages[st]
		if !ok && v != "" {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("Invalid desired-state filter: '%s'", v))
			return
		}
		desired[st] = true
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	// Like the daemon, resolve service and node references first: an
	// unknown one fails the whole request.
	var candidates []string
	serviceIDs := map[string]bool{}
	for _, ref := range f.Get("service") {
		s, err := e.lookupService(ref)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		serviceIDs[s.s.ID] = true
		candidates = append(candidates, s.tasks...)
	}
	nodeIDs := map[string]bool{}
	for _, ref := range f.Get("node") {
		n, err := e.lookupNode(ref)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		nodeIDs[n.ID] = true
	}
	if len(serviceIDs) == 0 {
		candidates = e.taskIDsByCreation()
	}
	out := []swarm.Task{}
	for _, id := range candidates {
		t := e.tasks[id]
		if t == nil {
			continue
		}
		if len(nodeIDs) > 0 && !nodeIDs[t.NodeID] {
			continue
		}
		if len(desired) > 0 && !desired[t.DesiredState] {
			continue
		}
		if !hasPrefix(t.ID, f.Get("id")) || !hasPrefix(e.taskName(t), f.Get("name")) {
			continue
		}
		if f.Contains("label") {
			s := e.services[t.ServiceID]
			if s == nil || !matchLabels(s.s.Spec.Labels, f.Get("label")) {
				continue
			}
		}
		out = append(out, clone(*t))
	}
	writeJSON(w, out)
}

func (e *Engine) handleTaskInspect(w http.ResponseWriter, _ *http.Request, q request) {
	if !e.requireManager(w) {
		return
	}
	e.mu.Lock()
	t, err := e.lookupTask(q.id)
	var out swarm.Task
	if err == nil {
		out = clone(*t)
	}
	e.mu.Unlock()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, out)
}

func (e *Engine) handleNodeList(w http.ResponseWriter, r *http.Request, _ request) {
	if !e.requireManager(w) {
		return
	}
	f, ok := parseFilters(w, r, map[string]bool{"name": true, "id": true, "label": true, "role": true,
		"membership": true, "node.label": true})
	if !ok {
		return
	}
	for _, v := range f.Get("role") {
		if v != "" && v != "manager" && v != "worker" {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("Invalid role filter: '%s'", v))
			return
		}
	}
	for _, v := range f.Get("membership") {
		if v != "" && v != "accepted" && v != "pending" {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("Invalid membership filter: '%s'", v))
			return
		}
	}
	e.mu.Lock()
	out := []swarm.Node{}
	for _, id := range slices.Sorted(maps.Keys(e.nodes)) {
		n := e.nodes[id]
		if !hasPrefix(nodeName(n), f.Get("name")) || !hasPrefix(n.ID, f.Get("id")) ||
			!matchLabels(n.Description.Engine.Labels, f.Get("label")) ||
			!matchLabels(n.Spec.Labels, f.Get("node.label")) ||
			(f.Contains("role") && !f.ExactMatch("role", string(n.Spec.Role))) ||
			(f.Contains("membership") && !f.ExactMatch("membership", "accepted")) {
			continue
		}
		out = append(out, clone(*n))
	}
	e.mu.Unlock()
	writeJSON(w, out)
}

func (e *Engine) handleNodeInspect(w http.ResponseWriter, _ *http.Request, q request) {
	if !e.requireManager(w) {
		return
	}
	e.mu.Lock()
	n, err := e.lookupNode(q.id)
	var out swarm.Node
	if err == nil {
		out = clone(*n)
	}
	e.mu.Unlock()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, out)
}
