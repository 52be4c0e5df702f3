package fakedocker

import "time"

// Defaults of an Engine, those of a Docker 20.10 daemon.
const (
	DefaultAPIVersion    = "1.41"
	DefaultMinAPIVersion = "1.12"
	DefaultVersion       = "20.10.24"
	// DefaultEventLog is how many past events are kept for since/until
	// replays (a real daemon keeps 256).
	DefaultEventLog = 256
	// DefaultEventBuffer is how many events a subscriber may lag behind
	// before its stream is dropped.
	DefaultEventBuffer = 1024
)

// Option configures an Engine at New or Start.
type Option func(*config)

type config struct {
	apiVersion    string
	minAPIVersion string
	version       string
	swarm         bool
	swarmWorker   bool
	podman        bool
	taskEvents    bool
	swarmHeader   bool
	latency       time.Duration
	eventLog      int
	eventBuffer   int
	exec          ExecHandler
	hostname      string
}

func defaultConfig() config {
	return config{
		apiVersion:    DefaultAPIVersion,
		minAPIVersion: DefaultMinAPIVersion,
		version:       DefaultVersion,
		eventLog:      DefaultEventLog,
		eventBuffer:   DefaultEventBuffer,
		hostname:      "fakedocker",
		swarmHeader:   true,
	}
}

// WithAPIVersion sets the highest API version the Engine speaks ("1.41" by
// default). Clients negotiate down to it; a request for a newer version in
// its path gets 400 like a real daemon.
func WithAPIVersion(v string) Option { return func(c *config) { c.apiVersion = v } }

// WithMinAPIVersion sets the lowest API version accepted ("1.12" by default).
func WithMinAPIVersion(v string) Option { return func(c *config) { c.minAPIVersion = v } }

// WithVersion sets the engine version reported by /version and /info.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithSwarm makes the Engine an active Swarm manager with one node (itself,
// the leader): the Swarm endpoints answer and /_ping's Swarm header says
// "active/manager" (see WithoutSwarmHeader).
func WithSwarm() Option { return func(c *config) { c.swarm, c.swarmWorker = true, false } }

// WithoutSwarmHeader drops the Swarm header from /_ping in Swarm mode too,
// as Docker 20.10 answers (the header came with 23.0): code that must work
// with 20.10 has to ask /info instead.
func WithoutSwarmHeader() Option { return func(c *config) { c.swarmHeader = false } }

// WithSwarmWorker makes the Engine an active Swarm worker: /_ping says
// "active/worker" and the Swarm endpoints answer 503 like a real worker.
func WithSwarmWorker() Option { return func(c *config) { c.swarm, c.swarmWorker = true, true } }

// WithPodman makes the Engine answer like Podman 4.3's Docker-compatible
// API: version "4.3.1" as the "Podman Engine" component, no Swarm header
// on /_ping and no Swarm, and a container's exit reported as event
// "died" instead of "die".
func WithPodman() Option {
	return func(c *config) {
		c.podman, c.swarm, c.swarmWorker = true, false, false
		c.version = "4.3.1"
		c.minAPIVersion = "1.24"
	}
}

// WithTaskEvents makes Swarm task state changes emit the container events
// ("start", "die", "destroy") that the local engine of a node running the
// task would send, with the com.docker.swarm.* labels. Docker has no task
// event type and a manager that runs no tasks sends none, which is the
// default here.
func WithTaskEvents() Option { return func(c *config) { c.taskEvents = true } }

// WithLatency delays every request by d before it is answered (see also
// SetLatency).
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithEventLog sets how many past events are kept for since/until replays
// (DefaultEventLog).
func WithEventLog(n int) Option { return func(c *config) { c.eventLog = max(n, 0) } }

// WithEventBuffer sets how many events a subscriber may lag behind before its
// stream is dropped (DefaultEventBuffer).
func WithEventBuffer(n int) Option { return func(c *config) { c.eventBuffer = max(n, 1) } }

// WithExec sets the handler that runs exec commands (see SetExec).
func WithExec(h ExecHandler) Option { return func(c *config) { c.exec = h } }

// WithHostname sets the daemon's host name (/info Name, the Swarm node's
// hostname); "fakedocker" by default.
func WithHostname(name string) Option { return func(c *config) { c.hostname = name } }
