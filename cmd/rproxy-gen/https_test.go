package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
)

const httpsSnapshot = "../../testdata/https.json"

// certDir writes a certificate directory for the https snapshot: a default
// wildcard, one for shop.example.org, and a broken file.
func certDir(t *testing.T) string {
	t.Helper()
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.Leaf(t, "*.example.com", "example.com").WriteFile(t, dir, "default.pem")
	ca.Leaf(t, "shop.example.org").WriteFile(t, dir, "shop.pem")
	os.WriteFile(filepath.Join(dir, "broken.pem"), []byte("not a certificate"), 0o600)
	return dir
}

// TestCLIHTTPS: --certs feeds the certificates to the model and the
// template (absolute paths, the default first); a bad file and an
// uncovered host are logged, each once; the model names files and names,
// never key material; a model file rendered with --certs takes the
// directory's certificates.
func TestCLIHTTPS(t *testing.T) {
	dir := certDir(t)
	stdout, stderr, err := run(t, "", "--from", httpsSnapshot, "--certs", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	list := "# ---- rproxy-gen file: haproxy.certs.list ----\n"
	i := strings.Index(stdout, list)
	if i < 0 || !strings.Contains(stdout, "frontend https") || !strings.Contains(stdout, "frontend tls") {
		t.Fatalf("no https/tls frontends or certificate list:\n%s", stdout)
	}
	var files []string
	for _, l := range strings.Split(stdout[i+len(list):], "\n") {
		if strings.HasPrefix(l, "#") && strings.HasPrefix(l, "# ----") {
			break
		}
		if l != "" && !strings.HasPrefix(l, "#") {
			files = append(files, l)
		}
	}
	if strings.Join(files, " ") != filepath.Join(dir, "default.pem")+" "+filepath.Join(dir, "shop.pem") {
		t.Errorf("certificate list %q, want the default first, absolute, without the broken file", files)
	}
	for _, want := range []string{"certificate file problem", "broken.pem: left out", "https host not covered", "host=intranet.test"} {
		if strings.Count(stderr, want) != 1 {
			t.Errorf("stderr has %q %d times, want once:\n%s", want, strings.Count(stderr, want), stderr)
		}
	}

	m, _, err := run(t, "", "model", "--from", httpsSnapshot, "--certs", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"certificates:\n  dir: " + dir + "\n  default: default.pem\n", "- file: shop.pem\n      names:\n        - shop.example.org\n      sha256: ", "uncovered:\n    - intranet.test\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("model lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "PRIVATE") || strings.Contains(m, "BEGIN") {
		t.Errorf("model shows key material:\n%s", m)
	}

	// A model file rendered with another --certs takes that directory's
	// certificates and coverage.
	mfile := filepath.Join(t.TempDir(), "model.yaml")
	os.WriteFile(mfile, []byte(m), 0o644)
	other := t.TempDir()
	tlstest.NewCA(t).Leaf(t, "intranet.test", "*.example.com", "example.com", "shop.example.org").WriteFile(t, other, "all.pem")
	m2, stderr2, err := run(t, "", "model", "--from", mfile, "--certs", other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m2, "dir: "+other) || strings.Contains(m2, "uncovered") || strings.Contains(stderr2, "not covered") {
		t.Errorf("model file with --certs %s:\n%s\n%s", other, m2, stderr2)
	}
}

// TestCLIHTTPSErrors: https entries without --certs are skipped with a
// warning that says to pass it; a --certs directory that cannot be read is
// an error before anything is written.
func TestCLIHTTPSErrors(t *testing.T) {
	_, stderr, err := run(t, "", "--from", httpsSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, `entry="https://app.example.com?to=3000"`) || !strings.Contains(stderr, "pass --certs DIR") {
		t.Errorf("no warning to pass --certs:\n%s", stderr)
	}
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	_, _, err = run(t, "", "--from", httpsSnapshot, "--certs", filepath.Join(t.TempDir(), "missing"), "-o", out)
	if err == nil || !strings.Contains(err.Error(), "--certs") {
		t.Errorf("missing directory: err = %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was written")
	}
	if _, _, err := run(t, "", "--from", httpsSnapshot, "--certs", "/tmp/a b"); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("unsafe directory name: err = %v", err)
	}
}
