package source

import (
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// Redacted replaces the value of every environment variable and label that
// a snapshot does not need.
const Redacted = "<redacted>"

// Redact returns what a snapshot keeps of an inspected container by default
// (`rproxy-gen snapshot` without --full): exactly what rendering reads (see
// FromInspect) plus what names the container to a reader, and nothing that
// commonly holds secrets.
//
// Kept: the ID, name, creation time, image, state (with the health status
// but without the health check's output), and per network its ID, address,
// prefix length, gateway, aliases and DNS names; the RPROXY variable and the
// rproxy labels (Label, and labels starting with "rproxy.") with their
// values. Every other environment variable and
// label keeps its name with the value Redacted, so a reviewer sees that it
// was there. Everything else is left out: the command and its arguments,
// mounts, host config, ports, the health check's log, driver data.
//
// Rendering a redacted snapshot gives the same bytes as rendering the full
// one; a test holds FromInspect to that.
func Redact(c container.InspectResponse) container.InspectResponse {
	var out container.InspectResponse
	if c.ContainerJSONBase == nil {
		return out
	}
	out.ContainerJSONBase = &container.ContainerJSONBase{
		ID: c.ID, Created: c.Created, Name: c.Name, Image: c.Image, State: redactState(c.State),
	}
	if c.Config != nil {
		out.Config = &container.Config{
			Image:  c.Config.Image,
			Env:    redactEnv(c.Config.Env),
			Labels: redactLabels(c.Config.Labels),
		}
	}
	if ns := c.NetworkSettings; ns != nil {
		out.NetworkSettings = &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}}
		for name, ep := range ns.Networks {
			if ep == nil {
				out.NetworkSettings.Networks[name] = nil
				continue
			}
			out.NetworkSettings.Networks[name] = &network.EndpointSettings{
				NetworkID: ep.NetworkID, IPAddress: ep.IPAddress, IPPrefixLen: ep.IPPrefixLen, Gateway: ep.Gateway,
				GlobalIPv6Address: ep.GlobalIPv6Address, GlobalIPv6PrefixLen: ep.GlobalIPv6PrefixLen,
				Aliases: ep.Aliases, DNSNames: ep.DNSNames,
			}
		}
	}
	return out
}

func redactState(s *container.State) *container.State {
	if s == nil {
		return nil
	}
	st := *s
	if s.Health != nil {
		st.Health = &container.Health{Status: s.Health.Status, FailingStreak: s.Health.FailingStreak}
	}
	st.Error = ""
	return &st
}

func redactEnv(env []string) []string {
	if env == nil {
		return nil
	}
	out := make([]string, len(env))
	for i, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		switch {
		case k == EnvVar:
			out[i] = kv
		case ok:
			out[i] = k + "=" + Redacted
		default:
			out[i] = k
		}
	}
	return out
}

func redactLabels(labels map[string]string) map[string]string {
	if labels == nil {
		return nil
	}
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if k == Label || strings.HasPrefix(k, Label+".") {
			out[k] = v
		} else {
			out[k] = Redacted
		}
	}
	return out
}

// RedactSnapshot is Redact for a snapshot with Swarm state (snapshot
// --swarm): the containers as Redact keeps them, and of services, tasks and
// nodes everything but what commonly holds secrets: in a service's spec
// (and its previous spec) and a task's spec, the container's command and
// arguments are left out and every environment variable and label but
// RPROXY and the rproxy labels keeps its name with the value Redacted, as
// do the labels of services, tasks and nodes. FromSwarm reads the same
// from it as from the full snapshot.
func RedactSnapshot(s Snapshot) Snapshot {
	out := Snapshot{
		Containers: make([]container.InspectResponse, len(s.Containers)),
		Services:   make([]swarm.Service, len(s.Services)),
		Tasks:      make([]swarm.Task, len(s.Tasks)),
		Nodes:      make([]swarm.Node, len(s.Nodes)),
	}
	for i, c := range s.Containers {
		out.Containers[i] = Redact(c)
	}
	for i, svc := range s.Services {
		svc.Spec = redactServiceSpec(svc.Spec)
		if svc.PreviousSpec != nil {
			prev := redactServiceSpec(*svc.PreviousSpec)
			svc.PreviousSpec = &prev
		}
		out.Services[i] = svc
	}
	for i, t := range s.Tasks {
		t.Annotations.Labels = redactLabels(t.Annotations.Labels)
		t.Spec = redactTaskSpec(t.Spec)
		out.Tasks[i] = t
	}
	for i, n := range s.Nodes {
		n.Spec.Annotations.Labels = redactLabels(n.Spec.Annotations.Labels)
		n.Description.Engine.Labels = redactLabels(n.Description.Engine.Labels)
		out.Nodes[i] = n
	}
	return out
}

func redactServiceSpec(spec swarm.ServiceSpec) swarm.ServiceSpec {
	spec.Annotations.Labels = redactLabels(spec.Annotations.Labels)
	spec.TaskTemplate = redactTaskSpec(spec.TaskTemplate)
	return spec
}

func redactTaskSpec(ts swarm.TaskSpec) swarm.TaskSpec {
	if ts.ContainerSpec != nil {
		cs := *ts.ContainerSpec
		cs.Env = redactEnv(cs.Env)
		cs.Labels = redactLabels(cs.Labels)
		cs.Command, cs.Args = nil, nil
		ts.ContainerSpec = &cs
	}
	return ts
}
