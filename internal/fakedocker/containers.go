package fakedocker

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
)

// ContainerSpec describes a container for Add and Create. The zero value is
// a running busybox container named "container-N" on the default bridge
// network with an automatic IP.
type ContainerSpec struct {
	// ID is the full 64-hex-digit ID; random when empty.
	ID string
	// Name without the leading slash; "container-N" when empty.
	Name string
	// Image is the image reference; "busybox:latest" when empty.
	Image string
	// Cmd is the command; ["sleep", "infinity"] when empty.
	Cmd []string
	// Env holds KEY=value entries (e.g. "RPROXY=http://app.example.com").
	Env []string
	// Labels are the container's labels.
	Labels map[string]string
	// Networks maps network names to IPv4 addresses ("" picks the next free
	// address of the network: 172.17.0.2 upward on "bridge", 172.18.x.y on
	// the next network, ...). nil means {"bridge": ""}; an empty non-nil map
	// means no network at all.
	Networks map[string]string
	// Created is the creation time; now when zero. Listing orders by it,
	// newest first, like the daemon.
	Created time.Time
	// Health gives the container a health check with this status
	// ("starting", "healthy" or "unhealthy"); "" means no health check.
	Health container.HealthStatus
	// State is "running" (default when empty), "paused", "created" (never
	// started) or "exited" (with ExitCode).
	State container.ContainerState
	// ExitCode is the exit code of an exited container.
	ExitCode int
	// Hostname is the container's host name; the short ID when empty.
	Hostname string
}

// Container is a handle on a container of an Engine. Its ID never changes;
// everything else is read from the Engine when asked.
type Container struct {
	// ID is the full container ID.
	ID string
	e  *Engine
}

// Name is the container's current name, without the leading slash ("" if
// it was removed).
func (c *Container) Name() string {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if x, ok := c.e.ctrs[c.ID]; ok {
		return strings.TrimPrefix(x.resp.Name, "/")
	}
	return ""
}

// Inspect returns a deep copy of the container as the API inspects it.
func (c *Container) Inspect() container.InspectResponse {
	c.e.helper()
	return c.e.Inspect(c.ID)
}

// IP is the container's IPv4 address on network ("" when not connected or
// not running).
func (c *Container) IP(network string) string {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if x, ok := c.e.ctrs[c.ID]; ok {
		if ep := x.resp.NetworkSettings.Networks[network]; ep != nil {
			return ep.IPAddress
		}
	}
	return ""
}

// Kills returns the signals the container received through the kill API
// or Kill, as names ("SIGHUP"), oldest first.
func (c *Container) Kills() []string {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if x, ok := c.e.ctrs[c.ID]; ok {
		return slices.Clone(x.kills)
	}
	return nil
}

// ctr is the Engine's record of one container.
type ctr struct {
	seq   int64
	resp  container.InspectResponse
	ips   map[string]string // network → IP, kept while connected
	kills []string
	cache []byte // inspect JSON, nil when stale

	// The list entry's JSON for the status text it was made with: the
	// text changes with time ("Up 5 minutes"), the rest only on mutations.
	listJSON   []byte
	listStatus string
}

// dirty drops the cached JSON after a change.
func (c *ctr) dirty() {
	c.cache, c.listJSON = nil, nil
}

// netState is a local network: its ID and address pool.
type netState struct {
	name   string
	id     string
	prefix string // "172.17."
	next   int    // next host index to try
	used   map[string]bool
}

const zeroTime = "0001-01-01T00:00:00Z"

func randHex(n int) string {
	b := make([]byte, (n+15)/16*8)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rand.Uint64())
	}
	return hex.EncodeToString(b)[:n]
}

