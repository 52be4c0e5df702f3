package fakedocker

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/versions"
)

// Route patterns, the keys of Requests and RequestCounts.
const (
	RoutePing              = "GET /_ping"
	RoutePingHead          = "HEAD /_ping"
	RouteVersion           = "GET /version"
	RouteInfo              = "GET /info"
	RouteContainerList     = "GET /containers/json"
	RouteContainerInspect  = "GET /containers/{id}/json"
	RouteContainerKill     = "POST /containers/{id}/kill"
	RouteContainerStart    = "POST /containers/{id}/start"
	RouteContainerStop     = "POST /containers/{id}/stop"
	RouteContainerRestart  = "POST /containers/{id}/restart"
	RouteContainerPause    = "POST /containers/{id}/pause"
	RouteContainerUnpause  = "POST /containers/{id}/unpause"
	RouteContainerRename   = "POST /containers/{id}/rename"
	RouteContainerRemove   = "DELETE /containers/{id}"
	RouteNetworkConnect    = "POST /networks/{id}/connect"
	RouteNetworkDisconnect = "POST /networks/{id}/disconnect"
	RouteExecCreate        = "POST /containers/{id}/exec"
	RouteExecStart         = "POST /exec/{id}/start"
	RouteExecInspect       = "GET /exec/{id}/json"
	RouteEvents            = "GET /events"
	RouteServiceList       = "GET /services"
	RouteServiceInspect    = "GET /services/{id}"
	RouteTaskList          = "GET /tasks"
	RouteTaskInspect       = "GET /tasks/{id}"
	RouteNodeList          = "GET /nodes"
	RouteNodeInspect       = "GET /nodes/{id}"
)

// request is what a handler gets besides the http pair.
type request struct {
	id      string // the {id} path parameter
	version string // API version of the request (the path's, or the Engine's)
}

type handlerFunc func(e *Engine, w http.ResponseWriter, r *http.Request, q request)

type route struct {
	key    string // "METHOD /pattern"
	method string
	segs   []string
	handle handlerFunc
}

var routes = func() []route {
	table := []struct {
		key string
		h   handlerFunc
	}{
		{RoutePing, (*Engine).handlePing},
		{RoutePingHead, (*Engine).handlePing},
		{RouteVersion, (*Engine).handleVersion},
		{RouteInfo, (*Engine).handleInfo},
		{RouteContainerList, (*Engine).handleContainerList},
		{RouteContainerInspect, (*Engine).handleContainerInspect},
		{RouteContainerKill, (*Engine).handleContainerKill},
		{RouteContainerStart, opHandler((*Engine).opStart)},
		{RouteContainerStop, opHandler((*Engine).opStop)},
		{RouteContainerRestart, opHandler((*Engine).opRestart)},
		{RouteContainerPause, opHandler((*Engine).opPause)},
		{RouteContainerUnpause, opHandler((*Engine).opUnpause)},
		{RouteContainerRename, (*Engine).handleContainerRename},
		{RouteContainerRemove, (*Engine).handleContainerRemove},
		{RouteNetworkConnect, (*Engine).handleNetworkConnect},
		{RouteNetworkDisconnect, (*Engine).handleNetworkDisconnect},
		{RouteExecCreate, (*Engine).handleExecCreate},
		{RouteExecStart, (*Engine).handleExecStart},
		{RouteExecInspect, (*Engine).handleExecInspect},
		{RouteEvents, (*Engine).handleEvents},
		{RouteServiceList, (*Engine).handleServiceList},
		{RouteServiceInspect, (*Engine).handleServiceInspect},
		{RouteTaskList, (*Engine).handleTaskList},
		{RouteTaskInspect, (*Engine).handleTaskInspect},
		{RouteNodeList, (*Engine).handleNodeList},
		{RouteNodeInspect, (*Engine).handleNodeInspect},
	}
	out := make([]route, 0, len(table))
	for _, t := range table {
		method, pattern, _ := strings.Cut(t.key, " ")
		out = append(out, route{key: t.key, method: method, segs: strings.Split(strings.Trim(pattern, "/"), "/"), handle: t.h})
	}
	return out
}()

// match finds the route for method and path (without version prefix).
func match(method, path string) (*route, string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range routes {
		rt := &routes[i]
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		id, ok := "", true
		for j, s := range rt.segs {
			switch {
			case s == "{id}":
				id = segs[j]
			case s != segs[j]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			return rt, id
		}
	}
	return nil, ""
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// splitVersion strips an optional /vX.Y prefix from path.
func splitVersion(path string) (rest, version string) {
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		return m[2], m[1]
	}
	return path, ""
}

// enter registers a running handler; false once the Engine is closing.
func (e *Engine) enter() bool {
	e.reqMu.Lock()
	defer e.reqMu.Unlock()
	if e.reqClosed {
		return false
	}
	e.reqWG.Add(1)
	return true
}

func (e *Engine) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.enter() {
		writeError(w, http.StatusServiceUnavailable, "fakedocker: engine is closed")
		return
	}
	defer e.reqWG.Done()

	h := w.Header()
	if e.cfg.podman {
		h.Set("Server", fmt.Sprintf("Libpod/%s (linux)", e.cfg.version))
		h.Set("Libpod-Api-Version", e.cfg.version)
	} else {
		h.Set("Server", fmt.Sprintf("Docker/%s (linux)", e.cfg.version))
	}
	h.Set("Api-Version", e.cfg.apiVersion)
	h.Set("Ostype", "linux")
	h.Set("Docker-Experimental", "false")

	path, version := splitVersion(r.URL.Path)
	rt, id := match(r.Method, path)
	key := r.Method + " " + path
	if rt != nil {
		key = rt.key
	}
	e.mu.Lock()
	e.reqCounts[key]++
	e.mu.Unlock()

	if !e.applyFaults(w, r, path) {
		return
	}
	if version != "" {
		if versions.LessThan(version, e.cfg.minAPIVersion) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, e.cfg.minAPIVersion))
			return
		}
		if versions.GreaterThan(version, e.cfg.apiVersion) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", version, e.cfg.apiVersion))
			return
		}
	} else {
		version = e.cfg.apiVersion
	}
	if rt == nil {
		writeError(w, http.StatusNotFound, "page not found")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rt.handle(e, w, r, request{id: id, version: version})
}

