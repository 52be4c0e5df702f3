package source

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/rproxy-gen/rproxy-gen/model"
)

func TestFromInspect(t *testing.T) {
	base := func(state *container.State, env ...string) container.InspectResponse {
		return container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: "abc", Name: "/web", Created: "2026-01-02T03:04:05.123456789Z", State: state},
			Config:            &container.Config{Env: env},
			NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
				"b": {IPAddress: "10.0.0.2"}, "a": {IPAddress: "10.1.0.2"}, "nil": nil,
			}},
		}
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	tests := []struct {
		name string
		in   container.InspectResponse
		want model.Container
	}{
		{
			name: "running, last RPROXY wins, name without slash",
			in:   base(&container.State{Running: true}, "A=1", "RPROXY=http://old", "RPROXY=http://a.com,tcp://x:1", "RPROXYX=no"),
			want: model.Container{ID: "abc", Name: "web", Created: created, Running: true, RProxy: "http://a.com,tcp://x:1"},
		},
		{
			name: "paused does not count as running",
			in:   base(&container.State{Running: true, Paused: true}, "RPROXY=http://a.com"),
			want: model.Container{ID: "abc", Name: "web", Created: created, RProxy: "http://a.com"},
		},
		{
			name: "restarting does not count as running",
			in:   base(&container.State{Running: true, Restarting: true}),
			want: model.Container{ID: "abc", Name: "web", Created: created},
		},
		{
			name: "health status is kept; none means no check",
			in:   base(&container.State{Running: true, Health: &container.Health{Status: "unhealthy"}}),
			want: model.Container{ID: "abc", Name: "web", Created: created, Running: true, Health: "unhealthy"},
		},
		{
			name: "health none",
			in:   base(&container.State{Running: true, Health: &container.Health{Status: "none"}}),
			want: model.Container{ID: "abc", Name: "web", Created: created, Running: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromInspect(tt.in)
			sort.Slice(got.Networks, func(i, j int) bool { return got.Networks[i].Name < got.Networks[j].Name })
			want := tt.want
			want.Networks = []model.Network{{Name: "a", IP: "10.1.0.2"}, {Name: "b", IP: "10.0.0.2"}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestReadInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ReadInput(data)
	if err != nil || len(in.Containers) != 17 || in.Model != nil {
		t.Fatalf("snapshot: %v, %d containers", err, len(in.Containers))
	}
	bom := append([]byte("\xef\xbb\xbf"), data...)
	if in, err := ReadInput(bom); err != nil || len(in.Containers) != 17 {
		t.Errorf("snapshot after a UTF-8 byte order mark: %v", err)
	}
	in, err = ReadInput([]byte("version: 1\nstats: {addr: ':1'}\n"))
	if err != nil || in.Model == nil {
		t.Fatalf("model: %v", err)
	}
	for _, bad := range []string{`[{"Id": 5}]`, `[1]`, "version: [", "just text"} {
		if _, err := ReadInput([]byte(bad)); err == nil {
			t.Errorf("ReadInput(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "panic") {
			t.Errorf("ReadInput(%q): %v", bad, err)
		}
	}
}
