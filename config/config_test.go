package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestParseFull(t *testing.T) {
	f, err := Load("../testdata/config/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	want := &File{
		From: "../../testdata/example.json",
		Outputs: []Output{
			{Template: "haproxy", Dest: "out/haproxy.cfg", Check: "haproxy -c -f {{.File}}", Notify: "systemctl reload haproxy"},
			{Template: "nginx-stream", Dest: "out/stream.conf"},
			{Template: "templates/custom.tmpl"},
		},
		Check:           "true",
		Notify:          "echo changed",
		NotifyContainer: "haproxy",
		NotifySignal:    "usr2",
		Wait:            "500ms",
		CommandTimeout:  "1m",
		Network:         "proxy",
		StatsAddr:       "127.0.0.1:8404",
		Bind:            "192.0.2.10",
		WriteMode:       "inplace",
		Strict:          ptr(false),
		Watch:           ptr(true),
		LogFormat:       "json",
		LogLevel:        "debug",
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    *File  // checked when wantErr is empty
		wantErr string // substring of the Parse error
	}{
		{"empty file", "", &File{}, ""},
		{"only comments", "# nothing yet\n", &File{}, ""},
		{"explicit empty document", "---\n", &File{}, ""},
		{"false is set, not unset", "strict: false\n", &File{Strict: ptr(false)}, ""},
		{"unknown key", "from: x.json\nfrom_file: y.json\n", nil, `test.yaml: line 2: unknown key "from_file"`},
		{"flag spelling", "stats-addr: :8404\n", nil, `line 1: unknown key "stats-addr" (did you mean "stats_addr"?)`},
		{"output instead of outputs", "output: haproxy.cfg\n", nil, `unknown key "output" (did you mean "outputs"?)`},
		{"unknown key in an output", "outputs:\n  - template: haproxy\n    destination: x.cfg\n", nil, `line 3: unknown key "destination" in an outputs entry`},
		{"wrong type", "strict: maybe\n", nil, "line 1: cannot unmarshal"},
		{"outputs not a list", "outputs: haproxy\n", nil, "line 1: cannot unmarshal"},
		{"not a mapping", "- from\n", nil, "cannot unmarshal"},
		{"duplicate key", "bind: 127.0.0.1\nbind: ::1\n", nil, `"bind" already defined`},
		{"two documents", "from: a.json\n---\nfrom: b.json\n", nil, "line 2: a second YAML document"},
		{"syntax error", "outputs: [\n", nil, "test.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml), "test.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, tt.want) {
				t.Errorf("got %+v, want %+v", f, tt.want)
			}
			if err := f.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every one must be a line of the error
	}{
		{"template required", "outputs:\n  - dest: a.cfg\n  - dest: b.cfg\n    template: \"\"\n",
			[]string{"outputs[0].template: required", "outputs[1].template: required"}},
		{"same dest twice", "outputs:\n  - {template: haproxy, dest: out/a.cfg}\n  - {template: haproxy, dest: ./out//a.cfg}\n",
			[]string{`outputs[1].dest: "./out//a.cfg" is already the dest of outputs[0]`}},
		{"two outputs to stdout", "outputs:\n  - template: haproxy\n  - template: nginx-stream\n    dest: \"-\"\n",
			[]string{"outputs[1].dest: required: outputs[0] already goes to stdout, and only one output can"}},
		{"check without dest", "outputs:\n  - {template: haproxy, check: \"true\", notify: \"true\"}\n",
			[]string{"outputs[0].check: needs a dest: an output to stdout is not checked",
				"outputs[0].notify: needs a dest: an output to stdout never changes a file"}},
		{"per-output signal", "outputs:\n  - {template: haproxy, dest: a.cfg, notify_container: h, notify_signal: NOPE}\n  - {template: haproxy, dest: b.cfg, notify_signal: HUP}\n  - {template: haproxy, notify_container: h}\n",
			[]string{`outputs[0].notify_signal: "NOPE": want a signal name like HUP, SIGHUP, USR2 or a number`,
				"outputs[1].notify_signal: needs notify_container",
				"outputs[2].notify_container: needs a dest: an output to stdout never changes a file"}},
		{"per-output bind", "outputs:\n  - {template: haproxy, dest: a.cfg, bind: here}\n",
			[]string{`outputs[0].bind: "here" is not an IP address`}},
		{"wait syntax", "wait: abc\n", []string{`wait: "abc": want MIN[:MAX] durations like 100ms:2s`}},
		{"wait max below min", "wait: 2s:1s\n", []string{`wait: "2s:1s": MAX 1s is less than MIN 2s`}},
		{"write mode", "write_mode: copy\n", []string{`write_mode: "copy": want rename or inplace`}},
		{"log format", "log_format: xml\n", []string{`log_format: "xml": want text or json`}},
		{"log level", "log_level: verbose\n", []string{`log_level: "verbose": want debug, info, warn or error`}},
		{"signal name", "notify_signal: HUPP\n", []string{`notify_signal: "HUPP": want a signal name like HUP, SIGHUP, USR2 or a number`}},
		{"signal number", "notify_signal: \"99\"\n", []string{`notify_signal: "99": signal number out of range 1-64`}},
		{"timeout syntax", "command_timeout: 30\n", []string{`command_timeout: "30": want a duration like 30s or 1m`}},
		{"timeout zero", "command_timeout: 0s\n", []string{`command_timeout: "0s": must be positive`}},
		{"timeout negative", "command_timeout: -5s\n", []string{`command_timeout: "-5s": must be positive`}},
		{"stats addr", "stats_addr: nonsense\n", []string{`stats_addr: "nonsense": want [IP]:PORT`}},
		{"bind", "bind: not-an-ip\n", []string{`bind: "not-an-ip": want an IP address`}},
		{"all problems at once", "wait: x\nwrite_mode: copy\nlog_level: loud\noutputs:\n  - dest: a\n",
			[]string{"outputs[0].template: required", `wait: "x"`, `write_mode: "copy"`, `log_level: "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			err = f.Validate()
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("%d problems reported, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, w)
				}
				if !found {
					t.Errorf("no line starts with %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, y := range []string{
		"log_level: WARN\nlog_format: JSON\n",
		"notify_signal: SIGUSR2\n",
		"notify_signal: hup\n",
		"notify_signal: 10\n",
		"wait: \"0\"\n",
		"stats_addr: \"[::1]:8404\"\nbind: \"::\"\n",
		"outputs:\n  - template: haproxy\n    dest: \"-\"\n  - template: nginx-stream\n    dest: stream.conf\n",
	} {
		f, err := Parse([]byte(y), "test.yaml")
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load("testdata/nope.yaml"); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v, want the file name", err)
	}
}

func TestParseWait(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in       string
		min, max time.Duration
		wantErr  string
	}{
		{"100ms:2s", 100 * ms, 2 * time.Second, ""},
		{"500ms", 500 * ms, 2 * time.Second, ""},
		{"1s:1s", time.Second, time.Second, ""},
		{" 100ms : 1s ", 100 * ms, time.Second, ""},
		{"0", 0, 0, ""},
		{"0:1s", 0, time.Second, ""},
		{"", 0, 0, "want MIN[:MAX]"},
		{"abc", 0, 0, `"abc": want MIN[:MAX] durations like 100ms:2s`},
		{"100", 0, 0, "want MIN[:MAX]"},
		{"100ms:", 0, 0, "want MIN[:MAX]"},
		{"1s:2s:3s", 0, 0, "want MIN[:MAX]"},
		{"2s:1s", 0, 0, "MAX 1s is less than MIN 2s"},
		{"-1s", 0, 0, "MIN must not be negative"},
		{"-1s:1s", 0, 0, "MIN must not be negative"},
	}
	for _, tt := range tests {
		min, max, err := ParseWait(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseWait(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || min != tt.min || max != tt.max {
			t.Errorf("ParseWait(%q) = %v, %v, %v; want %v, %v", tt.in, min, max, err, tt.min, tt.max)
		}
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"HUP", "SIGHUP", ""},
		{"SIGHUP", "SIGHUP", ""},
		{"sigusr2", "SIGUSR2", ""},
		{" term ", "SIGTERM", ""},
		{"1", "1", ""},
		{"064", "64", ""},
		{"0", "", "out of range"},
		{"65", "", "out of range"},
		{"", "", "want a signal name"},
		{"SIG", "", "want a signal name"},
		{"RELOAD", "", "want a signal name"},
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSignal(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSignal(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// yamlBlock matches a ```yaml block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// TestDocsExample keeps docs/config.md honest: every YAML block in it parses
// and validates, and its sidecar example is testdata/config/sidecar.yaml.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/config.md has no ```yaml block")
	}
	var sidecar *File
	for i, b := range blocks {
		f, err := Parse(b[1], "docs/config.md")
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("block %d: %v", i, err)
		}
		if f.Watch != nil && *f.Watch {
			sidecar = f
		}
	}
	want, err := Load("../testdata/config/sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sidecar, want) {
		t.Errorf("the sidecar example of docs/config.md differs from testdata/config/sidecar.yaml:\n%+v\n%+v", sidecar, want)
	}
	if want.Watch == nil || !*want.Watch || want.Wait != "100ms:2s" ||
		len(want.Outputs) != 2 || want.Outputs[0].Template != "haproxy" || want.Outputs[1].Template != "nginx-stream" ||
		want.Outputs[0].NotifyContainer != "haproxy" || want.Outputs[1].NotifyContainer != "nginx" {
		t.Errorf("sidecar example lost its point: %+v", want)
	}
	if sig, err := ParseSignal(want.Outputs[0].NotifySignal); err != nil || sig != "SIGHUP" {
		t.Errorf("sidecar notify_signal = %q (%v), want SIGHUP", sig, err)
	}
}