func imageID(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// network returns (creating on first use) the local network name. e.mu held.
func (e *Engine) network(name string) *netState {
	if n, ok := e.networks[name]; ok {
		return n
	}
	idx := 0 // bridge is 172.17, the others 172.18, 172.19, ...
	if name != "bridge" {
		idx = len(e.networks) + 1
		if _, ok := e.networks["bridge"]; ok {
			idx--
		}
	}
	prefix := fmt.Sprintf("172.%d.", 17+idx)
	if idx > 14 {
		prefix = fmt.Sprintf("10.%d.", 100+idx)
	}
	n := &netState{name: name, id: randHex(64), prefix: prefix, next: 2, used: map[string]bool{}}
	e.networks[name] = n
	return n
}

func (n *netState) gateway() string { return n.prefix + "0.1" }

// alloc returns a free address of the network. e.mu held.
func (n *netState) alloc() string {
	for ; ; n.next++ {
		if lo := n.next & 255; lo == 0 || lo == 255 {
			continue
		}
		ip := fmt.Sprintf("%s%d.%d", n.prefix, (n.next>>8)&255, n.next&255)
		if !n.used[ip] {
			n.next++
			return ip
		}
	}
}

func macFor(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return "02:42:00:00:00:00"
	}
	b := a.As4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// lookup resolves a full ID, an exact name (with or without the slash) or
// a unique ID prefix, like the daemon's GetContainer. e.mu held.
func (e *Engine) lookup(ref string) (*ctr, *apiError) {
	if ref == "" {
		return nil, errf(http.StatusBadRequest, "invalid name or ID supplied: %q", ref)
	}
	if c, ok := e.ctrs[ref]; ok {
		return c, nil
	}
	if id, ok := e.names[strings.TrimPrefix(ref, "/")]; ok {
		return e.ctrs[id], nil
	}
	if e.idsDirty {
		e.sortedIDs = slices.Sorted(maps.Keys(e.ctrs))
		e.idsDirty = false
	}
	i := sort.SearchStrings(e.sortedIDs, ref)
	if i < len(e.sortedIDs) && strings.HasPrefix(e.sortedIDs[i], ref) {
		if i+1 < len(e.sortedIDs) && strings.HasPrefix(e.sortedIDs[i+1], ref) {
			return nil, errf(http.StatusBadRequest, "multiple IDs found with provided prefix: %s", ref)
		}
		return e.ctrs[e.sortedIDs[i]], nil
	}
	return nil, errf(http.StatusNotFound, "No such container: %s", ref)
}

// emitContainer publishes a container event with the daemon's attributes:
// extra, the labels, image and name. e.mu held.
func (e *Engine) emitContainer(c *ctr, action string, extra map[string]string) {
	if action == string(events.ActionDie) && e.cfg.podman {
		action = "died"
	}
	attrs := make(map[string]string, len(extra)+len(c.resp.Config.Labels)+2)
	maps.Copy(attrs, extra)
	maps.Copy(attrs, c.resp.Config.Labels)
	if c.resp.Config.Image != "" {
		attrs["image"] = c.resp.Config.Image
	}
	attrs["name"] = strings.TrimPrefix(c.resp.Name, "/")
	e.publish(events.Message{
		Status: action,
		ID:     c.resp.ID,
		From:   c.resp.Config.Image,
		Type:   events.ContainerEventType,
		Action: events.Action(action),
		Actor:  events.Actor{ID: c.resp.ID, Attributes: attrs},
		Scope:  "local",
	})
}

// emitNetwork publishes a network connect/disconnect event. e.mu held.
func (e *Engine) emitNetwork(n *netState, action, containerID string) {
	e.publish(events.Message{
		Type:   events.NetworkEventType,
		Action: events.Action(action),
		Actor:  events.Actor{ID: n.id, Attributes: map[string]string{"container": containerID, "name": n.name, "type": "bridge"}},
		Scope:  "local",
	})
}

// Add creates a container from spec and brings it to spec.State with the
// events `docker run` causes: "create", then for a running one a network
// "connect" per network and "start" (and "pause" for a paused one).
func (e *Engine) Add(spec ContainerSpec) *Container {
	e.helper()
	e.mu.Lock()
	c, err := e.add(spec)
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
		return nil
	}
	return &Container{ID: c.resp.ID, e: e}
}

// AddN adds n containers, spec(i) describing the i-th, under one lock: for
// scale tests with thousands of containers.
func (e *Engine) AddN(n int, spec func(i int) ContainerSpec) []*Container {
	e.helper()
	out := make([]*Container, 0, n)
	e.mu.Lock()
	var err error
	for i := 0; i < n && err == nil; i++ {
		var c *ctr
		if c, err = e.add(spec(i)); err == nil {
			out = append(out, &Container{ID: c.resp.ID, e: e})
		}
	}
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
	}
	return out
}

// Create creates a container like Add but leaves it in state "created"
// (event "create" only), whatever spec.State says.
func (e *Engine) Create(spec ContainerSpec) *Container {
	e.helper()
	spec.State = container.StateCreated
	return e.Add(spec)
}

