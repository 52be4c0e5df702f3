package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// run executes the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	_, out, errb, err := execute(t, stdin, args...)
	return out, errb, err
}

// execute runs the CLI in-process and also returns the root command, whose
// flag values are bound to the options the command used.
func execute(t *testing.T, stdin string, args ...string) (*cobra.Command, string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return cmd, out.String(), errb.String(), err
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
	if err != nil || !strings.HasPrefix(modelYAML, "version: 2\n") {
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
	if _, stderr, err := run(t, "", "--from", example, "-o", out); err != nil || !strings.Contains(stderr, "changed=["+out+"]") {
		t.Fatalf("-o: %v\n%s", err, stderr)
	}
	for _, f := range []string{"haproxy.cfg", "haproxy.http.map", "haproxy.tcp.map"} {
		if _, err := os.Stat(filepath.Join(dir, "etc", f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, stderr, err := run(t, "", "--from", example, "-o", out); err != nil || !strings.Contains(stderr, "changed=[]") {
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
		{"proxy max files too small", []string{"--from", example, "-o", out, "--proxy-max-files", "100"}, "--proxy-max-files", ""},
		{"positional and -t", []string{"--from", example, "-t", "haproxy", "haproxy", out}, "not both", ""},
		{"positional DEST and -o", []string{"--from", example, "-o", out, "haproxy", out}, "not both", ""},
		{"three arguments", []string{"--from", example, "haproxy", out, "x"}, "accepts at most 2 arg", ""},
		{"watch with --from", []string{"--from", example, "--watch", "-o", out}, "cannot be combined with --from", ""},
		{"bad notify signal", []string{"--from", example, "-o", out, "--notify-container", "haproxy", "--notify-signal", "SIGNOPE"}, "--notify-signal", ""},
		{"bad wait", []string{"--watch", "-o", out, "--wait", "soon"}, "--wait", ""},
		{"failing notify", []string{"--from", example, "-o", filepath.Join(dir, "other.cfg"), "--notify", "echo reload refused >&2; exit 3"}, "notify", "reload refused"},
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

// TestCLIProxyMaxFiles: --proxy-max-files reaches the model, from a
// snapshot and over a model file, and sizes the HAProxy config.
func TestCLIProxyMaxFiles(t *testing.T) {
	modelYAML, _, err := run(t, "", "model", "--from", example, "--proxy-max-files", "1048576")
	if err != nil || !strings.Contains(modelYAML, "\nmax_files: 1048576\n") {
		t.Fatalf("model: %v\n%s", err, modelYAML)
	}
	mfile := filepath.Join(t.TempDir(), "model.yaml")
	plain, _, err := run(t, "", "model", "--from", example)
	if err != nil || strings.Contains(plain, "max_files") {
		t.Fatalf("default model mentions max_files: %v\n%s", err, plain)
	}
	os.WriteFile(mfile, []byte(plain), 0o644)
	cfg, _, err := run(t, "", "--from", mfile, "--proxy-max-files", "2048")
	if err != nil || !strings.Contains(cfg, "open-files limit of 2048") || !strings.Contains(cfg, "maxconn 892\n") {
		t.Errorf("config for 2048 files: %v\n%.600s", err, cfg)
	}
}

// TestCLIPositional: docker-gen style TEMPLATE [DEST] arguments do what -t
// and -o do.
func TestCLIPositional(t *testing.T) {
	viaFlag, viaArg := filepath.Join(t.TempDir(), "haproxy.cfg"), filepath.Join(t.TempDir(), "haproxy.cfg")
	if _, _, err := run(t, "", "--from", example, "-t", "haproxy", "-o", viaFlag); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "", "--from", example, "haproxy", viaArg); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(viaFlag)
	b, _ := os.ReadFile(viaArg)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("TEMPLATE DEST wrote %d bytes, -t/-o %d; they differ", len(b), len(a))
	}
	want, _, _ := run(t, "", "--from", example, "-t", "haproxy")
	stdout, _, err := run(t, "", "--from", example, "haproxy")
	if err != nil || stdout != want || want == "" {
		t.Errorf("TEMPLATE alone should print the same config on stdout (err %v)", err)
	}
}

// TestConfigOutputBind: an output's own bind address applies to it alone.
func TestConfigOutputBind(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.cfg"), filepath.Join(dir, "b.cfg")
	cfg := writeConfig(t, "from: "+example+"\nbind: 127.0.0.1\noutputs:\n"+
		"  - {template: haproxy, dest: "+a+", bind: 127.0.0.9}\n  - {template: haproxy, dest: "+b+"}\n")
	if _, stderr, err := run(t, "", "-c", cfg); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !strings.Contains(string(ab), "bind 127.0.0.9:80\n") || strings.Contains(string(ab), "127.0.0.1:80") {
		t.Errorf("a.cfg does not bind its own address:\n%s", ab)
	}
	if !strings.Contains(string(bb), "bind 127.0.0.1:80\n") || strings.Contains(string(bb), "127.0.0.9") {
		t.Errorf("b.cfg does not bind the global address:\n%s", bb)
	}
	bad := writeConfig(t, "outputs:\n  - {template: haproxy, dest: x.cfg, bind: nope}\n")
	if _, _, err := run(t, "", "-c", bad, "--from", example); err == nil || !strings.Contains(err.Error(), "outputs[0].bind") {
		t.Errorf("bad per-output bind: err = %v", err)
	}
}

// TestCLINotifyOnChange: one-shot runs --notify after it changed the file,
// and not when the file already held the same bytes.
func TestCLINotifyOnChange(t *testing.T) {
	dir := t.TempDir()
	out, marker := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "notified")
	notify := "echo reloaded >> " + marker
	for i := range 2 {
		if _, stderr, err := run(t, "", "--from", example, "-o", out, "--notify", notify); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, stderr)
		}
	}
	b, _ := os.ReadFile(marker)
	if got := strings.Count(string(b), "\n"); got != 1 {
		t.Errorf("notify ran %d times over a change and a no-change, want 1:\n%s", got, b)
	}
}

// TestCLINginxStreamWarns: http routes cannot be rendered by nginx stream;
// when it is the only template, stderr says so (and not otherwise).
func TestCLINginxStreamWarns(t *testing.T) {
	const warning = "http routes are not rendered"
	stdout, stderr, err := run(t, "", "--from", example, "-t", "nginx-stream")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, warning) || !strings.Contains(stdout, "stream") {
		t.Errorf("no warning for http routes with nginx-stream alone:\n%s", stderr)
	}
	dir := t.TempDir()
	_, stderr, err = run(t, "", "--from", example, "-t", "nginx-stream:"+filepath.Join(dir, "s.conf"), "-t", "haproxy:"+filepath.Join(dir, "h.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, warning) {
		t.Errorf("warned although haproxy renders the http routes:\n%s", stderr)
	}
}

// TestCLIOutputNotifyAlone: an output's own notify runs when there is no
// global notify at all.
func TestCLIOutputNotifyAlone(t *testing.T) {
	dir := t.TempDir()
	out, marker := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "notified")
	cfg := writeConfig(t, "from: "+example+"\noutputs:\n  - template: haproxy\n    dest: "+out+
		"\n    notify: echo {{.File}} >> "+marker+"\n")
	if _, stderr, err := run(t, "", "-c", cfg); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(marker); string(b) != out+"\n" {
		t.Errorf("the output's notify ran %q", b)
	}
}

