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

// Label is the container (and Swarm service) label that holds RPROXY
// entries too, in the same grammar; its entries are merged with EnvVar's.
const Label = "rproxy"

// TaskLabel is the label Swarm puts on the container of a task. Such a
// container is routed through its service (see Swarm), never as a plain
// container as well.
const TaskLabel = "com.docker.swarm.task.id"

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
		out.RProxy = MergeRProxy(envValue(c.Config.Env, EnvVar), c.Config.Labels[Label])
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

// IsSwarmTask tells whether the container runs a Swarm task (TaskLabel).
func IsSwarmTask(c container.InspectResponse) bool {
	if c.Config == nil {
		return false
	}
	_, ok := c.Config.Labels[TaskLabel]
	return ok
}

// MergeRProxy merges RPROXY values (the env var and the label, or a
// service's values) into one: the entries of each in turn, an entry that
// repeats an earlier one character for character left out. A single
// non-empty value is returned unchanged. model.Build then also counts
// entries that differ only in spelling (http://A.com:80/ and http://a.com)
// once.
func MergeRProxy(values ...string) string {
	var nonEmpty []string
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			nonEmpty = append(nonEmpty, v)
		}
	}
	if len(nonEmpty) <= 1 {
		return strings.Join(nonEmpty, "")
	}
	seen := map[string]bool{}
	var out []string
	for _, v := range nonEmpty {
		for _, e := range model.SplitList(v) {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return strings.Join(out, ",")
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
