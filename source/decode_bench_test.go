package source

import (
	"fmt"
	"os"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/snapgen"
)

// realSnapshot returns a real-shaped snapshot of n containers (see
// internal/snapgen).
func realSnapshot(tb testing.TB, n int) []byte {
	tb.Helper()
	fixture, err := os.ReadFile("../" + snapgen.FixturePath)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := snapgen.New(fixture)
	if err != nil {
		tb.Fatal(err)
	}
	return g.Snapshot(n)
}

// BenchmarkReadSnapshot compares the ways of decoding 10,000 real-shaped
// docker-inspect objects: encoding/json into complete InspectResponse values
// (the old way), and the fast path on one core and on all cores.
func BenchmarkReadSnapshot(b *testing.B) {
	data := realSnapshot(b, 10000)
	run := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for range b.N {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("encoding-json", func() error { _, err := readSnapshotStd(data); return err })
	run("fast-1core", func() error { _, err := decodeSnapshot(data, 1, minChunk); return err })
	run(fmt.Sprintf("fast-%dcores", workers()), func() error { _, err := decodeSnapshot(data, workers(), minChunk); return err })
}