// TestCLISpareBackends: --spare-backends sets the spare backends the
// built-in template declares with --haproxy-socket (32 by default), none
// without a socket, and a bad value is refused.
func TestCLISpareBackends(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock") // nothing listens: the render is written all the same
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--haproxy-socket", sock}, 32},
		{[]string{"--haproxy-socket", sock, "--spare-backends", "3"}, 3},
		{[]string{"--haproxy-socket", sock, "--spare-backends", "0"}, 0},
		{[]string{"--spare-backends", "3"}, 0},
	} {
		dest := filepath.Join(t.TempDir(), "haproxy.cfg")
		if _, stderr, err := run(t, "", append([]string{"--from", example, "-o", dest}, tc.args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		cfg, _ := os.ReadFile(dest)
		if got := strings.Count(string(cfg), "\nbackend _spare_http_"); got != tc.want {
			t.Errorf("%v: %d spare http backends, want %d", tc.args, got, tc.want)
		}
		if tc.want > 0 && !strings.Contains(string(cfg), "\nbackend _spare_http_0\n    # rproxy-gen: spare\n    mode http\n    balance roundrobin\n") {
			t.Errorf("%v: spare backend not as a route backend:\n%s", tc.args, cfg)
		}
	}
	if _, stderr, err := run(t, "", "--from", example, "--spare-backends", "-1"); err == nil || !strings.Contains(stderr+err.Error(), "from 0 to 1000") {
		t.Errorf("--spare-backends -1: %v %s", err, stderr)
	}
}
