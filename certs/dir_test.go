package certs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
)

// TestLoadFingerprint: a file's SHA256 is its leaf's fingerprint, and a
// renewal (a new certificate for the same names in the same file) changes
// it, so the rendered config changes and the proxy reloads.
func TestLoadFingerprint(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	first := ca.Leaf(t, "a.example.com")
	first.WriteFile(t, dir, "a.pem")
	c, errs := Load(dir)
	if len(errs) != 0 || len(c.Files) != 1 {
		t.Fatalf("Load = %+v, %v", c, errs)
	}
	sum := sha256.Sum256(first.Cert.Raw)
	if got, want := c.Files[0].SHA256, hex.EncodeToString(sum[:]); got != want {
		t.Errorf("sha256 = %s, want the leaf's fingerprint %s", got, want)
	}
	ca.Leaf(t, "a.example.com").WriteFile(t, dir, "a.pem")
	renewed, _ := Load(dir)
	if renewed.Files[0].SHA256 == c.Files[0].SHA256 {
		t.Error("a renewed certificate has the same sha256")
	}
	if renewed.Files[0].Names[0] != "a.example.com" {
		t.Errorf("names = %v", renewed.Files[0].Names)
	}
}

// TestDirReload: problems are logged once while they last, again when they
// come back; an unreadable directory keeps the last good certificates.
func TestDirReload(t *testing.T) {
	ca := tlstest.NewCA(t)
	base := t.TempDir()
	dir := filepath.Join(base, "certs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d := NewDir(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if d.Current() != nil || d.Path() != dir {
		t.Fatalf("before Reload: %+v %q", d.Current(), d.Path())
	}
	ca.Leaf(t, "a.example.com").WriteFile(t, dir, "a.pem")
	os.WriteFile(filepath.Join(dir, "broken.pem"), []byte("garbage"), 0o600)

	count := func() int { return strings.Count(logs.String(), "broken.pem: left out") }
	for i := range 3 {
		c, err := d.Reload()
		if err != nil || len(c.Files) != 1 || c.Files[0].File != "a.pem" {
			t.Fatalf("reload %d: %+v, %v", i, c, err)
		}
		if count() != 1 {
			t.Fatalf("reload %d: the broken file is logged %d times, want once:\n%s", i, count(), logs.String())
		}
	}
	os.Remove(filepath.Join(dir, "broken.pem"))
	if _, err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "broken.pem"), []byte("garbage"), 0o600)
	d.Reload()
	if count() != 2 {
		t.Errorf("a problem that came back is logged %d times in all, want 2", count())
	}

	good := d.Current()
	if err := os.Rename(dir, filepath.Join(base, "gone")); err != nil {
		t.Fatal(err)
	}
	c, err := d.Reload()
	if err == nil || !strings.Contains(err.Error(), "certificates") {
		t.Errorf("unreadable directory: err = %v", err)
	}
	if c != good || d.Current() != good {
		t.Errorf("unreadable directory: got %+v, want the last good certificates kept", c)
	}

	// Never loaded: nil and the error.
	d2 := NewDir(filepath.Join(base, "missing"), slog.New(slog.DiscardHandler))
	if c, err := d2.Reload(); c != nil || err == nil {
		t.Errorf("missing directory: %+v, %v", c, err)
	}
}
