package render

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// syntheticSnapshot returns docker-inspect JSON for n running containers:
// mostly distinct http hosts, some replicas, path routes and tcp ports.
func syntheticSnapshot(b *testing.B, n int) []byte {
	b.Helper()
	cs := make([]container.InspectResponse, n)
	for i := range cs {
		rp := fmt.Sprintf("http://app%d.example.com", i/2) // two replicas per host
		switch i % 10 {
		case 7:
			rp = fmt.Sprintf("http://app%d.example.com/api", i/2)
		case 9:
			rp = fmt.Sprintf("tcp://svc%d:%d", i, 20000+i%5000)
		}
		cs[i] = container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{
				ID: fmt.Sprintf("%064x", i), Name: fmt.Sprintf("/c%d", i), Created: "2026-01-01T00:00:00Z",
				State: &container.State{Status: "running", Running: true},
			},
			Config: &container.Config{Env: []string{"PATH=/bin", "RPROXY=" + rp}},
			NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
				"bridge": {IPAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)},
			}},
		}
	}
	data, err := json.Marshal(cs)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkCompile10k measures the whole one-shot pipeline for 10,000
// containers: decode the snapshot, build the model, render haproxy.cfg and
// its maps. Target: well under a second per op.
func BenchmarkCompile10k(b *testing.B) {
	data := syntheticSnapshot(b, 10000)
	tmpl, err := Load("haproxy")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, err := source.ReadSnapshot(data)
		if err != nil {
			b.Fatal(err)
		}
		m := model.Build(cs, model.Options{})
		if _, err := tmpl.Render(m, "haproxy"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild10k measures model.Build alone on 10,000 containers.
func BenchmarkBuild10k(b *testing.B) {
	cs, err := source.ReadSnapshot(syntheticSnapshot(b, 10000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		model.Build(cs, model.Options{})
	}
}
