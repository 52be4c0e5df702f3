// Package source turns Docker state — the live API or a docker-inspect JSON
// snapshot — into the containers the model is built from.
package source

import (
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// EnvVar is the environment variable containers advertise routes with.
const EnvVar = "RPROXY"

// FromInspect converts one docker-inspect result to a model.Container. Live
// mode and snapshot mode both go through here, so they cannot disagree.
func FromInspect(c container.InspectResponse) model.Container {
	var out model.Container
	if c.ContainerJSONBase == nil {
		return out
	}
	out.ID = c.ID
	out.Name = strings.TrimPrefix(c.Name, "/")
	if t, err := time.Parse(time.RFC3339Nano, c.Created); err == nil {
		out.Created = t
	}
	if s := c.State; s != nil {
		out.Running = s.Running && !s.Paused && !s.Restarting
		if s.Health != nil && s.Health.Status != "" && s.Health.Status != "none" {
			out.Health = string(s.Health.Status)
		}
	}
	if c.Config != nil {
		out.RProxy = envValue(c.Config.Env, EnvVar)
	}
	if ns := c.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep == nil {
				continue
			}
			out.Networks = append(out.Networks, model.Network{Name: name, IP: ep.IPAddress})
		}
	}
	return out
}

// envValue returns the value of the last KEY=value entry for key.
func envValue(env []string, key string) string {
	val := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val = v
		}
	}
	return val
}
