package main

import (
	"context"
	"log/slog"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// liveContainers lists and inspects the containers of the Docker daemon and
// returns them with the networks of the container rproxy-gen runs in, if any.
func liveContainers(ctx context.Context, log *slog.Logger) ([]model.Container, []string, error) {
	d, err := source.NewDocker()
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	all, err := d.InspectAll(ctx)
	if err != nil {
		return nil, nil, err
	}
	cs := make([]model.Container, len(all))
	for i, c := range all {
		cs[i] = source.FromInspect(c)
	}
	log.Debug("read Docker", "docker", d.Host(), "containers", len(cs))
	return cs, d.SelfNetworks(ctx, log), nil
}
