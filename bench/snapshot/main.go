// Command snapshot writes a real-shaped docker-inspect snapshot of N
// containers for benchmarks (see internal/snapgen): the committed fixture
// testdata/inspect-real.json repeated with varied IDs, names, addresses and
// RPROXY values. Usage: go run ./bench/snapshot -n 10000 -o snap.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rproxy-gen/rproxy-gen/internal/snapgen"
)

func main() {
	n := flag.Int("n", 10000, "number of containers")
	out := flag.String("o", "-", "output file, - for stdout")
	fixture := flag.String("fixture", snapgen.FixturePath, "the docker-inspect fixture to repeat")
	flag.Parse()
	if err := run(*n, *out, *fixture); err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}
}

func run(n int, out, fixture string) error {
	data, err := os.ReadFile(fixture)
	if err != nil {
		return err
	}
	g, err := snapgen.New(data)
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := g.Write(w, n); err != nil {
		return err
	}
	return w.Close()
}
