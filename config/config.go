// Package config reads rproxy-gen's YAML configuration file (--config).
//
// The file holds the same settings as the command-line flags, for the cases
// where a long command line is awkward, typically a sidecar container whose
// settings live in a mounted file. Keys are the flag names in snake_case
// (stats_addr for --stats-addr), plus an outputs list that replaces -t/-o with
// one entry per template and destination. Decoding is strict: an unknown key,
// a second YAML document or a value of the wrong type is an error, and
// Validate reports every invalid value at once, each naming its key.
//
// This package only parses and validates; the command applies the settings
// and gives command-line flags precedence over the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// File is the content of a configuration file. An empty string, a nil
// pointer or an empty list means "not set": the flag's value (or default)
// applies. Relative paths are used as they are, so they are relative to the
// working directory of rproxy-gen, like the same paths given as flags.
type File struct {
	// From is --from: a docker-inspect JSON snapshot or a YAML model, "-"
	// for stdin; unset means the Docker daemon.
	From string `yaml:"from"`
	// Outputs replaces -t/-o: each entry renders one template to one
	// destination.
	Outputs []Output `yaml:"outputs"`
	// Check is --check, the default check command of every output.
	Check string `yaml:"check"`
	// Notify is --notify, run after any output changed.
	Notify string `yaml:"notify"`
	// NotifyContainer is --notify-container.
	NotifyContainer string `yaml:"notify_container"`
	// NotifySignal is --notify-signal (see ParseSignal).
	NotifySignal string `yaml:"notify_signal"`
	// Wait is --wait, "MIN[:MAX]" (see ParseWait).
	Wait string `yaml:"wait"`
	// CommandTimeout is --command-timeout, a Go duration such as "30s".
	CommandTimeout string `yaml:"command_timeout"`
	// Network is --network.
	Network string `yaml:"network"`
	// StatsAddr is --stats-addr, "[IP]:PORT".
	StatsAddr string `yaml:"stats_addr"`
	// Bind is --bind, an IP address.
	Bind string `yaml:"bind"`
	// WriteMode is --write-mode: rename or inplace.
	WriteMode string `yaml:"write_mode"`
	// Strict is --strict; nil means not set.
	Strict *bool `yaml:"strict"`
	// Watch is --watch; nil means not set.
	Watch *bool `yaml:"watch"`
	// LogFormat is --log-format: text or json.
	LogFormat string `yaml:"log_format"`
	// LogLevel is --log-level: debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
}

// Output is one template rendered to one destination.
type Output struct {
	// Template is a built-in template name (haproxy, nginx-stream) or a
	// template file. Required.
	Template string `yaml:"template"`
	// Dest is the file to write; empty or "-" means stdout (one output at
	// most).
	Dest string `yaml:"dest"`
	// Check overrides the file's check command for this output.
	Check string `yaml:"check"`
	// Notify is a command run after this output changed, besides the
	// file's notify command.
	Notify string `yaml:"notify"`
	// Bind overrides the file's bind address for this output only, e.g. to
	// run HAProxy on one IP and nginx stream on another.
	Bind string `yaml:"bind"`
	// NotifyContainer is a container to signal after this output changed,
	// besides the file's notify_container: with two proxies beside a
	// sidecar image that has no shell, each output signals its own proxy.
	NotifyContainer string `yaml:"notify_container"`
	// NotifySignal is the signal for NotifyContainer (default: the file's
	// notify_signal, HUP).
	NotifySignal string `yaml:"notify_signal"`
}

// IsStdout tells whether the output goes to standard output.
func (o Output) IsStdout() bool { return o.Dest == "" || o.Dest == "-" }

// Load reads and parses the file at path; see Parse.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a configuration file strictly: unknown keys, wrong types and
// more than one YAML document are errors, each naming its line. An empty file
// (or one with only comments) gives an empty File. name prefixes the errors.
// Parse does not validate values: call Validate.
func Parse(data []byte, name string) (*File, error) {
	f := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		return nil, fmt.Errorf("%s: %w", name, decodeError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, decodeError(err))
		}
		return nil, fmt.Errorf("%s: line %d: a second YAML document: want a single document", name, extra.Line)
	}
	return f, nil
}