func (e *Engine) add(spec ContainerSpec) (*ctr, error) {
	e.seq++
	id := spec.ID
	if id == "" {
		id = randHex(64)
	}
	if _, dup := e.ctrs[id]; dup {
		return nil, fmt.Errorf("container ID %s already exists", id)
	}
	name := strings.TrimPrefix(spec.Name, "/")
	if name == "" {
		name = fmt.Sprintf("container-%d", e.seq)
	}
	if other, dup := e.names[name]; dup {
		return nil, fmt.Errorf("name conflict: \"/%s\" is already in use by container %q", name, other)
	}
	state := spec.State
	switch state {
	case "":
		state = container.StateRunning
	case container.StateRunning, container.StatePaused, container.StateCreated, container.StateExited:
	default:
		return nil, fmt.Errorf("container %s: unsupported state %q", name, state)
	}
	image := spec.Image
	if image == "" {
		image = "busybox:latest"
	}
	cmd := spec.Cmd
	if len(cmd) == 0 {
		cmd = []string{"sleep", "infinity"}
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Now()
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname = id[:min(12, len(id))]
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	nets := spec.Networks
	if nets == nil {
		nets = map[string]string{"bridge": ""}
	}
	mode := "none"
	if _, ok := nets["bridge"]; ok {
		mode = "default"
	} else if len(nets) > 0 {
		mode = slices.Sorted(maps.Keys(nets))[0]
	}
	dir := "/var/lib/docker/containers/" + id
	c := &ctr{
		seq: e.seq,
		ips: map[string]string{},
		resp: container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{
				ID:             id,
				Created:        created.UTC().Format(time.RFC3339Nano),
				Path:           cmd[0],
				Args:           slices.Clone(cmd[1:]),
				State:          &container.State{Status: container.StateCreated, StartedAt: zeroTime, FinishedAt: zeroTime},
				Image:          imageID(image),
				ResolvConfPath: dir + "/resolv.conf",
				HostnamePath:   dir + "/hostname",
				HostsPath:      dir + "/hosts",
				LogPath:        dir + "/" + id + "-json.log",
				Name:           "/" + name,
				Driver:         "overlay2",
				Platform:       "linux",
				HostConfig: &container.HostConfig{
					NetworkMode:   container.NetworkMode(mode),
					RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
					LogConfig:     container.LogConfig{Type: "json-file"},
				},
			},
			Mounts: []container.MountPoint{},
			Config: &container.Config{
				Hostname:     hostname,
				AttachStdout: true,
				AttachStderr: true,
				Env:          slices.Clone(spec.Env),
				Cmd:          slices.Clone(cmd),
				Image:        image,
				Labels:       labels,
			},
			NetworkSettings: &container.NetworkSettings{
				NetworkSettingsBase: container.NetworkSettingsBase{SandboxKey: ""},
				Networks:            map[string]*network.EndpointSettings{},
			},
		},
	}
	if spec.Health != "" {
		switch spec.Health {
		case container.Starting, container.Healthy, container.Unhealthy:
		default:
			return nil, fmt.Errorf("container %s: unsupported health %q", name, spec.Health)
		}
		c.resp.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 30 * time.Second}
	}
	for _, nw := range slices.Sorted(maps.Keys(nets)) {
		n := e.network(nw)
		ip := nets[nw]
		if ip != "" {
			n.used[ip] = true
			c.ips[nw] = ip
		}
		c.resp.NetworkSettings.Networks[nw] = &network.EndpointSettings{NetworkID: n.id}
	}
	e.ctrs[id] = c
	e.names[name] = id
	e.idsDirty = true
	e.emitContainer(c, string(events.ActionCreate), nil)

	switch state {
	case container.StateRunning, container.StatePaused:
		e.start(c)
		if spec.Health != "" {
			c.resp.State.Health.Status = spec.Health
		}
		if state == container.StatePaused {
			c.resp.State.Paused = true
			c.resp.State.Status = container.StatePaused
			e.emitContainer(c, string(events.ActionPause), nil)
		}
	case container.StateExited:
		now := time.Now().UTC().Format(time.RFC3339Nano)
		c.resp.State.Status = container.StateExited
		c.resp.State.ExitCode = spec.ExitCode
		c.resp.State.StartedAt, c.resp.State.FinishedAt = now, now
	}
	c.dirty()
	return c, nil
}

