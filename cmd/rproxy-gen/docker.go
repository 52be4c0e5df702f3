package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// liveContainers lists and inspects the containers of the Docker daemon and
// returns them with the networks of the container rproxy-gen runs in, if any.
func liveContainers(ctx context.Context, log *slog.Logger) ([]model.Container, []string, error) {
	return nil, nil, fmt.Errorf("live Docker source is not available yet: use --from FILE")
}
