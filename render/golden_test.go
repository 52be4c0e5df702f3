package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; diff with: go test ./render -run %s -update && git diff\n--- got ---\n%s", path, t.Name(), got)
	}
}

// loadSnapshot builds the model of a docker-inspect snapshot under testdata.
func loadSnapshot(t *testing.T, name string, opts model.Options) *model.Model {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := source.ReadSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	return model.Build(cs, opts)
}

// goldenSnapshots are the snapshots (and model options) every built-in
// template is rendered from; NAME names their golden files.
var goldenSnapshots = []struct {
	snapshot, golden string
	opts             model.Options
}{
	{"example.json", "example", model.Options{}},
	{"example.json", "example-bind", model.Options{Bind: "127.0.0.1", StatsAddr: "127.0.0.1:8404"}},
	{"empty.json", "empty", model.Options{}},
	{"https.json", "https", model.Options{Certs: goldenCerts()}},
	// rproxy-gen snapshot --swarm of a real two-node Swarm: services with
	// labels, env and container labels, a global service, a task starting,
	// a published port (ingress), plain containers beside them.
	{"swarm.json", "swarm", model.Options{Network: "rpgnet"}},
}

// goldenCerts is the certificate directory the https golden files are
// rendered with: what certs.Load reports for a directory holding a wildcard
// default certificate and one for shop.example.org.
func goldenCerts() *model.Certificates {
	return &model.Certificates{Dir: "/etc/rproxy-gen/certs", Default: "default.pem", Files: []model.CertFile{
		{File: "default.pem", Names: []string{"*.example.com", "example.com"}, SHA256: strings.Repeat("d", 64)},
		{File: "shop.pem", Names: []string{"shop.example.org"}, SHA256: strings.Repeat("5", 64)},
	}}
}

// TestGoldenHAProxy: snapshot → model YAML → haproxy.cfg and its map files,
// byte for byte. The model YAML is also fed back, as a hand-written model
// would be, and must render the very same bytes.
func TestGoldenHAProxy(t *testing.T) {
	tmpl, err := Load("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range goldenSnapshots {
		t.Run(tt.golden, func(t *testing.T) {
			m := loadSnapshot(t, tt.snapshot, tt.opts)
			y, err := model.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden+".model.yaml", y)

			r, err := tmpl.Render(m, "haproxy")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := r.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden+".haproxy.cfg", out.Bytes())

			back, err := model.Unmarshal(y)
			if err != nil {
				t.Fatalf("model YAML does not read back: %v", err)
			}
			r2, err := tmpl.Render(back, "haproxy")
			if err != nil {
				t.Fatal(err)
			}
			var out2 bytes.Buffer
			r2.WriteTo(&out2)
			if !bytes.Equal(out.Bytes(), out2.Bytes()) {
				t.Errorf("rendering the YAML model gives other bytes than rendering the snapshot")
			}
		})
	}
}

// TestGoldenNginxStream: snapshot → nginx stream fragment, byte for byte
// (NAME.nginx-stream.conf); the model YAML read back renders the same bytes.
// The model goldens are TestGoldenHAProxy's.
func TestGoldenNginxStream(t *testing.T) {
	tmpl, err := Load("nginx-stream")
	if err != nil {
		t.Fatal(err)
	}
	render := func(t *testing.T, m *model.Model) []byte {
		t.Helper()
		r, err := tmpl.Render(m, "stream")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Files) != 0 {
			t.Errorf("nginx-stream renders auxiliary files: %v", r.Files)
		}
		var out bytes.Buffer
		if _, err := r.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	for _, tt := range goldenSnapshots {
		t.Run(tt.golden, func(t *testing.T) {
			m := loadSnapshot(t, tt.snapshot, tt.opts)
			got := render(t, m)
			golden(t, tt.golden+".nginx-stream.conf", got)

			y, err := model.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := model.Unmarshal(y)
			if err != nil {
				t.Fatalf("model YAML does not read back: %v", err)
			}
			if again := render(t, back); !bytes.Equal(got, again) {
				t.Errorf("rendering the YAML model gives other bytes than rendering the snapshot")
			}
		})
	}
}

// installChecked writes r at dest the way rproxy-gen does (staged, checked
// with the check command, swapped in).
func installChecked(dest string, r *Rendered, check string) error {
	c, err := install.ParseCheck(check)
	if err != nil {
		return err
	}
	aux := make([]install.File, len(r.Files))
	for i, f := range r.Files {
		aux[i] = install.File{Name: f.Name, Data: f.Data}
	}
	_, err = install.Write(context.Background(), dest, r.Main, aux, install.Options{Check: install.CommandCheck(c, 30*time.Second)})
	return err
}
