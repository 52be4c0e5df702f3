package source

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMapFile reads snapshots and models through MapFile and uses what
// ReadInput returned after the mapping is gone: nothing may refer to it.
func TestMapFile(t *testing.T) {
	dir := t.TempDir()
	snap, err := os.ReadFile(filepath.Join("..", "testdata", "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"snap.json":  snap,
		"model.yaml": []byte("version: 1\nstats: {addr: ':1'}\nhttp:\n- port: 80\n  routes:\n  - host: a.example.com\n    path: /\n    servers: [{name: a, address: 10.0.0.1, port: 80}]\n"),
		"empty.json": nil,
		"bad.json":   []byte(`[{"Id": "a",}]`),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := ReadInput(snap)
	if err != nil {
		t.Fatal(err)
	}

	data, release, err := MapFile(filepath.Join(dir, "snap.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ReadInput(data)
	release()
	if err != nil || !sameContainers(in.Containers, want.Containers) {
		t.Fatalf("mapped snapshot: %v", err)
	}

	data, release, err = MapFile(filepath.Join(dir, "model.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in, err = ReadInput(data)
	release()
	if err != nil || in.Model == nil || in.Model.HTTP[0].Routes[0].Host != "a.example.com" {
		t.Fatalf("mapped model: %v", err)
	}

	data, release, err = MapFile(filepath.Join(dir, "bad.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadInput(data)
	release()
	if err == nil || err.Error() != "decode docker-inspect snapshot: invalid character '}' looking for beginning of object key string" {
		t.Errorf("mapped bad snapshot: %v", err)
	}

	if data, release, err := MapFile(filepath.Join(dir, "empty.json")); err != nil || len(data) != 0 {
		t.Errorf("empty file: %q, %v", data, err)
	} else {
		release()
	}
	if _, _, err := MapFile(filepath.Join(dir, "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