// start starts a created or exited container: network "connect" events,
// then "start". e.mu held.
func (e *Engine) start(c *ctr) {
	st := c.resp.State
	st.Status = container.StateRunning
	st.Running, st.Paused, st.Restarting, st.Dead, st.OOMKilled = true, false, false, false, false
	st.Pid = 1000 + int(c.seq)
	st.ExitCode = 0
	st.Error = ""
	st.StartedAt = time.Now().UTC().Format(time.RFC3339Nano)
	if c.resp.Config.Healthcheck != nil {
		st.Health = &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}
	}
	for _, nw := range slices.Sorted(maps.Keys(c.resp.NetworkSettings.Networks)) {
		e.attach(c, nw)
		e.emitNetwork(e.networks[nw], "connect", c.resp.ID)
	}
	c.dirty()
	e.emitContainer(c, string(events.ActionStart), nil)
}

// attach gives a running container its address on network nw. e.mu held.
func (e *Engine) attach(c *ctr, nw string) {
	n := e.network(nw)
	ip := c.ips[nw]
	if ip == "" {
		ip = n.alloc()
		n.used[ip] = true
		c.ips[nw] = ip
	}
	ep := c.resp.NetworkSettings.Networks[nw]
	if ep == nil {
		ep = &network.EndpointSettings{}
		c.resp.NetworkSettings.Networks[nw] = ep
	}
	ep.NetworkID = n.id
	ep.EndpointID = randHex(64)
	ep.Gateway = n.gateway()
	ep.IPAddress = ip
	ep.IPPrefixLen = 16
	ep.MacAddress = macFor(ip)
	ep.DNSNames = nil
	if nw != "bridge" {
		ep.DNSNames = []string{strings.TrimPrefix(c.resp.Name, "/"), c.resp.ID[:min(12, len(c.resp.ID))]}
	} else {
		ds := &c.resp.NetworkSettings.DefaultNetworkSettings
		ds.EndpointID, ds.Gateway, ds.IPAddress, ds.IPPrefixLen, ds.MacAddress = ep.EndpointID, ep.Gateway, ep.IPAddress, 16, ep.MacAddress //nolint:staticcheck // the daemon still fills them
	}
}

// detach clears a stopped container's operational network data. e.mu held.
func (e *Engine) detach(c *ctr, nw string) {
	if ep := c.resp.NetworkSettings.Networks[nw]; ep != nil {
		ep.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress, ep.DNSNames = "", "", "", 0, "", nil
	}
	if nw == "bridge" {
		c.resp.NetworkSettings.DefaultNetworkSettings = container.DefaultNetworkSettings{}
	}
}

// die ends a running container with exitCode: "die", then a network
// "disconnect" per network. e.mu held.
func (e *Engine) die(c *ctr, exitCode int) {
	st := c.resp.State
	started, _ := time.Parse(time.RFC3339Nano, st.StartedAt)
	st.Status = container.StateExited
	st.Running, st.Paused, st.Restarting = false, false, false
	st.Pid = 0
	st.ExitCode = exitCode
	st.FinishedAt = time.Now().UTC().Format(time.RFC3339Nano)
	c.dirty()
	e.emitContainer(c, string(events.ActionDie), map[string]string{
		"exitCode":     strconv.Itoa(exitCode),
		"execDuration": strconv.Itoa(int(time.Since(started).Seconds())),
	})
	for _, nw := range slices.Sorted(maps.Keys(c.resp.NetworkSettings.Networks)) {
		e.detach(c, nw)
		e.emitNetwork(e.networks[nw], "disconnect", c.resp.ID)
	}
}

// op changes one container; e.mu is held. A *apiError with status 304
// means "nothing to do", as the daemon answers it.
type op func(c *ctr) *apiError

var errNotModified = &apiError{status: http.StatusNotModified, msg: "not modified"}

// apply runs op on the container ref under the lock.
func (e *Engine) apply(ref string, fn op) *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	err = fn(c)
	c.dirty()
	return err
}

// mutate applies op for a test helper and fails the test on error.
func (e *Engine) mutate(ref string, fn op) {
	e.helper()
	if err := e.apply(ref, fn); err != nil && err.status != http.StatusNotModified {
		e.fail(err)
	}
}

func (e *Engine) opStart(c *ctr) *apiError {
	if c.resp.State.Running {
		return errNotModified
	}
	e.start(c)
	return nil
}

func (e *Engine) opStop(c *ctr) *apiError {
	if !c.resp.State.Running {
		return errNotModified
	}
	e.emitContainer(c, string(events.ActionKill), map[string]string{"signal": "15"})
	e.die(c, 0)
	e.emitContainer(c, string(events.ActionStop), nil)
	return nil
}

