package fakedocker

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// acceptedPsFilters are the filter keys the daemon accepts on
// /containers/json; the ones this fake does not implement answer 400.
var acceptedPsFilters = map[string]bool{
	"ancestor": true, "before": true, "exited": true, "id": true, "isolation": true, "label": true,
	"name": true, "status": true, "health": true, "since": true, "volume": true, "network": true,
	"is-task": true, "publish": true, "expose": true,
}

var unimplementedPsFilters = []string{"before", "since", "volume", "publish", "expose", "isolation"}

// validateFilters rejects keys outside accepted with Docker 20.10's
// message (newer daemons write "invalid filter").
func validateFilters(f filters.Args, accepted map[string]bool) *apiError {
	for _, k := range f.Keys() {
		if !accepted[k] {
			return errf(http.StatusBadRequest, "Invalid filter '%s'", k)
		}
	}
	return nil
}

// regexMatcher is filters.Args.Match with the patterns compiled once.
type regexMatcher struct {
	set    bool
	values map[string]bool
	res    []*regexp.Regexp
}

func newRegexMatcher(f filters.Args, key string) regexMatcher {
	m := regexMatcher{set: f.Contains(key), values: map[string]bool{}}
	for _, v := range f.Get(key) {
		m.values[v] = true
		if re, err := regexp.Compile(v); err == nil {
			m.res = append(m.res, re)
		}
	}
	return m
}

