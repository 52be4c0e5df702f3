package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
)

// Client is the part of the Docker Engine API that rproxy-gen calls. The real
// *client.Client satisfies it; tests put a fake Engine API behind a real
// client, or a stub in its place.
type Client interface {
	Ping(ctx context.Context) (types.Ping, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
	ContainerKill(ctx context.Context, id, signal string) error
	// ServerVersion names the daemon and its API version, for logs.
	ServerVersion(ctx context.Context) (types.Version, error)
	// The exec calls run a check command inside a container
	// (--check-container); ContainerLogs reads a proxy's reason for a
	// refused reload.
	ContainerExecCreate(ctx context.Context, id string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, options container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error)
	// The Swarm calls (--swarm); they need a manager.
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	Info(ctx context.Context) (system.Info, error)
	// ClientVersion is the API version in use: negotiated with the daemon,
	// or pinned by DOCKER_API_VERSION.
	ClientVersion() string
	DaemonHost() string
	Close() error
}

// The real client must keep satisfying Client.
var _ Client = (*client.Client)(nil)

// MinAPIVersion is the oldest Docker API that has every field rproxy-gen
// reads (health status came with 1.24). An older one would make every
// container look unroutable.
const MinAPIVersion = "1.24"

// NewClient connects to the daemon the environment names, like the docker CLI
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION),
// negotiating the API version unless DOCKER_API_VERSION pins it. A host
// (-H/--host: unix:///path, tcp://host:port, ...) replaces DOCKER_HOST when
// not empty. A pinned version older than MinAPIVersion is refused here.
func NewClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if err := checkAPIVersion(cli.ClientVersion()); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// checkAPIVersion refuses API versions that lack fields rproxy-gen reads. An
// empty version is not negotiated yet.
func checkAPIVersion(v string) error {
	if v != "" && versions.LessThan(v, MinAPIVersion) {
		return fmt.Errorf("Docker API version %s is too old: rproxy-gen needs %s or later (health status, per-network addresses); "+
			"unset DOCKER_API_VERSION or set it to %s or later", v, MinAPIVersion, MinAPIVersion)
	}
	return nil
}

// explain turns an error from the daemon whose cause is a common setup
// mistake into one that says what to do: a Docker socket this process may
// not open becomes an *AccessError.
func explain(err error, host string) error {
	if err == nil {
		return nil
	}
	var ae *AccessError
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "permission denied") {
		return newAccessError(err, host)
	}
	return err
}

// AccessError is a Docker socket that refused this process: in a container,
// almost always because the socket's group was not added to it. Its text
// says so, and Hint alone is the advice, which the watch loop logs once
// rather than on every retry. The daemon's own message is left out of the
// text: it names the client's newest API version in a URL, which misleads
// (the daemon's version is only known once connected).
type AccessError struct {
	// Host is the daemon address, e.g. unix:///var/run/docker.sock.
	Host string
	// GID is the group owning the socket file, -1 when unknown.
	GID int
	// Err is the client's error.
	Err error
}

func newAccessError(err error, host string) *AccessError {
	ae := &AccessError{Host: host, GID: -1, Err: err}
	if path, ok := strings.CutPrefix(host, "unix://"); ok {
		var st syscall.Stat_t
		if syscall.Stat(path, &st) == nil {
			ae.GID = int(st.Gid)
		}
	}
	return ae
}

// Error says that the socket refused this process, and why, with the hint.
func (e *AccessError) Error() string {
	return "permission denied on the Docker socket " + strings.TrimPrefix(e.Host, "unix://") + ": " + e.Hint()
}

// Hint names the missing group and how to add it.
func (e *AccessError) Hint() string {
	who := fmt.Sprintf("uid %d", os.Getuid())
	if groups, err := os.Getgroups(); err == nil {
		who += fmt.Sprintf(" with groups %v", groups)
	}
	if e.GID < 0 {
		return who + " may not use it: run as a member of the socket's group " +
			"(docker run --group-add $(stat -c %g /var/run/docker.sock), or group_add in compose)"
	}
	g := strconv.Itoa(e.GID)
	return who + " is not in the socket's group " + g + ": add it with docker run --group-add " + g +
		", or in compose: group_add: [\"" + g + "\"]"
}

// Unwrap returns the client's error.
func (e *AccessError) Unwrap() error { return e.Err }