func (e *Engine) opRestart(c *ctr) *apiError {
	if c.resp.State.Running {
		e.opStop(c)
	}
	e.start(c)
	e.emitContainer(c, string(events.ActionRestart), nil)
	return nil
}

func (e *Engine) opRemove(force bool) op {
	return func(c *ctr) *apiError {
		if c.resp.State.Running {
			if !force {
				return errf(http.StatusConflict, "You cannot remove a running container %s. Stop the container before attempting removal or force remove", c.resp.ID)
			}
			e.emitContainer(c, string(events.ActionKill), map[string]string{"signal": "9"})
			e.die(c, 137)
		}
		for nw, ip := range c.ips {
			if n := e.networks[nw]; n != nil {
				delete(n.used, ip)
			}
		}
		e.emitContainer(c, string(events.ActionDestroy), nil)
		delete(e.ctrs, c.resp.ID)
		delete(e.names, strings.TrimPrefix(c.resp.Name, "/"))
		e.idsDirty = true
		return nil
	}
}

func (e *Engine) opPause(c *ctr) *apiError {
	switch {
	case !c.resp.State.Running:
		return errf(http.StatusConflict, "Container %s is not running", c.resp.ID)
	case c.resp.State.Paused:
		return errf(http.StatusConflict, "Container %s is already paused", c.resp.ID)
	}
	c.resp.State.Paused = true
	c.resp.State.Status = container.StatePaused
	e.emitContainer(c, string(events.ActionPause), nil)
	return nil
}

func (e *Engine) opUnpause(c *ctr) *apiError {
	if !c.resp.State.Paused {
		return errf(http.StatusInternalServerError, "Container %s is not paused", c.resp.ID) // sic, 20.10
	}
	c.resp.State.Paused = false
	c.resp.State.Status = container.StateRunning
	e.emitContainer(c, string(events.ActionUnPause), nil)
	return nil
}

func (e *Engine) opRename(newName string) op {
	newName = strings.TrimPrefix(newName, "/")
	return func(c *ctr) *apiError {
		if newName == "" {
			return errf(http.StatusBadRequest, "Error when allocating new name: Invalid container name (), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
		}
		if other, dup := e.names[newName]; dup && other != c.resp.ID {
			return errf(http.StatusConflict, "Conflict. The container name \"/%s\" is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", newName, other)
		}
		old := c.resp.Name
		delete(e.names, strings.TrimPrefix(old, "/"))
		e.names[newName] = c.resp.ID
		c.resp.Name = "/" + newName
		e.emitContainer(c, string(events.ActionRename), map[string]string{"oldName": old})
		return nil
	}
}

func (e *Engine) opConnect(nw, ip string) op {
	return func(c *ctr) *apiError {
		if _, ok := c.resp.NetworkSettings.Networks[nw]; ok {
			return errf(http.StatusForbidden, "endpoint with name %s already exists in network %s", strings.TrimPrefix(c.resp.Name, "/"), nw)
		}
		n := e.network(nw)
		if ip != "" {
			n.used[ip] = true
			c.ips[nw] = ip
		}
		c.resp.NetworkSettings.Networks[nw] = &network.EndpointSettings{NetworkID: n.id}
		if c.resp.State.Running {
			e.attach(c, nw)
			e.emitNetwork(n, "connect", c.resp.ID)
		}
		return nil
	}
}

func (e *Engine) opDisconnect(nw string) op {
	return func(c *ctr) *apiError {
		if _, ok := c.resp.NetworkSettings.Networks[nw]; !ok {
			return errf(http.StatusBadRequest, "container %s is not connected to network %s", c.resp.ID, nw)
		}
		n := e.network(nw)
		running := c.resp.State.Running
		e.detach(c, nw)
		delete(c.resp.NetworkSettings.Networks, nw)
		if ip := c.ips[nw]; ip != "" {
			delete(n.used, ip)
			delete(c.ips, nw)
		}
		// Docker 20.10 logs "disconnect" when the endpoint leaves (running
		// containers only) and again when the API call returns.
		if running {
			e.emitNetwork(n, "disconnect", c.resp.ID)
		}
		e.emitNetwork(n, "disconnect", c.resp.ID)
		return nil
	}
}

// Start starts a created or exited container (network "connect" events,
// then "start"). Starting a running container does nothing, like the
// daemon's 304.
func (e *Engine) Start(ref string) {
	e.helper()
	e.mutate(ref, e.opStart)
}

// Stop stops a running container like `docker stop` whose process exits on
// SIGTERM with code 0: "kill" (signal 15), "die", network "disconnect"
// events and "stop". Stopping a stopped container does nothing.
func (e *Engine) Stop(ref string) {
	e.helper()
	e.mutate(ref, e.opStop)
}

// Restart restarts a container like `docker restart`: the Stop events for
// a running one, then the Start events, then "restart".
func (e *Engine) Restart(ref string) {
	e.helper()
	e.mutate(ref, e.opRestart)
}

// Kill sends signal (a name like "SIGHUP" or "HUP", or a number; "" means
// SIGKILL) like the kill API: it is recorded (Container.Kills) and
// reported by a "kill" event; SIGKILL also ends the container ("die" with
// exit code 137). Other signals leave it running: call Die to model a
// process that exits on them.
func (e *Engine) Kill(ref, signal string) {
	e.helper()
	e.mu.Lock()
	err := e.kill(ref, signal)
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
	}
}

