package model

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Container is what the model needs to know about one container, whatever the
// source (live Docker API, docker-inspect snapshot).
type Container struct {
	// ID is the full container ID.
	ID string
	// Name is the container name without Docker's leading slash.
	Name string
	// Created decides who keeps a port claimed by both http and tcp.
	Created time.Time
	// Running is false for created, exited, paused or dead containers.
	Running bool
	// Health is the Docker health status ("starting", "healthy", "unhealthy"),
	// or empty when the container declares no health check.
	Health string
	// RProxy is the raw value of the RPROXY environment variable.
	RProxy string
	// Networks lists the container's networks with their IPv4 addresses.
	Networks []Network
}

// Network is one network a container is attached to.
type Network struct {
	Name string
	IP   string
}

// Ingress is Swarm's routing-mesh network; it is never chosen automatically.
const Ingress = "ingress"

// DisplayName is the name used in messages and server names: the container
// name, or the short ID when the name is empty.
func (c Container) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	return ShortID(c.ID)
}

// ShortID returns the 12-character form of a container ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// pickAddress chooses the IP to reach the container: the network named by
// opts.Network; else the first network (by name) shared with opts.PreferNetworks;
// else the first network by name with an IP. Swarm's ingress is only used when
// named explicitly. Addresses go through ParseAddr (no zones, no text) and
// come back in canonical form.
func pickAddress(c Container, opts Options) (string, error) {
	nets := c.Networks
	if len(nets) > 1 && !sort.SliceIsSorted(nets, func(i, j int) bool { return nets[i].Name < nets[j].Name }) {
		nets = append([]Network(nil), nets...)
		sort.SliceStable(nets, func(i, j int) bool { return nets[i].Name < nets[j].Name })
	}
	addr := func(n Network) string {
		a, err := ParseAddr(n.IP)
		if err != nil || a.IsUnspecified() {
			return ""
		}
		return a.String()
	}
	if opts.Network != "" {
		for _, n := range nets {
			if a := addr(n); n.Name == opts.Network && a != "" {
				return a, nil
			}
		}
		return "", fmt.Errorf("no IP address on network %q", opts.Network)
	}
	for _, n := range nets {
		if a := addr(n); slices.Contains(opts.PreferNetworks, n.Name) && n.Name != Ingress && a != "" {
			return a, nil
		}
	}
	for _, n := range nets {
		if a := addr(n); n.Name != Ingress && a != "" {
			return a, nil
		}
	}
	return "", fmt.Errorf("no IP address on any network (host network mode?)")
}
