package source

import (
	"context"
	"errors"
	"fmt"
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
// negotiating the API version unless DOCKER_API_VERSION pins it. A pinned
// version older than MinAPIVersion is refused here.
func NewClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
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

// explain adds what to do to an error from the daemon where the cause is a
// common setup mistake.
func explain(err error, host string) error {
	if errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "permission denied") {
		return fmt.Errorf("%w (the Docker socket %s refused this user: run as a member of the socket's group, "+
			"e.g. docker run --group-add $(stat -c %%g /var/run/docker.sock), or group_add in compose)", err, host)
	}
	return err
}
