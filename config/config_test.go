package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the settings tables of docs/config.md")

// parse reads yaml into Defaults as if no flag was given.
func parse(t *testing.T, yaml string) (*Settings, error) {
	t.Helper()
	s := Defaults()
	err := Parse([]byte(yaml), "test.yaml", s, func(string) bool { return false })
	return s, err
}

func TestDefaults(t *testing.T) {
	s := Defaults()
	if s.NotifySignal != "SIGHUP" || s.CommandTimeout != 30*time.Second || s.Wait != (Wait{100 * time.Millisecond, 2 * time.Second}) ||
		s.WriteMode != "rename" || s.LogFormat != "text" || s.LogLevel != "info" || s.Watch || s.Strict ||
		s.HardStopAfter != 5*time.Minute || s.DrainTimeout != 30*time.Second || s.HAProxySocket != "" || s.MetricsAddr != "" || s.StatsPrometheus {
		t.Errorf("defaults: %+v", s)
	}
}

func TestParseFull(t *testing.T) {
	s := Defaults()
	if err := LoadFile("../testdata/config/full.yaml", s, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	*want = Settings{
		From: "../../testdata/example.json",
		Outputs: []Output{
			{Template: "haproxy", Dest: "out/haproxy.cfg", Check: "haproxy -c -f {{.File}}", Notify: "systemctl reload haproxy", HAProxySocket: "/run/haproxy/out.sock"},
			{Template: "nginx-stream", Dest: "out/stream.conf"},
			{Template: "templates/custom.tmpl"},
		},
		Check: "true", CheckContainer: "haproxy", Filters: []string{"label=com.example.proxy=public", "network=proxy"}, Host: "unix:///run/docker.sock",
		Notify: "echo changed", NotifyContainer: []string{"haproxy"}, NotifySignal: "SIGUSR2",
		Wait: Wait{500 * time.Millisecond, 2 * time.Second}, CommandTimeout: time.Minute, Network: "proxy",
		Swarm: true, Resync: Resync{Every: 5 * time.Second},
		StatsAddr: "127.0.0.1:8404", Bind: "192.0.2.10", Certs: "/etc/rproxy-gen/certs", WriteMode: "inplace", Strict: false, Watch: true,
		LogFormat: "json", LogLevel: "debug",
		HAProxySocket: "/run/haproxy/admin.sock", SpareBackends: 32, DrainTimeout: 10 * time.Second, HardStopAfter: 90 * time.Second,
		StatsPrometheus: true, MetricsAddr: "127.0.0.1:9101",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must start a line of the error; none: no error
	}{
		{"empty file", "", nil},
		{"only comments", "# nothing yet\n", nil},
		{"explicit empty document", "---\n", nil},
		{"unknown key", "from: x.json\nfrom_file: y.json\n", []string{`test.yaml: line 2: unknown key "from_file"`}},
		{"flag spelling", "stats-addr: :8404\n", []string{`test.yaml: line 1: unknown key "stats-addr" (did you mean "stats_addr"?)`}},
		{"output instead of outputs", "output: haproxy.cfg\n", []string{`test.yaml: line 1: unknown key "output" (did you mean "outputs"?)`}},
		{"unknown key in an output", "outputs:\n  - template: haproxy\n    destination: x.cfg\n",
			[]string{`test.yaml: line 3: unknown key "destination" in an outputs entry (did you mean "dest"?)`}},
		{"wrong type", "strict: maybe\n", []string{`test.yaml: line 1: strict: "maybe": want true or false`}},
		{"list for a value", "bind: [a, b]\n", []string{"test.yaml: line 1: bind: want a single value"}},
		{"outputs not a list", "outputs: haproxy\n", []string{"test.yaml: line 1: outputs: want a list"}},
		{"not a mapping", "- from\n", []string{"test.yaml: line 1: want a mapping"}},
		{"duplicate key", "bind: 127.0.0.1\nbind: ::1\n", []string{`test.yaml: line 2: key "bind" given twice`}},
		{"two documents", "from: a.json\n---\nfrom: b.json\n", []string{"test.yaml: line 2: a second YAML document"}},
		{"syntax error", "outputs: [\n", []string{"test.yaml: yaml:"}},
		{"template required", "outputs:\n  - dest: a.cfg\n  - dest: b.cfg\n    template: \"\"\n",
			[]string{"test.yaml: outputs[0].template: required", "test.yaml: outputs[1].template: required"}},
		{"same dest twice", "outputs:\n  - {template: haproxy, dest: out/a.cfg}\n  - {template: haproxy, dest: ./out//a.cfg}\n",
			[]string{`test.yaml: outputs[1].dest: "./out//a.cfg" is already the destination of outputs[0]`}},
		{"two outputs to stdout", "outputs:\n  - template: haproxy\n  - template: nginx-stream\n    dest: \"-\"\n",
			[]string{"test.yaml: outputs[1].dest: required: outputs[0] already goes to stdout, and only one output can"}},
		{"check without dest", "outputs:\n  - {template: haproxy, check: \"true\", notify: \"true\"}\n",
			[]string{"test.yaml: outputs[0].check: needs a dest", "test.yaml: outputs[0].notify: needs a dest"}},
		{"per-output signal", "outputs:\n  - {template: haproxy, dest: a.cfg, notify_container: h, notify_signal: NOPE}\n  - {template: haproxy, dest: b.cfg, notify_signal: HUP}\n  - {template: haproxy, notify_container: h}\n",
			[]string{`test.yaml: line 2: outputs[0].notify_signal: "NOPE": want a signal name like HUP, SIGHUP, USR2 or a number`,
				"test.yaml: outputs[1].notify_signal: needs notify_container", "test.yaml: outputs[2].notify_container: needs a dest"}},
		{"per-output signal without container", "outputs:\n  - {template: haproxy, dest: b.cfg, notify_signal: HUP}\n  - {template: haproxy, notify_container: h}\n",
			[]string{"test.yaml: outputs[0].notify_signal: needs notify_container", "test.yaml: outputs[1].notify_container: needs a dest"}},
		{"per-output bind", "outputs:\n  - {template: haproxy, dest: a.cfg, bind: here}\n",
			[]string{`test.yaml: line 2: outputs[0].bind: address "here" is not an IP address`}},
		{"per-output bind with a zone", "outputs:\n  - {template: haproxy, dest: a.cfg, bind: \"::1%lo\"}\n",
			[]string{`test.yaml: line 2: outputs[0].bind: address "::1%lo": IPv6 zones are not allowed`}},
		{"per-output notify may use File", "outputs:\n  - {template: haproxy, dest: a.cfg, notify: \"reload {{.File}}\"}\n", nil},
		{"global notify has no File", "notify: reload {{.File}}\n", []string{`test.yaml: line 1: notify: command "reload {{.File}}" uses a variable it does not have`}},
		{"check with a bad variable", "check: haproxy -c -f {{.Staged}}\n", []string{`test.yaml: line 1: check: command "haproxy -c -f {{.Staged}}" uses a variable`}},
		{"check syntax", "check: \"x {{.File\"\n", []string{"test.yaml: line 1: check: command"}},
		{"socket relative", "haproxy_socket: admin.sock\n", []string{`test.yaml: line 1: haproxy_socket: "admin.sock": want an absolute path`}},
		{"socket with a blank", "outputs:\n  - {template: haproxy, dest: a.cfg, haproxy_socket: \"/run/a b\"}\n",
			[]string{`test.yaml: line 2: outputs[0].haproxy_socket: "/run/a b": want an absolute path`}},
		{"hard stop negative", "hard_stop_after: -1s\n", []string{`test.yaml: line 1: hard_stop_after: "-1s": want 0 or at least 1ms`}},
		{"hard stop off", "hard_stop_after: 0\n", nil},
		{"drain timeout zero", "drain_timeout: 0s\n", []string{`test.yaml: line 1: drain_timeout: "0s": must be positive`}},
		{"metrics addr", "metrics_addr: nowhere\n", []string{"test.yaml: line 1: metrics_addr:"}},
		{"wait syntax", "wait: abc\n", []string{`test.yaml: line 1: wait: "abc": want MIN[:MAX] durations like 100ms:2s`}},
		{"wait max below min", "wait: 2s:1s\n", []string{`test.yaml: line 1: wait: "2s:1s": MAX 1s is less than MIN 2s`}},
		{"write mode", "write_mode: copy\n", []string{`test.yaml: line 1: write_mode: write mode "copy": want rename or inplace`}},
		{"log format", "log_format: xml\n", []string{`test.yaml: line 1: log_format: "xml": want text or json`}},
		{"log level", "log_level: verbose\n", []string{`test.yaml: line 1: log_level: "verbose": want debug, info, warn or error`}},
		{"log level offset", "log_level: info+2\n", []string{`test.yaml: line 1: log_level: "info+2"`}},
		{"signal name", "notify_signal: HUPP\n", []string{`test.yaml: line 1: notify_signal: "HUPP": want a signal name`}},
		{"signal number", "notify_signal: \"99\"\n", []string{`test.yaml: line 1: notify_signal: "99": signal number out of range 1-64`}},
		{"timeout syntax", "command_timeout: 30\n", []string{`test.yaml: line 1: command_timeout: "30": want a duration like 30s or 1m`}},
		{"timeout zero", "command_timeout: 0s\n", []string{`test.yaml: line 1: command_timeout: "0s": must be positive`}},
		{"stats addr", "stats_addr: nonsense\n", []string{`test.yaml: line 1: stats_addr: "nonsense": want [IP]:PORT`}},
		{"stats addr with a zone", "stats_addr: \"[::1%lo]:80\"\n", []string{`test.yaml: line 1: stats_addr: "[::1%lo]:80": host must be an IP address without zone`}},
		{"stats port range", "stats_addr: \":70000\"\n", []string{`test.yaml: line 1: stats_addr: ":70000": port "70000" out of range`}},
		{"bind", "bind: not-an-ip\n", []string{`test.yaml: line 1: bind: address "not-an-ip" is not an IP address`}},
		{"certs with a space", "certs: /etc/my certs\n", []string{`test.yaml: line 1: certs: certificate dir "/etc/my certs": character " " not allowed`}},
		{"certs with a quote", "certs: \"/etc/a'b\"\n", []string{`test.yaml: line 1: certs: certificate dir`}},
		{"certs empty", "certs: \"\"\n", []string{`test.yaml: line 1: certs: want a directory`}},
		{"all problems at once", "wait: x\nwrite_mode: copy\nlog_level: loud\noutputs:\n  - dest: a\n",
			[]string{"test.yaml: outputs[0].template: required", `test.yaml: line 1: wait: "x"`, `test.yaml: line 2: write_mode:`, `test.yaml: line 3: log_level: "loud"`}},
		{"accepts: levels in any case", "log_level: WARN\nlog_format: JSON\n", nil},
		{"accepts: signals", "notify_signal: hup\n", nil},
		{"accepts: no debounce", "wait: \"0\"\n", nil},
		{"accepts: IPv6", "stats_addr: \"[::1]:8404\"\nbind: \"::\"\n", nil},
		{"filter syntax", "filter: [label=a, colour=blue, network]\n", []string{
			`test.yaml: line 1: filter: filter "colour=blue": unknown key "colour"`, `test.yaml: line 1: filter: filter "network": want KEY=VALUE`}},
		{"host scheme", "host: ftp://x\n", []string{`test.yaml: line 1: host: "ftp://x": unsupported scheme "ftp"`}},
		{"host ssh", "host: ssh://me@box\n", []string{`test.yaml: line 1: host: "ssh://me@box": ssh:// needs the docker CLI's helper`}},
		{"check container without dest", "outputs:\n  - {template: haproxy, check_container: h}\n", []string{"test.yaml: outputs[0].check_container: needs a dest"}},
		{"notify containers: a mapping is no list", "notify_container: {a: b}\n", []string{"test.yaml: line 1: notify_container: want a single value"}},
		{"master socket without container", "outputs:\n  - {template: haproxy, dest: a.cfg, haproxy_master_socket: /run/m.sock}\n",
			[]string{"test.yaml: outputs[0].haproxy_master_socket: needs notify_container"}},
		{"accepts: notify containers as a list", "notify_container: [haproxy, nginx]\n", nil},
		{"accepts: check container", "check_container: haproxy\noutputs:\n  - {template: haproxy, dest: a.cfg, check_container: other}\n", nil},
		{"accepts: dash is stdout", "outputs:\n  - template: haproxy\n    dest: \"-\"\n  - template: nginx-stream\n    dest: stream.conf\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.yaml)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
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

// TestParseCommandLineWins: a key whose flag was given keeps the flag's
// value, but a bad value in the file is still an error.
func TestParseCommandLineWins(t *testing.T) {
	s := Defaults()
	s.Bind = "10.0.0.1"
	err := Parse([]byte("bind: 10.0.0.2\nnetwork: apps\n"), "t.yaml", s, func(f string) bool { return f == "bind" })
	if err != nil || s.Bind != "10.0.0.1" || s.Network != "apps" {
		t.Errorf("bind %q network %q err %v", s.Bind, s.Network, err)
	}
	err = Parse([]byte("bind: nope\n"), "t.yaml", s, func(f string) bool { return f == "bind" })
	if err == nil || s.Bind != "10.0.0.1" {
		t.Errorf("an overridden bad value: err %v, bind %q", err, s.Bind)
	}
}

func TestLoadMissing(t *testing.T) {
	if err := LoadFile("testdata/nope.yaml", Defaults(), nil); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v, want the file name", err)
	}
}

// TestFlags: flags are validated by the same checks as the file's keys.
func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--log-level", "bogus"}, `"bogus": want debug, info, warn or error`},
		{[]string{"--log-format", "xml"}, `"xml": want text or json`},
		{[]string{"--wait", "soon"}, "want MIN[:MAX]"},
		{[]string{"--notify-signal", "SIGNOPE"}, "want a signal name"},
		{[]string{"--bind", "::1%lo]:80 x"}, "IPv6 zones are not allowed"},
		{[]string{"--bind", "localhost"}, "not an IP address"},
		{[]string{"--notify", "reload {{.File}}"}, "the global notify runs once"},
		{[]string{"--command-timeout", "-1s"}, "must be positive"},
		{[]string{"--write-mode", "copy"}, "want rename or inplace"},
		{[]string{"-o", "somedir/"}, `"somedir/" is a directory`},
		{[]string{"--filter", "label"}, "want KEY=VALUE"},
		{[]string{"-H", "docker.example.com"}, "want unix:///path/to/docker.sock or tcp://HOST:PORT"},
		{[]string{"--watch", "--strict=false", "-t", "a", "-t", "b:x", "--log-level", "DEBUG"}, ""},
	}
	for _, tt := range tests {
		s := Defaults()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		AddFlags(fs, Root, s)
		AddFlags(fs, All, s)
		err := fs.Parse(tt.args)
		if tt.wantErr == "" {
			if err != nil || !s.Watch || strings.Join(s.Templates, " ") != "a b:x" || s.LogLevel != "debug" {
				t.Errorf("%v: err %v, settings %+v", tt.args, err, s)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}

// TestRepeatableSettings: --notify-container and --filter keep every value
// given, on the command line and in the file alike, in order.
func TestRepeatableSettings(t *testing.T) {
	s := Defaults()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, Root, s)
	AddFlags(fs, All, s)
	err := fs.Parse([]string{"--notify-container", "a", "--notify-container", "b", "--filter", "label=com.example.proxy=public",
		"--filter", "Network=apps", "-H", "tcp://127.0.0.1:2375"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.NotifyContainer, []string{"a", "b"}) || !reflect.DeepEqual(s.Filters, []string{"label=com.example.proxy=public", "network=apps"}) ||
		s.Host != "tcp://127.0.0.1:2375" {
		t.Errorf("flags: %+v", s)
	}
	f, err := parse(t, "notify_container: [haproxy, nginx]\nfilter: label=x\nhost: unix:///tmp/d.sock\n")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.NotifyContainer, []string{"haproxy", "nginx"}) || !reflect.DeepEqual(f.Filters, []string{"label=x"}) || f.Host != "unix:///tmp/d.sock" {
		t.Errorf("file: %+v", f)
	}
}

func TestSignalWarning(t *testing.T) {
	for sig, want := range map[string]string{
		"SIGHUP": "", "SIGUSR2": "", "1": "", "12": "",
		"SIGKILL": "the proxy stops instead of reloading", "9": "SIGKILL kills",
		"SIGSTOP": "pauses the proxy", "SIGTERM": "stops HAProxy and nginx", "SIGINT": "stops HAProxy",
		"SIGQUIT": "stops nginx", "SIGUSR1": "stop signal of the official haproxy image", "10": "SIGUSR1",
		"SIGABRT": "dump core", "SIGWINCH": "is not a reload signal", "SIGALRM": "is not a reload signal",
		"40": "has no name",
	} {
		got := SignalWarning(sig)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("SignalWarning(%s) = %q, want %q", sig, got, want)
		}
	}
}

// TestCompletionValues: the values completion offers are accepted by the
// setting's own check, so completion never suggests a value that fails.
func TestCompletionValues(t *testing.T) {
	offered := map[string]bool{}
	for _, d := range Defs() {
		if d.Values == nil {
			continue
		}
		for _, v := range d.Values() {
			v, _, _ = strings.Cut(v, "\t")
			offered[d.Name] = true
			if d.Check == nil || strings.HasSuffix(v, "=") {
				continue
			}
			if _, err := d.Check(v); err != nil {
				t.Errorf("--%s offers %q, which it refuses: %v", d.Name, v, err)
			}
		}
	}
	for _, name := range []string{"template", "log-format", "log-level", "write-mode", "notify-signal", "filter"} {
		if !offered[name] {
			t.Errorf("--%s offers no values to complete", name)
		}
	}
}

func TestResolveOutputs(t *testing.T) {
	tests := []struct {
		name     string
		s        Settings
		args     []string
		want     []Output
		wantErrs []string
	}{
		{"default", Settings{}, nil, []Output{{Template: "haproxy"}}, nil},
		{"-o", Settings{Output: "a.cfg", Check: "c"}, nil, []Output{{Template: "haproxy", Dest: "a.cfg", Check: "c"}}, nil},
		{"positional", Settings{}, []string{"nginx-stream", "s.conf"}, []Output{{Template: "nginx-stream", Dest: "s.conf"}}, nil},
		{"-t with dests", Settings{Templates: []string{"haproxy:a.cfg", "nginx-stream:-"}}, nil,
			[]Output{{Template: "haproxy", Dest: "a.cfg"}, {Template: "nginx-stream"}}, nil},
		{"file outputs take the globals", Settings{Check: "g", NotifySignal: "SIGUSR2", Outputs: []Output{
			{Template: "haproxy", Dest: "a.cfg", NotifyContainer: "h"}, {Template: "x", Dest: "b.cfg", Check: "own"}}}, nil,
			[]Output{{Template: "haproxy", Dest: "a.cfg", Check: "g", NotifyContainer: "h", NotifySignal: "SIGUSR2"}, {Template: "x", Dest: "b.cfg", Check: "own"}}, nil},
		{"-t replaces the file's outputs", Settings{Templates: []string{"nginx-stream"}, Outputs: []Output{{Template: "haproxy", Dest: "a"}}}, nil,
			[]Output{{Template: "nginx-stream"}}, nil},
		{"-t twice to one file", Settings{Templates: []string{"haproxy:a.cfg", "nginx-stream:./a.cfg"}}, nil, nil,
			[]string{`-t nginx-stream:./a.cfg.dest: "./a.cfg" is already the destination of -t haproxy:a.cfg`}},
		{"-t twice to stdout", Settings{Templates: []string{"haproxy", "nginx-stream"}}, nil, nil,
			[]string{"-t nginx-stream.dest: required: -t haproxy already goes to stdout"}},
		{"positional and -t", Settings{Templates: []string{"haproxy"}}, []string{"haproxy"}, nil, []string{"not both"}},
		{"-o with two templates", Settings{Output: "a", Templates: []string{"x", "y"}}, nil, nil, []string{"-o goes with a single template"}},
		{"socket to haproxy outputs only", Settings{HAProxySocket: "/run/h.sock", Templates: []string{"haproxy:a.cfg", "nginx-stream:s.conf"}}, nil,
			[]Output{{Template: "haproxy", Dest: "a.cfg", HAProxySocket: "/run/h.sock"}, {Template: "nginx-stream", Dest: "s.conf"}}, nil},
		{"socket not to stdout", Settings{HAProxySocket: "/run/h.sock"}, nil, []Output{{Template: "haproxy"}}, nil},
		{"socket shared", Settings{HAProxySocket: "/run/h.sock", Outputs: []Output{{Template: "haproxy", Dest: "a.cfg"}, {Template: "my.tmpl", Dest: "b.cfg"}}}, nil, nil,
			[]string{`outputs[1].haproxy_socket: "/run/h.sock" is already the socket of outputs[0]`}},
		{"socket on nginx-stream", Settings{Outputs: []Output{{Template: "nginx-stream", Dest: "a.conf", HAProxySocket: "/run/h.sock"}}}, nil, nil,
			[]string{"outputs[0].haproxy_socket: the nginx-stream template does not render HAProxy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.ResolveOutputs(tt.args)
			if len(tt.wantErrs) > 0 {
				for _, w := range tt.wantErrs {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want %q", err, w)
					}
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
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
	var sidecar *Settings
	for i, b := range blocks {
		s, err := parse(t, string(b[1]))
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if s.Watch {
			sidecar = s
		}
	}
	want := Defaults()
	if err := LoadFile("../testdata/config/sidecar.yaml", want, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sidecar, want) {
		t.Errorf("the sidecar example of docs/config.md differs from testdata/config/sidecar.yaml:\n%+v\n%+v", sidecar, want)
	}
	if !want.Watch || want.Wait != (Wait{100 * time.Millisecond, 2 * time.Second}) ||
		len(want.Outputs) != 2 || want.Outputs[0].Template != "haproxy" || want.Outputs[1].Template != "nginx-stream" ||
		want.Outputs[0].NotifyContainer != "haproxy" || want.Outputs[1].NotifyContainer != "nginx" || want.Outputs[0].NotifySignal != "SIGHUP" {
		t.Errorf("sidecar example lost its point: %+v", want)
	}
}

const (
	tableBegin = "<!-- settings table: generated from config.Defs by go test ./config -update -->\n"
	tableEnd   = "<!-- end of settings table -->\n"
)

// TestDocsTable keeps the reference tables of docs/config.md in step with
// the setting declarations; -update rewrites them.
func TestDocsTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i, j := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("docs/config.md lacks the markers %q ... %q", tableBegin, tableEnd)
	}
	want := text[:i+len(tableBegin)] + Markdown() + text[j:]
	if *update {
		if err := os.WriteFile("../docs/config.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != text {
		t.Errorf("docs/config.md's settings tables differ from config.Defs: run go test ./config -update and review the diff")
	}
}

// TestEveryFlagDocumented: every setting has usage text, a flag name in
// kebab case and, where it takes a value, a name for the value.
func TestEveryFlagDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Defs() {
		if d.Usage == "" || d.Field == nil || seen[d.Name] || strings.ToLower(d.Name) != d.Name || strings.Contains(d.Name, "_") {
			t.Errorf("setting %q: usage, field, unique kebab-case name required", d.Name)
		}
		seen[d.Name] = true
		if _, isBool := d.Field(&Settings{}).(*bool); !isBool && d.Meta == "" {
			t.Errorf("setting %q takes a value but has no Meta", d.Name)
		}
	}
}

// TestCertsMadeAbsolute: a relative certificate directory is made absolute
// (the config names certificate files by absolute path), from a flag and
// the file alike.
func TestCertsMadeAbsolute(t *testing.T) {
	wd, _ := os.Getwd()
	s, err := parse(t, "certs: certs/live\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "certs", "live"); s.Certs != want {
		t.Errorf("certs = %q, want %q", s.Certs, want)
	}
	d, _ := lookup("certs")
	if got, err := d.Check("./x/../y"); err != nil || got != filepath.Join(wd, "y") {
		t.Errorf("flag check = %q, %v", got, err)
	}
}
