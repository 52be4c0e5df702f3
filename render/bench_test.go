package render

import (
	"fmt"
	"os"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/snapgen"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// realSnapshot returns a real-shaped docker-inspect snapshot of n containers:
// the committed object a real daemon printed (testdata/inspect-real.json,
// with a health check, labels, two networks and mounts), repeated with
// varied IDs, names, addresses and RPROXY values (see internal/snapgen).
func realSnapshot(b *testing.B, n int) []byte {
	b.Helper()
	fixture, err := os.ReadFile("../" + snapgen.FixturePath)
	if err != nil {
		b.Fatal(err)
	}
	g, err := snapgen.New(fixture)
	if err != nil {
		b.Fatal(err)
	}
	return g.Snapshot(n)
}

// BenchmarkCompile measures the whole one-shot pipeline on real-shaped
// snapshots of 1,000, 10,000 and 100,000 containers: decode the snapshot,
// build the model, render haproxy.cfg and its maps. The target is under
// 0.3 s for 10,000 (bench/compile.sh measures the real binary, with its
// peak memory).
func BenchmarkCompile(b *testing.B) {
	tmpl, err := Load("haproxy")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			data := realSnapshot(b, n)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				cs, err := source.ReadSnapshot(data)
				if err != nil {
					b.Fatal(err)
				}
				m := model.Build(cs, model.Options{})
				if _, err := tmpl.Render(m, "haproxy"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuild10k measures model.Build alone on 10,000 containers.
func BenchmarkBuild10k(b *testing.B) {
	cs, err := source.ReadSnapshot(realSnapshot(b, 10000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		model.Build(cs, model.Options{})
	}
}

// BenchmarkRender10k measures rendering haproxy.cfg and its maps alone for
// 10,000 containers.
func BenchmarkRender10k(b *testing.B) {
	cs, err := source.ReadSnapshot(realSnapshot(b, 10000))
	if err != nil {
		b.Fatal(err)
	}
	m := model.Build(cs, model.Options{})
	tmpl, err := Load("haproxy")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := tmpl.Render(m, "haproxy"); err != nil {
			b.Fatal(err)
		}
	}
}
