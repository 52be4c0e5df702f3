package fakedocker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// Engine is a fake Docker Engine API server on a unix socket. Its state
// (containers, events, Swarm objects, faults, counters) is changed by the
// test through its methods and read by the code under test through the real
// Docker client. All methods are safe for concurrent use.
//
// State-changing methods (Add, Start, Stop, ...) are test helpers: a misuse
// such as an unknown container fails the test with t.Fatal (so call them
// from the test goroutine), or panics for an Engine made with Start.
type Engine struct {
	cfg  config
	tb   testing.TB
	dir  string
	sock string
	ln   net.Listener
	srv  *http.Server

	closing   chan struct{} // closed by Close: every handler returns
	closeOnce sync.Once
	reqMu     sync.Mutex // guards reqClosed and reqWG.Add
	reqClosed bool
	reqWG     sync.WaitGroup
	serveErr  chan error

	mu sync.Mutex // guards everything below

	// containers
	ctrs      map[string]*ctr   // by full ID
	names     map[string]string // name without slash → ID
	sortedIDs []string          // for prefix lookups, rebuilt lazily
	idsDirty  bool
	seq       int64 // creation sequence of containers
	networks  map[string]*netState
	execs     map[string]*execState
	execFn    ExecHandler

	// events
	log      []events.Message // the last cfg.eventLog events
	lastNano int64
	subs     map[*subscriber]struct{}
	subsWake chan struct{} // closed and replaced whenever subs changes

	// swarm
	swarmMode  bool
	manager    bool
	selfNode   string
	version    uint64 // swarm object version index
	services   map[string]*service
	tasks      map[string]*swarm.Task
	nodes      map[string]*swarm.Node
	nodeOrder  []string // node IDs, oldest first: task placement order
	overlayNet map[string]*overlay

	// faults
	faults  []fault
	healed  chan struct{} // closed by Heal; hanging requests wait on it
	latency time.Duration

	// counters
	reqCounts  map[string]int
	inspCounts map[string]int
}

// New starts an Engine for the test and stops it (and removes its socket
// directory) in t.Cleanup. It fails the test if the server cannot start.
func New(tb testing.TB, opts ...Option) *Engine {
	tb.Helper()
	e, err := start(tb, opts)
	if err != nil {
		tb.Fatalf("fakedocker: %v", err)
	}
	tb.Cleanup(e.Close)
	return e
}

// Start starts an Engine not tied to a test (benchmark tools, demos). Its
// misused helpers panic instead of failing a test. Call Close when done.
func Start(opts ...Option) (*Engine, error) {
	return start(nil, opts)
}

func start(tb testing.TB, opts []Option) (*Engine, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	dir, err := os.MkdirTemp("/tmp", "fde-")
	if err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("listen on %s: %w", sock, err)
	}
	e := &Engine{
		cfg:        cfg,
		tb:         tb,
		dir:        dir,
		sock:       sock,
		ln:         ln,
		closing:    make(chan struct{}),
		serveErr:   make(chan error, 1),
		ctrs:       map[string]*ctr{},
		names:      map[string]string{},
		networks:   map[string]*netState{},
		execs:      map[string]*execState{},
		execFn:     cfg.exec,
		subs:       map[*subscriber]struct{}{},
		subsWake:   make(chan struct{}),
		services:   map[string]*service{},
		tasks:      map[string]*swarm.Task{},
		nodes:      map[string]*swarm.Node{},
		overlayNet: map[string]*overlay{},
		healed:     make(chan struct{}),
		latency:    cfg.latency,
		reqCounts:  map[string]int{},
		inspCounts: map[string]int{},
	}
	close(e.healed)
	e.initSwarm()
	e.srv = &http.Server{
		Handler:           http.HandlerFunc(e.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	go func() { e.serveErr <- e.srv.Serve(ln) }()
	return e, nil
}

// Close stops the server, ends every open connection (event streams
// included), waits for the handlers to return and removes the socket
// directory. It is idempotent; New registers it with t.Cleanup.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		close(e.closing)
		e.reqMu.Lock()
		e.reqClosed = true
		e.reqMu.Unlock()
		_ = e.srv.Close()
		e.reqWG.Wait()
		if err := <-e.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && e.tb != nil {
			e.tb.Errorf("fakedocker: serve: %v", err)
		}
		_ = os.RemoveAll(e.dir)
	})
}

// Host is the daemon address for client.WithHost or DOCKER_HOST:
// "unix:///tmp/fde-…/docker.sock".
func (e *Engine) Host() string { return "unix://" + e.sock }

// SocketPath is the path of the unix socket the Engine listens on.
func (e *Engine) SocketPath() string { return e.sock }

// NewClient returns a Docker client for this Engine: its host and API
// version negotiation, plus opts. The environment (DOCKER_HOST, ...) is not
// read. The caller closes it.
func (e *Engine) NewClient(opts ...client.Opt) (*client.Client, error) {
	all := append([]client.Opt{client.WithHost(e.Host()), client.WithAPIVersionNegotiation()}, opts...)
	cli, err := client.NewClientWithOpts(all...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", e.Host(), err)
	}
	return cli, nil
}

// Client returns a Docker client for this Engine (see NewClient), closed in
// t.Cleanup.
func (e *Engine) Client(tb testing.TB, opts ...client.Opt) *client.Client {
	tb.Helper()
	cli, err := e.NewClient(opts...)
	if err != nil {
		tb.Fatalf("fakedocker: %v", err)
	}
	tb.Cleanup(func() { _ = cli.Close() })
	return cli
}

// fail reports a misuse of a test helper: t.Fatal, or a panic without a test.
func (e *Engine) fail(err error) {
	if e.tb != nil {
		e.tb.Helper()
		e.tb.Fatalf("fakedocker: %v", err)
		return
	}
	panic(fmt.Sprintf("fakedocker: %v", err))
}

// helper marks the caller as a test helper when the Engine has a test.
func (e *Engine) helper() {
	if e.tb != nil {
		e.tb.Helper()
	}
}

// WaitSubscribers waits until at least n event streams are open (for
// example until the code under test has subscribed to events), or ctx ends.
func (e *Engine) WaitSubscribers(ctx context.Context, n int) error {
	for {
		e.mu.Lock()
		got, wake := len(e.subs), e.subsWake
		e.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("fakedocker: waiting for %d event subscribers (have %d): %w", n, got, ctx.Err())
		}
	}
}

// Subscribers is the number of open event streams.
func (e *Engine) Subscribers() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.subs)
}
