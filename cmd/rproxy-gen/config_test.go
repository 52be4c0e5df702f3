package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// writeConfig writes a config file into a fresh temporary directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rproxy-gen.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runRoot is execute without stdin.
func runRoot(t *testing.T, args ...string) (*cobra.Command, string, string, error) {
	t.Helper()
	return execute(t, "", args...)
}

func TestConfigRender(t *testing.T) {
	want, _, err := run(t, "", "--from", example, "--stats-addr", "127.0.0.1:8404")
	if err != nil {
		t.Fatal(err)
	}
	// from is relative to the working directory (this package's directory
	// under go test), not to the config file's directory.
	cfg := writeConfig(t, "from: "+example+"\nstats_addr: 127.0.0.1:8404\n")
	for _, flag := range []string{"--config", "-c"} {
		got, stderr, err := run(t, "", flag, cfg)
		if err != nil {
			t.Fatalf("%s: %v\n%s", flag, err, stderr)
		}
		if got != want {
			t.Errorf("%s: the config file renders differently from the same flags", flag)
		}
	}
	if !strings.Contains(want, "bind 127.0.0.1:8404\n") {
		t.Fatalf("stats_addr not rendered:\n%s", want)
	}

	// A flag on the command line beats the file.
	got, _, err := run(t, "", "-c", cfg, "--stats-addr", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "bind :9000\n") || strings.Contains(got, "8404") {
		t.Errorf("--stats-addr on the command line did not override stats_addr:\n%s", got)
	}
	// --from on the command line beats from in the file.
	empty, _, err := run(t, "", "-c", cfg, "--from", "../../testdata/empty.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(empty, "shop") || !strings.Contains(empty, "bind 127.0.0.1:8404\n") {
		t.Errorf("--from did not override from, or stats_addr got lost:\n%s", empty)
	}
}

func TestConfigOutputs(t *testing.T) {
	dir := t.TempDir()
	hap := filepath.Join(dir, "haproxy", "haproxy.cfg")
	ngx := filepath.Join(dir, "nginx", "stream.conf")
	os.MkdirAll(filepath.Dir(hap), 0o755)
	os.MkdirAll(filepath.Dir(ngx), 0o755)
	cfg := writeConfig(t, `
from: `+example+`
check: "false"            # every output's check ...
outputs:
  - template: haproxy
    dest: `+hap+`
    check: "test -s {{.File}}"   # ... unless it has its own
  - template: nginx-stream
    dest: `+ngx+`
`)
	_, stderr, err := run(t, "", "-c", cfg)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 outputs failed") {
		t.Fatalf("err = %v, want the nginx output's global check to fail\n%s", err, stderr)
	}
	if _, err := os.Stat(hap); err != nil {
		t.Errorf("haproxy output with its own check not written: %v", err)
	}
	if _, err := os.Stat(ngx); err == nil {
		t.Errorf("nginx output written although the global check failed")
	}

	// --check on the command line replaces the file's check, but not an
	// output's own.
	_, stderr, err = run(t, "", "-c", cfg, "--check", "true")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, f := range []string{hap, filepath.Join(dir, "haproxy", "haproxy.http.map"), ngx} {
		if b, err := os.ReadFile(f); err != nil || len(b) == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(ngx); !strings.Contains(string(b), "server") {
		t.Errorf("%s is not an nginx stream config:\n%s", ngx, b)
	}

	// -t on the command line replaces the file's outputs: stdout only.
	got, _, err := run(t, "", "-c", cfg, "-t", "nginx-stream")
	if err != nil || !strings.Contains(got, "server") || strings.Contains(got, "frontend") {
		t.Errorf("-t did not replace the outputs list (err %v):\n%s", err, got)
	}
	// So does -o.
	one := filepath.Join(dir, "one.cfg")
	if _, stderr, err := run(t, "", "-c", cfg, "-o", one, "--check", "true"); err != nil {
		t.Errorf("-o: %v\n%s", err, stderr)
	} else if b, _ := os.ReadFile(one); !strings.Contains(string(b), "frontend http") {
		t.Errorf("-o did not get the default haproxy template:\n%s", b)
	}
}

func TestConfigSubcommand(t *testing.T) {
	cfg := writeConfig(t, `
from: `+example+`
stats_addr: 127.0.0.1:8404
strict: true
wait: 500ms
watch: true
write_mode: inplace
notify_signal: usr2
command_timeout: 5s
log_level: WARN
outputs:
  - template: nginx-stream
`)
	// model sees the persistent settings: from, stats_addr, strict.
	_, _, err := run(t, "", "model", "-c", cfg)
	if err == nil || !strings.Contains(err.Error(), "--strict") {
		t.Fatalf("model ignored strict: true: %v", err)
	}
	root, out, _, err := runRoot(t, "model", "-c", cfg, "--strict=false")
	if err != nil {
		t.Fatalf("--strict=false did not override strict: true: %v", err)
	}
	if !strings.Contains(out, "addr: 127.0.0.1:8404") {
		t.Errorf("model ignored stats_addr:\n%s", out)
	}
	// The root's own flags are set too, although model has none of them:
	// their values are bound to the options.
	want := map[string]string{
		"wait": "500ms:2s", "watch": "true", "write-mode": "inplace", "notify-signal": "SIGUSR2",
		"command-timeout": "5s", "log-level": "warn", "strict": "false", "stats-addr": "127.0.0.1:8404",
	}
	for name, v := range want {
		if got := root.Flags().Lookup(name).Value.String(); got != v {
			t.Errorf("--%s = %q, want %q", name, got, v)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(out, []byte("last good\n"), 0o644)
	tests := []struct {
		name string
		yaml string
		args []string // besides -c FILE
		want []string
	}{
		{"invalid values", "from: " + example + "\noutputs:\n  - dest: " + out + "\nwait: abc\nwrite_mode: copy\n", nil,
			[]string{"outputs[0].template: required", `wait: "abc": want MIN[:MAX]`, `write_mode: write mode "copy": want rename or inplace`}},
		// The file is checked even when flags override every key in it.
		{"invalid but overridden", "wait: abc\n", []string{"--from", example, "-o", out, "--wait", "1s"},
			[]string{`wait: "abc": want MIN[:MAX]`}},
		{"unknown key", "from: " + example + "\noutput: " + out + "\n", nil,
			[]string{`line 2: unknown key "output" (did you mean "outputs"?)`}},
		{"wrong type", "from: " + example + "\nwatch: often\n", nil, []string{`line 2: watch: "often": want true or false`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, tt.yaml)
			_, _, err := run(t, "", append([]string{"-c", cfg}, tt.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, cfg+": ") {
					t.Errorf("error line does not start with the file name: %q", line)
				}
			}
			if b, _ := os.ReadFile(out); string(b) != "last good\n" {
				t.Errorf("output file was touched: %q", b)
			}
		})
	}

	cfg := writeConfig(t, "from: "+example+"\noutputs:\n  - template: nosuch\n    dest: "+out+"\n")
	if _, _, err := run(t, "", "-c", cfg); err == nil || !strings.Contains(err.Error(), `template "nosuch" is not built in`) {
		t.Errorf("unknown template in outputs: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "last good\n" {
		t.Errorf("output file was touched: %q", b)
	}

	_, _, err := run(t, "", "-c", filepath.Join(dir, "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing config file: %v", err)
	}
}
