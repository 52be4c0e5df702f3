package source

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Input is what --from holds: either docker-inspect containers or a model.
type Input struct {
	// Containers is set when the input was a docker-inspect JSON array.
	Containers []model.Container
	// Model is set when the input was a YAML model.
	Model *model.Model
}

// ReadInput decodes --from content: a JSON array (what `docker inspect`
// prints) is a snapshot; anything else is read as a YAML model. A UTF-8 byte
// order mark in front (as some Windows tools write) is ignored.
func ReadInput(data []byte) (*Input, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		cs, err := ReadSnapshot(trimmed)
		if err != nil {
			return nil, err
		}
		return &Input{Containers: cs}, nil
	}
	m, err := model.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("input is neither a docker-inspect JSON array nor a valid model: %w", err)
	}
	return &Input{Model: m}, nil
}

// ReadSnapshot decodes a docker-inspect JSON array into containers. It reads
// only what FromInspect needs, on all cores; input that this fast path does
// not take (see decodeSnapshot) is decoded by encoding/json, with its errors.
func ReadSnapshot(data []byte) ([]model.Container, error) {
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
	out := make([]model.Container, 0, len(raw))
	for i, c := range raw {
		if c.ContainerJSONBase == nil {
			return nil, fmt.Errorf("decode docker-inspect snapshot: item %d is not a container", i)
		}
		out = append(out, FromInspect(c))
	}
	return out, nil
}