var unknownField = regexp.MustCompile(`^(line \d+): field (.+) not found in type config\.(\w+)$`)

// decodeError rewrites yaml's "field X not found in type config.File" into
// "unknown key" messages, with a hint when the key is a flag name.
func decodeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		m := unknownField.FindStringSubmatch(e)
		if m == nil {
			msgs[i] = e
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %q", m[1], m[2])
		var t reflect.Type
		if m[3] == "Output" {
			msg += " in an outputs entry"
			t = reflect.TypeFor[Output]()
		} else {
			t = reflect.TypeFor[File]()
		}
		if s := suggest(t, m[2]); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		msgs[i] = msg
	}
	return errors.New(strings.Join(msgs, "; "))
}

// suggest returns the key of t that the unknown key probably meant.
func suggest(t reflect.Type, key string) string {
	norm := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	switch norm {
	case "output", "template", "templates":
		if t == reflect.TypeFor[File]() {
			return "outputs"
		}
	case "command_timeout", "timeout":
		norm = "command_timeout"
	}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == norm || tag+"s" == norm || tag == norm+"s" {
			return tag
		}
	}
	return ""
}

// Validate checks every value and reports all problems at once (joined with
// errors.Join), each starting with the key it is about, such as
// "outputs[1].template: required". Outputs are counted from 0.
func (f *File) Validate() error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}

	stdout := -1
	dests := map[string]int{}
	for i, out := range f.Outputs {
		key := fmt.Sprintf("outputs[%d]", i)
		if strings.TrimSpace(out.Template) == "" {
			add(key+".template", "required")
		}
		if out.Bind != "" && net.ParseIP(out.Bind) == nil {
			add(key+".bind", "%q is not an IP address", out.Bind)
		}
		if out.NotifySignal != "" {
			if _, err := ParseSignal(out.NotifySignal); err != nil {
				add(key+".notify_signal", "%v", err)
			}
			if out.NotifyContainer == "" {
				add(key+".notify_signal", "needs notify_container")
			}
		}
		if !out.IsStdout() {
			clean := filepath.Clean(out.Dest)
			if j, ok := dests[clean]; ok {
				add(key+".dest", "%q is already the dest of outputs[%d]", out.Dest, j)
			} else {
				dests[clean] = i
			}
			continue
		}
		if stdout >= 0 {
			add(key+".dest", "required: outputs[%d] already goes to stdout, and only one output can", stdout)
		} else {
			stdout = i
		}
		if out.Check != "" {
			add(key+".check", "needs a dest: an output to stdout is not checked")
		}
		if out.Notify != "" {
			add(key+".notify", "needs a dest: an output to stdout never changes a file")
		}
		if out.NotifyContainer != "" {
			add(key+".notify_container", "needs a dest: an output to stdout never changes a file")
		}
	}

	if f.NotifySignal != "" {
		if _, err := ParseSignal(f.NotifySignal); err != nil {
			add("notify_signal", "%v", err)
		}
	}
	if f.Wait != "" {
		if _, _, err := ParseWait(f.Wait); err != nil {
			add("wait", "%v", err)
		}
	}
	if f.CommandTimeout != "" {
		d, err := time.ParseDuration(f.CommandTimeout)
		switch {
		case err != nil:
			add("command_timeout", "%q: want a duration like 30s or 1m", f.CommandTimeout)
		case d <= 0:
			add("command_timeout", "%q: must be positive", f.CommandTimeout)
		}
	}
	if f.StatsAddr != "" {
		if err := model.ValidateListenAddr(f.StatsAddr); err != nil {
			add("stats_addr", "%v", err)
		}
	}
	if f.Bind != "" {
		if _, err := netip.ParseAddr(f.Bind); err != nil {
			add("bind", "%q: want an IP address", f.Bind)
		}
	}
	if f.WriteMode != "" && f.WriteMode != "rename" && f.WriteMode != "inplace" {
		add("write_mode", "%q: want rename or inplace", f.WriteMode)
	}
	switch strings.ToLower(f.LogFormat) {
	case "", "text", "json":
	default:
		add("log_format", "%q: want text or json", f.LogFormat)
	}
	switch strings.ToLower(f.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		add("log_level", "%q: want debug, info, warn or error", f.LogLevel)
	}
	return errors.Join(errs...)
}
