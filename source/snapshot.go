package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Input is what --from holds: either a snapshot's containers or a model.
type Input struct {
	// Containers is set when the input was a snapshot: a docker-inspect
	// JSON array, or a Snapshot object (with Swarm tasks as containers).
	Containers []model.Container
	// Model is set when the input was a YAML model.
	Model *model.Model
}

// Snapshot is the snapshot format with Swarm state (rproxy-gen snapshot
// --swarm): a JSON object holding a daemon's containers as docker inspect
// prints them, and a Swarm manager's services, the tasks whose desired state
// is running, and the nodes, as the Engine API lists them. A plain
// docker-inspect JSON array is a snapshot too, of containers alone.
//
// When Services is present (even empty), the containers of Swarm tasks
// (TaskLabel) are left out of Containers, as in live --swarm mode: their
// tasks stand for them.
type Snapshot struct {
	Containers []container.InspectResponse `json:"containers"`
	Services   []swarm.Service             `json:"services"`
	Tasks      []swarm.Task                `json:"tasks"`
	Nodes      []swarm.Node                `json:"nodes"`
}

// NewSnapshot is the snapshot of containers and Swarm state, in a stable
// order: containers as given (InspectAll sorts them by name), services by
// name, tasks by service, slot, node and ID, nodes by ID. Empty lists are
// written as [], never null.
func NewSnapshot(containers []container.InspectResponse, st *SwarmState) Snapshot {
	snap := Snapshot{
		Containers: append([]container.InspectResponse{}, containers...),
		Services:   append([]swarm.Service{}, st.Services...),
		Tasks:      append([]swarm.Task{}, st.Tasks...),
		Nodes:      append([]swarm.Node{}, st.Nodes...),
	}
	names := map[string]string{}
	for _, svc := range snap.Services {
		names[svc.ID] = svc.Spec.Name
	}
	sort.Slice(snap.Services, func(i, j int) bool { return snap.Services[i].Spec.Name < snap.Services[j].Spec.Name })
	sort.Slice(snap.Tasks, func(i, j int) bool {
		a, b := snap.Tasks[i], snap.Tasks[j]
		switch {
		case names[a.ServiceID] != names[b.ServiceID]:
			return names[a.ServiceID] < names[b.ServiceID]
		case a.Slot != b.Slot:
			return a.Slot < b.Slot
		case a.NodeID != b.NodeID:
			return a.NodeID < b.NodeID
		}
		return a.ID < b.ID
	})
	sort.Slice(snap.Nodes, func(i, j int) bool { return snap.Nodes[i].ID < snap.Nodes[j].ID })
	return snap
}

// snapshotKeys are the keys a Snapshot object may have; an object with
// none of them is not a snapshot (it may be a model written as JSON).
var snapshotKeys = []string{"containers", "services", "tasks", "nodes"}

// ReadInput decodes --from content: a JSON array (what `docker inspect`
// prints) or a Snapshot object is a snapshot; anything else is read as a
// YAML model. A UTF-8 byte order mark in front (as some Windows tools write)
// is ignored.
func ReadInput(data []byte) (*Input, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if isSnapshot(data) {
		cs, err := ReadSnapshot(data)
		if err != nil {
			return nil, err
		}
		return &Input{Containers: cs}, nil
	}
	m, err := model.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("input is neither a docker-inspect JSON array, a snapshot object nor a valid model: %w", err)
	}
	return &Input{Model: m}, nil
}

// isSnapshot tells a snapshot (a JSON array, or a JSON object with a
// snapshot key) from a model.
func isSnapshot(data []byte) bool {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return false
	}
	if trimmed[0] == '[' {
		return true
	}
	if trimmed[0] != '{' {
		return false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(trimmed, &obj) != nil {
		return false
	}
	for _, k := range snapshotKeys {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}

// ReadSnapshot decodes a snapshot into containers: a docker-inspect JSON
// array, or a Snapshot object, whose Swarm tasks become containers through
// FromSwarm. An array is read on all cores, only what FromInspect needs;
// input that this fast path does not take (see decodeSnapshot) is decoded
// by encoding/json, with its errors.
func ReadSnapshot(data []byte) ([]model.Container, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		return readSnapshotObject(trimmed)
	}
	if cs, err := decodeSnapshot(data, workers(), minChunk); err == nil {
		return cs, nil
	}
	return readSnapshotStd(data)
}

// readSnapshotStd decodes a docker-inspect JSON array with encoding/json into
// complete container.InspectResponse values.
func readSnapshotStd(data []byte) ([]model.Container, error) {
	var raw []container.InspectResponse
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decode docker-inspect snapshot: %w", err)
	}
	return fromInspectAll(raw, false)
}

func fromInspectAll(raw []container.InspectResponse, skipTasks bool) ([]model.Container, error) {
	out := make([]model.Container, 0, len(raw))
	for i, c := range raw {
		if c.ContainerJSONBase == nil {
			return nil, fmt.Errorf("decode docker-inspect snapshot: item %d is not a container", i)
		}
		if skipTasks && IsSwarmTask(c) {
			continue
		}
		out = append(out, FromInspect(c))
	}
	return out, nil
}

func readSnapshotObject(data []byte) ([]model.Container, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	for k := range obj {
		if !slices.Contains(snapshotKeys, k) {
			return nil, fmt.Errorf("decode snapshot: unknown key %q (want %s)", k, strings.Join(snapshotKeys, ", "))
		}
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	for i, t := range snap.Tasks {
		if t.ID == "" || t.ServiceID == "" {
			return nil, fmt.Errorf("decode snapshot: task %d has no ID or ServiceID", i)
		}
	}
	for i, s := range snap.Services {
		if s.ID == "" {
			return nil, fmt.Errorf("decode snapshot: service %d has no ID", i)
		}
	}
	_, swarmMode := obj["services"]
	out, err := fromInspectAll(snap.Containers, swarmMode)
	if err != nil {
		return nil, err
	}
	return append(out, FromSwarm(SwarmState{Services: snap.Services, Tasks: snap.Tasks, Nodes: snap.Nodes})...), nil
}