// kill is the kill API. e.mu held.
func (e *Engine) kill(ref, signal string) *apiError {
	num, name, err := parseSignal(signal)
	if err != nil {
		return err
	}
	c, aerr := e.lookup(ref)
	if aerr != nil {
		aerr.msg = "Cannot kill container: " + ref + ": " + aerr.msg
		return aerr
	}
	if !c.resp.State.Running {
		return errf(http.StatusConflict, "Cannot kill container: %s: Container %s is not running", ref, c.resp.ID)
	}
	c.kills = append(c.kills, name)
	e.emitContainer(c, string(events.ActionKill), map[string]string{"signal": strconv.Itoa(num)})
	if num == 9 {
		e.die(c, 137)
	}
	c.dirty()
	return nil
}

// Die ends a running container's process with exitCode, as if it exited on
// its own: "die" and network "disconnect" events (Podman flavour: "died").
func (e *Engine) Die(ref string, exitCode int) {
	e.helper()
	e.mutate(ref, func(c *ctr) *apiError {
		if !c.resp.State.Running {
			return errf(http.StatusConflict, "Container %s is not running", c.resp.ID)
		}
		e.die(c, exitCode)
		return nil
	})
}

// Remove removes a container like `docker rm -f`: a running one gets
// "kill" (signal 9), "die" and "disconnect" events first; then "destroy".
func (e *Engine) Remove(ref string) {
	e.helper()
	e.mutate(ref, e.opRemove(true))
}

// Pause pauses a running container (event "pause").
func (e *Engine) Pause(ref string) {
	e.helper()
	e.mutate(ref, e.opPause)
}

// Unpause unpauses a paused container (event "unpause").
func (e *Engine) Unpause(ref string) {
	e.helper()
	e.mutate(ref, e.opUnpause)
}

// SetHealth sets the health status of a running container ("starting",
// "healthy", "unhealthy"), adding a health check if it had none. A change
// emits "health_status: <status>", like the daemon; setting the current
// status again emits nothing.
func (e *Engine) SetHealth(ref string, status container.HealthStatus) {
	e.helper()
	e.mutate(ref, func(c *ctr) *apiError {
		switch status {
		case container.Starting, container.Healthy, container.Unhealthy:
		default:
			return errf(http.StatusBadRequest, "SetHealth %s: unsupported status %q", ref, status)
		}
		if !c.resp.State.Running {
			return errf(http.StatusConflict, "SetHealth %s: container is not running", ref)
		}
		if c.resp.Config.Healthcheck == nil {
			c.resp.Config.Healthcheck = &container.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 30 * time.Second}
		}
		if c.resp.State.Health == nil {
			c.resp.State.Health = &container.Health{Log: []*container.HealthcheckResult{}}
		}
		if c.resp.State.Health.Status == status {
			return nil
		}
		c.resp.State.Health.Status = status
		if status == container.Unhealthy {
			c.resp.State.Health.FailingStreak = 3
		} else {
			c.resp.State.Health.FailingStreak = 0
		}
		e.emitContainer(c, "health_status: "+status, nil)
		return nil
	})
}

// Rename renames a container (event "rename" with attribute oldName, the
// old name with its slash).
func (e *Engine) Rename(ref, newName string) {
	e.helper()
	e.mutate(ref, e.opRename(newName))
}

