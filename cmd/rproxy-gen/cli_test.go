package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

const example = "../../testdata/example.json"

func TestCLIOneShot(t *testing.T) {
	snap, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	custom := filepath.Join(dir, "my.tmpl")
	os.WriteFile(custom, []byte("{{range .TCP}}{{.Port}} {{end}}\n"), 0o644)

	stdout, stderr, err := run(t, "", "--from", example)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "frontend http") || !strings.Contains(stdout, "# ---- rproxy-gen file: haproxy.http.map ----") {
		t.Errorf("stdout lacks the config or its map:\n%s", stdout)
	}
	if !strings.Contains(stderr, `container=legacy entry=htp://typo.example.com reason="unsupported scheme`) {
		t.Errorf("warning does not name container, entry and reason:\n%s", stderr)
	}

	fromStdin, _, err := run(t, string(snap), "--from", "-")
	if err != nil || fromStdin != stdout {
		t.Errorf("--from - differs from --from FILE (err %v)", err)
	}

	modelYAML, _, err := run(t, "", "model", "--from", example)
	if err != nil || !strings.HasPrefix(modelYAML, "version: 1\n") {
		t.Fatalf("model: %v\n%s", err, modelYAML)
	}
	mfile := filepath.Join(dir, "model.yaml")
	os.WriteFile(mfile, []byte(modelYAML), 0o644)
	fromModel, _, err := run(t, "", "--from", mfile)
	if err != nil || fromModel != stdout {
		t.Errorf("rendering the model differs from rendering the snapshot (err %v)", err)
	}

	got, _, err := run(t, "", "-t", custom, "--from", example)
	if err != nil || got != "22 443 666 6667 6697 \n" {
		t.Errorf("custom template: %q, %v", got, err)
	}

	out := filepath.Join(dir, "etc", "haproxy.cfg")
	os.MkdirAll(filepath.Dir(out), 0o755)
	if _, stderr, err := run(t, "", "--from", example, "-o", out); err != nil || !strings.Contains(stderr, "changed=true") {
		t.Fatalf("-o: %v\n%s", err, stderr)
	}
	for _, f := range []string{"haproxy.cfg", "haproxy.http.map", "haproxy.tcp.map"} {
		if _, err := os.Stat(filepath.Join(dir, "etc", f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, stderr, err := run(t, "", "--from", example, "-o", out); err != nil || !strings.Contains(stderr, "changed=false") {
		t.Errorf("second -o run should change nothing: %v\n%s", err, stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(out, []byte("last good\n"), 0o644)
	tests := []struct {
		name    string
		args    []string
		wantErr string
		stderr  string
	}{
		{"strict with warnings", []string{"--from", example, "--strict", "-o", out}, "--strict: 5 RPROXY entries skipped", ""},
		{"failed check keeps the old file", []string{"--from", example, "-o", out, "--check", "echo no good >&2; false"}, "outputs failed", "check failed"},
		{"unreadable input", []string{"--from", filepath.Join(dir, "nope.json")}, "read --from", ""},
		{"unknown template", []string{"--from", example, "-t", "nosuch"}, "not built in", ""},
		{"bad stats addr", []string{"--from", example, "--stats-addr", "nonsense"}, "--stats-addr", ""},
		{"bad bind", []string{"--from", example, "--bind", "not-an-ip"}, "bind", ""},
		{"bad write mode", []string{"--from", example, "-o", out, "--write-mode", "copy"}, "write mode", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := run(t, "", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if b, _ := os.ReadFile(out); string(b) != "last good\n" {
				t.Errorf("output file was touched: %q", b)
			}
		})
	}
}