func (m *regexMatcher) match(s string) bool {
	if !m.set || len(m.values) == 0 || m.values[s] {
		return true
	}
	for _, re := range m.res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func (e *Engine) handleContainerList(w http.ResponseWriter, r *http.Request, _ request) {
	f, err := filters.FromJSON(r.Form.Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := validateFilters(f, acceptedPsFilters); err != nil {
		writeAPIError(w, err)
		return
	}
	for _, k := range unimplementedPsFilters {
		if f.Contains(k) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("fakedocker: filter '%s' is not implemented", k))
			return
		}
	}
	for _, p := range []string{"since", "before"} {
		if r.Form.Get(p) != "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("fakedocker: parameter '%s' is not implemented", p))
			return
		}
	}
	all := r.Form.Get("all") == "1" || r.Form.Get("all") == "true"
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	var exited []int
	for _, v := range f.Get("exited") {
		code, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid filter 'exited=%s'", v))
			return
		}
		exited = append(exited, code)
	}
	for _, v := range f.Get("status") {
		if container.ValidateContainerState(v) != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid filter 'status=%s'", v))
			return
		}
		all = true
	}
	for _, v := range f.Get("health") {
		if container.ValidateHealthStatus(v) != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid filter 'health=%s'", v))
			return
		}
	}
	isTask, err := f.GetBoolOrDefault("is-task", false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	names, ids, statuses := newRegexMatcher(f, "name"), newRegexMatcher(f, "id"), newRegexMatcher(f, "status")

	e.mu.Lock()
	var picked []*ctr
	for _, c := range e.ctrs {
		st := c.resp.State
		if !st.Running && !all && limit <= 0 {
			continue
		}
		if !names.match(c.resp.Name) && !names.match(strings.TrimPrefix(c.resp.Name, "/")) {
			continue
		}
		if !ids.match(c.resp.ID) || !statuses.match(st.Status) {
			continue
		}
		if f.Contains("is-task") {
			_, managed := c.resp.Config.Labels["com.docker.swarm.task"]
			if managed != isTask {
				continue
			}
		}
		if !f.MatchKVList("label", c.resp.Config.Labels) {
			continue
		}
		if len(exited) > 0 && (st.Running || st.StartedAt == zeroTime || !slices.Contains(exited, st.ExitCode)) {
			continue
		}
		if !f.ExactMatch("health", healthString(c)) {
			continue
		}
		if f.Contains("ancestor") && !f.ExactMatch("ancestor", c.resp.Config.Image) &&
			!f.ExactMatch("ancestor", stripTag(c.resp.Config.Image)) && !f.ExactMatch("ancestor", c.resp.Image) {
			continue
		}
		if f.Contains("network") && !onNetwork(c, f.Get("network")) {
			continue
		}
		picked = append(picked, c)
	}
	slices.SortFunc(picked, func(a, b *ctr) int {
		if c := cmp.Compare(b.resp.Created, a.resp.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	if limit > 0 && len(picked) > limit {
		picked = picked[:limit]
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	now := time.Now()
	for i, c := range picked {
		if i > 0 {
			buf.WriteByte(',')
		}
		if status := statusString(c, now); c.listJSON == nil || c.listStatus != status {
			b, err := json.Marshal(summary(c, status))
			if err != nil {
				e.mu.Unlock()
				writeError(w, http.StatusInternalServerError, fmt.Sprintf("fakedocker: encode %s: %v", c.resp.ID, err))
				return
			}
			c.listJSON, c.listStatus = b, status
		}
		buf.Write(c.listJSON)
	}
	buf.WriteByte(']')
	e.mu.Unlock()
	writeRawJSON(w, http.StatusOK, buf.Bytes())
}

// onNetwork: the container is on a network named, or whose ID starts with,
// one of values.
func onNetwork(c *ctr, values []string) bool {
	for _, v := range values {
		if _, ok := c.resp.NetworkSettings.Networks[v]; ok {
			return true
		}
		for _, ep := range c.resp.NetworkSettings.Networks {
			if ep != nil && strings.HasPrefix(ep.NetworkID, v) {
				return true
			}
		}
	}
	return false
}

func healthString(c *ctr) string {
	if h := c.resp.State.Health; h != nil && h.Status != "" {
		return h.Status
	}
	return container.NoHealthcheck
}

// summary is the list entry of c, as the daemon builds it.
func summary(c *ctr, status string) container.Summary {
	created, _ := time.Parse(time.RFC3339Nano, c.resp.Created)
	s := container.Summary{
		ID:      c.resp.ID,
		Names:   []string{c.resp.Name},
		Image:   c.resp.Config.Image,
		ImageID: c.resp.Image,
		Command: strings.Join(append([]string{c.resp.Path}, c.resp.Args...), " "),
		Created: created.Unix(),
		Ports:   []container.Port{},
		Labels:  c.resp.Config.Labels,
		State:   c.resp.State.Status,
		Status:  status,
		Mounts:  []container.MountPoint{},
		NetworkSettings: &container.NetworkSettingsSummary{
			Networks: c.resp.NetworkSettings.Networks,
		},
	}
	s.HostConfig.NetworkMode = string(c.resp.HostConfig.NetworkMode)
	return s
}

// statusString is the human status of `docker ps`: "Up 5 minutes
// (healthy)", "Exited (0) 3 seconds ago", "Created".
func statusString(c *ctr, now time.Time) string {
	st := c.resp.State
	switch {
	case st.Running:
		started, _ := time.Parse(time.RFC3339Nano, st.StartedAt)
		s := "Up " + humanDuration(now.Sub(started))
		switch {
		case st.Paused:
			s += " (Paused)"
		case st.Health != nil && st.Health.Status == container.Starting:
			s += " (health: starting)"
		case st.Health != nil && st.Health.Status != "":
			s += " (" + st.Health.Status + ")"
		}
		return s
	case st.StartedAt == zeroTime:
		return "Created"
	default:
		finished, _ := time.Parse(time.RFC3339Nano, st.FinishedAt)
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(finished)))
	}
}

// humanDuration is go-units' HumanDuration, shortened.
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
}

func (e *Engine) handleContainerInspect(w http.ResponseWriter, _ *http.Request, q request) {
	e.mu.Lock()
	c, err := e.lookup(q.id)
	if err != nil {
		e.inspCounts[q.id]++
		e.mu.Unlock()
		writeAPIError(w, err)
		return
	}
	e.inspCounts[c.resp.ID]++
	b := e.inspectJSON(c)
	e.mu.Unlock()
	writeRawJSON(w, http.StatusOK, b)
}

func (e *Engine) handleContainerKill(w http.ResponseWriter, r *http.Request, q request) {
	e.mu.Lock()
	err := e.kill(q.id, r.Form.Get("signal"))
	e.mu.Unlock()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveOp applies fn to the container of the path and answers 204, 304 or
// the error.
func (e *Engine) serveOp(w http.ResponseWriter, ref string, fn op) {
	if err := e.apply(ref, fn); err != nil {
		if err.status == http.StatusNotModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// opHandler serves a container action without parameters.
func opHandler(method func(*Engine, *ctr) *apiError) handlerFunc {
	return func(e *Engine, w http.ResponseWriter, _ *http.Request, q request) {
		e.serveOp(w, q.id, func(c *ctr) *apiError { return method(e, c) })
	}
}

func (e *Engine) handleContainerRename(w http.ResponseWriter, r *http.Request, q request) {
	e.serveOp(w, q.id, e.opRename(r.Form.Get("name")))
}

func (e *Engine) handleContainerRemove(w http.ResponseWriter, r *http.Request, q request) {
	force, _ := strconv.ParseBool(r.Form.Get("force"))
	e.serveOp(w, q.id, e.opRemove(force))
}

// networkName resolves a local network by name, full ID or ID prefix.
func (e *Engine) networkName(ref string) (string, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.networks[ref]; ok {
		return ref, nil
	}
	for name, n := range e.networks {
		if strings.HasPrefix(n.id, ref) {
			return name, nil
		}
	}
	return "", errf(http.StatusNotFound, "network %s not found", ref)
}

func (e *Engine) handleNetworkConnect(w http.ResponseWriter, r *http.Request, q request) {
	var body network.ConnectOptions
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("decode connect options: %v", err))
		return
	}
	nw, err := e.networkName(q.id)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	ip := ""
	if ec := body.EndpointConfig; ec != nil && ec.IPAMConfig != nil {
		ip = ec.IPAMConfig.IPv4Address
	}
	if err := e.apply(body.Container, e.opConnect(nw, ip)); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (e *Engine) handleNetworkDisconnect(w http.ResponseWriter, r *http.Request, q request) {
	var body network.DisconnectOptions
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("decode disconnect options: %v", err))
		return
	}
	nw, err := e.networkName(q.id)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if err := e.apply(body.Container, e.opDisconnect(nw)); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