// Connect connects a container to network nw with ip ("" picks one). A
// running container gets its address now and a network "connect" event; a
// stopped one gets both at its next start.
func (e *Engine) Connect(ref, nw, ip string) {
	e.helper()
	e.mutate(ref, e.opConnect(nw, ip))
}

// Disconnect disconnects a container from network nw with the network
// "disconnect" events of Docker 20.10: two for a running container (the
// endpoint leaving, then the API call), one for a stopped one.
func (e *Engine) Disconnect(ref, nw string) {
	e.helper()
	e.mutate(ref, e.opDisconnect(nw))
}

// SetEnv changes environment entries: "KEY=value" replaces KEY's entry
// (or appends one), a bare "KEY" removes it. No event: a real container's
// environment cannot change, this models a daemon answering differently.
func (e *Engine) SetEnv(ref string, env ...string) {
	e.helper()
	e.mutate(ref, func(c *ctr) *apiError {
		for _, kv := range env {
			key, _, set := strings.Cut(kv, "=")
			c.resp.Config.Env = slices.DeleteFunc(c.resp.Config.Env, func(s string) bool {
				k, _, _ := strings.Cut(s, "=")
				return k == key
			})
			if set {
				c.resp.Config.Env = append(c.resp.Config.Env, kv)
			}
		}
		return nil
	})
}

// SetLabels replaces the container's labels (no event, see SetEnv).
func (e *Engine) SetLabels(ref string, labels map[string]string) {
	e.helper()
	e.mutate(ref, func(c *ctr) *apiError {
		c.resp.Config.Labels = maps.Clone(labels)
		if c.resp.Config.Labels == nil {
			c.resp.Config.Labels = map[string]string{}
		}
		return nil
	})
}

// Update changes the container's inspect data with fn, without event: the
// escape hatch for fields the other helpers do not cover. fn must not
// change the ID, the Name or the network map (use Rename, Connect and
// Disconnect).
func (e *Engine) Update(ref string, fn func(*container.InspectResponse)) {
	e.helper()
	e.mutate(ref, func(c *ctr) *apiError {
		fn(&c.resp)
		return nil
	})
}

// Container returns a handle on the container ref (full ID, unique ID
// prefix or name).
func (e *Engine) Container(ref string) *Container {
	e.helper()
	e.mu.Lock()
	c, err := e.lookup(ref)
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
		return nil
	}
	return &Container{ID: c.resp.ID, e: e}
}

// Containers returns handles on every container, oldest first.
func (e *Engine) Containers() []*Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	all := slices.SortedFunc(maps.Values(e.ctrs), func(a, b *ctr) int { return int(a.seq - b.seq) })
	out := make([]*Container, len(all))
	for i, c := range all {
		out[i] = &Container{ID: c.resp.ID, e: e}
	}
	return out
}

// Inspect returns a deep copy of the container ref as the API inspects it
// (without counting as an inspection).
func (e *Engine) Inspect(ref string) container.InspectResponse {
	e.helper()
	e.mu.Lock()
	var b []byte
	c, err := e.lookup(ref)
	if err == nil {
		b = e.inspectJSON(c)
	}
	e.mu.Unlock()
	if err != nil {
		e.fail(err)
		return container.InspectResponse{}
	}
	var out container.InspectResponse
	if err := json.Unmarshal(b, &out); err != nil {
		e.fail(fmt.Errorf("decode inspect of %s: %w", ref, err))
	}
	return out
}

// inspectJSON is the cached inspect body of c. e.mu held.
func (e *Engine) inspectJSON(c *ctr) []byte {
	if c.cache == nil {
		b, err := json.Marshal(c.resp)
		if err != nil {
			b = []byte(`{"message":"fakedocker: encode failed"}`)
		}
		c.cache = b
	}
	return c.cache
}

// parseSignal parses a signal like the daemon: a number, or a name with or
// without "SIG", any case. It returns the number and the name ("SIGHUP").
func parseSignal(s string) (int, string, *apiError) {
	if s == "" {
		return 9, "SIGKILL", nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, "", errf(http.StatusBadRequest, "Invalid signal: %s", s)
		}
		if name := signalName(n); name != "" {
			return n, name, nil
		}
		return n, s, nil
	}
	name := "SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n := signalNum(name); n > 0 {
		return n, name, nil
	}
	return 0, "", errf(http.StatusBadRequest, "Invalid signal: %s", s)
}
