package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/compile"
	"github.com/rproxy-gen/rproxy-gen/config"
)

// applyConfig reads --config and sets every option the command line did not
// set. It runs before every command (root, model, snapshot), so subcommands
// see the file's settings too, including those of flags only the root has.
// The file's outputs list goes to o.outputs; parseOutputs ignores it when -t
// or -o is given.
func applyConfig(cmd *cobra.Command, o *options) error {
	if o.configFile == "" {
		return nil
	}
	f, err := config.Load(o.configFile)
	if err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return prefixErrors(o.configFile, err)
	}

	// changed tells whether the flag was given on the command line. A
	// subcommand's FlagSet holds the inherited persistent flags after
	// parsing, but not the root's local flags: look there too.
	changed := func(name string) bool {
		return cmd.Flags().Changed(name) || cmd.Root().Flags().Changed(name)
	}
	str := func(flag, value string, dst *string) {
		if value != "" && !changed(flag) {
			*dst = value
		}
	}
	boolean := func(flag string, value *bool, dst *bool) {
		if value != nil && !changed(flag) {
			*dst = *value
		}
	}

	str("from", f.From, &o.from)
	str("check", f.Check, &o.check)
	str("notify", f.Notify, &o.notify)
	str("notify-container", f.NotifyContainer, &o.notifyContainer)
	str("wait", f.Wait, &o.wait)
	str("network", f.Network, &o.network)
	str("stats-addr", f.StatsAddr, &o.statsAddr)
	str("bind", f.Bind, &o.bind)
	str("write-mode", f.WriteMode, &o.writeMode)
	str("log-format", strings.ToLower(f.LogFormat), &o.logFormat)
	str("log-level", strings.ToLower(f.LogLevel), &o.logLevel)
	boolean("strict", f.Strict, &o.strict)
	boolean("watch", f.Watch, &o.watch)
	if f.NotifySignal != "" && !changed("notify-signal") {
		sig, err := config.ParseSignal(f.NotifySignal)
		if err != nil { // Validate already checked it
			return fmt.Errorf("%s: notify_signal: %w", o.configFile, err)
		}
		o.notifySignal = sig
	}
	if f.CommandTimeout != "" && !changed("command-timeout") {
		d, err := time.ParseDuration(f.CommandTimeout)
		if err != nil { // Validate already checked it
			return fmt.Errorf("%s: command_timeout: %w", o.configFile, err)
		}
		o.cmdTimeout = d
	}
	o.outputs = nil
	for _, out := range f.Outputs {
		spec := outputSpec{Template: out.Template, Dest: out.Dest, Check: out.Check, Notify: out.Notify, Bind: out.Bind,
			NotifyContainer: out.NotifyContainer}.stdoutDash()
		if out.NotifySignal != "" {
			if spec.NotifySignal, err = config.ParseSignal(out.NotifySignal); err != nil { // Validate already checked it
				return fmt.Errorf("%s: notify_signal: %w", o.configFile, err)
			}
		}
		o.outputs = append(o.outputs, spec)
	}
	return nil
}

// prefixErrors puts the file name in front of every joined error, one
// problem per line: "FILE: KEY: message".
func prefixErrors(name string, err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s: %w", name, e)
	}
	return errors.Join(out...)
}

// specOutputs loads the templates of the outputs. An output without its own
// check command gets check (--check or the file's check).
func specOutputs(specs []outputSpec, check string) ([]compile.Output, error) {
	var outs []compile.Output
	stdout := 0
	for _, s := range specs {
		t, err := compile.Load(s.Template)
		if err != nil {
			return nil, err
		}
		if s.Dest == "" {
			stdout++
		}
		c := s.Check
		if c == "" {
			c = check
		}
		outs = append(outs, compile.Output{Template: t, Dest: s.Dest, Check: c, Notify: s.Notify, Bind: s.Bind,
			NotifyContainer: s.NotifyContainer, NotifySignal: s.NotifySignal})
	}
	if stdout > 1 {
		return nil, fmt.Errorf("only one output can go to stdout; give the others a dest")
	}
	return outs, nil
}