// writeError answers like the daemon: the status and {"message": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("fakedocker: encode response: %v", err))
		return
	}
	writeRawJSON(w, http.StatusOK, b)
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = io.WriteString(w, "\n")
}

// apiError is an error with the HTTP status the daemon would answer.
type apiError struct {
	status int
	msg    string
}

func (a *apiError) Error() string { return a.msg }

func errf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func writeAPIError(w http.ResponseWriter, err *apiError) { writeError(w, err.status, err.msg) }

func (e *Engine) handlePing(w http.ResponseWriter, r *http.Request, _ request) {
	h := w.Header()
	h.Add("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Add("Pragma", "no-cache")
	if e.cfg.swarm && e.cfg.swarmHeader {
		h.Set("Swarm", e.swarmStatus())
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = io.WriteString(w, "OK")
}

// swarmStatus is the Swarm header of /_ping in Swarm mode: "active/manager"
// or "active/worker". Outside Swarm mode no header is sent, as Docker 20.10
// does (23.0 and later send "inactive").
func (e *Engine) swarmStatus() string {
	switch {
	case !e.cfg.swarm:
		return string(swarm.LocalNodeStateInactive)
	case e.cfg.swarmWorker:
		return string(swarm.LocalNodeStateActive) + "/worker"
	default:
		return string(swarm.LocalNodeStateActive) + "/manager"
	}
}

func (e *Engine) handleVersion(w http.ResponseWriter, _ *http.Request, _ request) {
	v := types.Version{
		Version:       e.cfg.version,
		APIVersion:    e.cfg.apiVersion,
		MinAPIVersion: e.cfg.minAPIVersion,
		GitCommit:     "fakedock",
		GoVersion:     runtime.Version(),
		Os:            "linux",
		Arch:          runtime.GOARCH,
		KernelVersion: "6.1.0-fake",
		BuildTime:     "2023-04-14T10:32:03.000000000+00:00",
	}
	name := "Engine"
	v.Platform.Name = "Docker Engine - Community"
	if e.cfg.podman {
		name = "Podman Engine"
		v.Platform.Name = "linux/" + runtime.GOARCH + "/debian-12"
	}
	v.Components = []types.ComponentVersion{{
		Name:    name,
		Version: e.cfg.version,
		Details: map[string]string{
			"ApiVersion":    e.cfg.apiVersion,
			"MinAPIVersion": e.cfg.minAPIVersion,
			"Os":            "linux",
			"Arch":          runtime.GOARCH,
		},
	}}
	writeJSON(w, v)
}

func (e *Engine) handleInfo(w http.ResponseWriter, _ *http.Request, _ request) {
	e.mu.Lock()
	info := system.Info{
		ID:              "FAKE:DOCK:ERXX:0000:0000:0000:0000:0000:0000:0000:0000:0000",
		Driver:          "overlay2",
		LoggingDriver:   "json-file",
		CgroupDriver:    "systemd",
		CgroupVersion:   "2",
		KernelVersion:   "6.1.0-fake",
		OperatingSystem: "Debian GNU/Linux 12 (bookworm)",
		OSVersion:       "12",
		OSType:          "linux",
		Architecture:    "x86_64",
		NCPU:            2,
		MemTotal:        4 << 30,
		DockerRootDir:   "/var/lib/docker",
		Name:            e.cfg.hostname,
		ServerVersion:   e.cfg.version,
		DefaultRuntime:  "runc",
		SystemTime:      time.Now().Format(time.RFC3339Nano),
		RegistryConfig:  &registry.ServiceConfig{},
		NEventsListener: len(e.subs),
		Swarm:           e.swarmInfo(),
	}
	for _, c := range e.ctrs {
		info.Containers++
		switch {
		case c.resp.State.Paused:
			info.ContainersPaused++
		case c.resp.State.Running:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	e.mu.Unlock()
	writeJSON(w, info)
}

// swarmInfo is /info's Swarm section; e.mu is held.
func (e *Engine) swarmInfo() swarm.Info {
	if !e.cfg.swarm {
		return swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive}
	}
	si := swarm.Info{
		NodeID:           e.selfNode,
		NodeAddr:         "192.168.65.3",
		LocalNodeState:   swarm.LocalNodeStateActive,
		ControlAvailable: !e.cfg.swarmWorker,
		RemoteManagers:   []swarm.Peer{{NodeID: e.selfNode, Addr: "192.168.65.3:2377"}},
	}
	if !e.cfg.swarmWorker {
		si.Nodes = len(e.nodes)
		for _, n := range e.nodes {
			if n.Spec.Role == swarm.NodeRoleManager {
				si.Managers++
			}
		}
		si.Cluster = &swarm.ClusterInfo{ID: "fakeclusterid0000000000000", Spec: swarm.Spec{Annotations: swarm.Annotations{Name: "default"}}}
	}
	return si
}
