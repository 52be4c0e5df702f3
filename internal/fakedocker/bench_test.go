package fakedocker

import (
	"context"
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

// scaleEngine is an Engine with n running containers carrying RPROXY.
func scaleEngine(b *testing.B, n int) (*Engine, []*Container) {
	b.Helper()
	e := New(b, WithEventLog(256))
	cs := e.AddN(n, func(i int) ContainerSpec {
		return ContainerSpec{
			Name:   fmt.Sprintf("app-%05d", i),
			Env:    []string{fmt.Sprintf("RPROXY=http://app%d.example.com", i)},
			Labels: map[string]string{"com.example.team": "t"},
		}
	})
	return e, cs
}

func BenchmarkAdd10k(b *testing.B) {
	for b.Loop() {
		e, err := Start()
		if err != nil {
			b.Fatal(err)
		}
		e.AddN(10000, func(i int) ContainerSpec { return ContainerSpec{Env: []string{"RPROXY=http://x"}} })
		e.Close()
	}
}

func BenchmarkList10k(b *testing.B) {
	e, _ := scaleEngine(b, 10000)
	cli := e.Client(b)
	ctx := context.Background()
	for b.Loop() {
		list, err := cli.ContainerList(ctx, container.ListOptions{})
		if err != nil || len(list) != 10000 {
			b.Fatal(len(list), err)
		}
	}
}

func BenchmarkInspect10k(b *testing.B) {
	e, cs := scaleEngine(b, 10000)
	cli := e.Client(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := cli.ContainerInspect(ctx, cs[i%len(cs)].ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkInspectByPrefix10k(b *testing.B) {
	e, cs := scaleEngine(b, 10000)
	cli := e.Client(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := cli.ContainerInspect(ctx, cs[i%len(cs)].ID[:16]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEventToClient is one mutation to its event decoded by a client,
// at 10,000 containers.
func BenchmarkEventToClient(b *testing.B) {
	e, cs := scaleEngine(b, 10000)
	cli := e.Client(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := cli.Events(ctx, events.ListOptions{})
	i := 0
	for b.Loop() {
		e.SetHealth(cs[i%len(cs)].ID, []string{container.Healthy, container.Unhealthy}[(i/len(cs))%2])
		select {
		case <-msgs:
		case err := <-errs:
			b.Fatal(err)
		}
		i++
	}
}
