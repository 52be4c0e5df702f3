package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ResolveOutputs returns what to render where: the positional TEMPLATE
// [DEST] arguments, else -t TEMPLATE[:DEST] (with -o for a single one), else
// the config file's outputs list, else the haproxy template to -o or stdout.
// A dest "-" becomes "" (stdout); an output's unset check and notify signal
// take the global ones. Every problem is reported at once (see
// checkOutputs).
func (s *Settings) ResolveOutputs(args []string) ([]Output, error) {
	outs, labels, err := s.outputs(args)
	if err != nil {
		return nil, err
	}
	if err := checkOutputs(outs, labels); err != nil {
		return nil, err
	}
	for i := range outs {
		o := &outs[i]
		if o.IsStdout() {
			o.Dest = ""
			continue
		}
		if o.Check == "" {
			o.Check = s.Check
		}
		if o.CheckContainer == "" {
			o.CheckContainer = s.CheckContainer
		}
		if o.NotifyContainer != "" && o.NotifySignal == "" {
			o.NotifySignal = s.NotifySignal
		}
		if o.HAProxySocket == "" && o.Template != "nginx-stream" {
			o.HAProxySocket = s.HAProxySocket
		}
	}
	if err := checkSockets(outs, labels); err != nil {
		return nil, err
	}
	return outs, nil
}

// checkSockets refuses a HAProxy socket on the nginx-stream template or on
// an output to stdout, and one socket shared by two outputs (each HAProxy
// runs one config).
func checkSockets(outs []Output, labels []string) error {
	var errs []error
	seen := map[string]int{}
	for i, o := range outs {
		switch {
		case o.HAProxySocket == "":
			continue
		case o.Template == "nginx-stream":
			errs = append(errs, fmt.Errorf("%s.haproxy_socket: the nginx-stream template does not render HAProxy", labels[i]))
		case o.IsStdout():
			errs = append(errs, fmt.Errorf("%s.haproxy_socket: needs a dest: an output to stdout is not applied to HAProxy", labels[i]))
		}
		if j, ok := seen[o.HAProxySocket]; ok {
			errs = append(errs, fmt.Errorf("%s.haproxy_socket: %q is already the socket of %s; give each output its own", labels[i], o.HAProxySocket, labels[j]))
		} else {
			seen[o.HAProxySocket] = i
		}
	}
	return errors.Join(errs...)
}

// checkOutputs reports every problem of a list of outputs, each named by its
// label: a template missing, two outputs on stdout or on one file, a check or
// notify on an output to stdout, a notify signal without a container.
func checkOutputs(outs []Output, labels []string) error {
	var errs []error
	add := func(i int, key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", labels[i], key, fmt.Sprintf(format, a...)))
	}
	stdout := -1
	dests := map[string]int{}
	for i, o := range outs {
		if strings.TrimSpace(o.Template) == "" {
			add(i, ".template", "required")
		}
		if o.NotifySignal != "" && o.NotifyContainer == "" {
			add(i, ".notify_signal", "needs notify_container")
		}
		if o.MasterSocket != "" && o.NotifyContainer == "" {
			add(i, ".haproxy_master_socket", "needs notify_container: it confirms the reloads that signal asks for")
		}
		if !o.IsStdout() {
			clean := filepath.Clean(o.Dest)
			if j, ok := dests[clean]; ok {
				add(i, ".dest", "%q is already the destination of %s", o.Dest, labels[j])
			} else {
				dests[clean] = i
			}
			continue
		}
		if stdout >= 0 {
			add(i, ".dest", "required: %s already goes to stdout, and only one output can", labels[stdout])
		} else {
			stdout = i
		}
		for _, kv := range [][2]string{{"check", o.Check}, {"check_container", o.CheckContainer}, {"notify", o.Notify}, {"notify_container", o.NotifyContainer}} {
			if kv[1] != "" {
				add(i, "."+kv[0], "needs a dest: an output to stdout is not written to a file")
			}
		}
	}
	return errors.Join(errs...)
}

// outputs picks the source of the outputs and labels each for messages.
func (s *Settings) outputs(args []string) ([]Output, []string, error) {
	if len(args) > 0 {
		if len(s.Templates) > 0 {
			return nil, nil, fmt.Errorf("give templates as -t TEMPLATE[:DEST] or as arguments TEMPLATE [DEST], not both")
		}
		o := Output{Template: args[0], Dest: s.Output}
		if len(args) == 2 {
			if s.Output != "" {
				return nil, nil, fmt.Errorf("give the destination as -o or as the DEST argument, not both")
			}
			o.Dest = args[1]
		}
		return []Output{o}, []string{"TEMPLATE " + args[0]}, nil
	}
	if len(s.Templates) == 0 && s.Output == "" && len(s.Outputs) > 0 {
		outs := append([]Output(nil), s.Outputs...) // the config file's; -t or -o replace them
		return outs, fileLabels(len(outs)), nil
	}
	raw := s.Templates
	if len(raw) == 0 {
		raw = []string{"haproxy"}
	}
	if s.Output != "" && len(raw) > 1 {
		return nil, nil, fmt.Errorf("-o goes with a single template; use -t TEMPLATE:DEST for several")
	}
	var outs []Output
	var labels []string
	for _, r := range raw {
		name, dest, _ := strings.Cut(r, ":")
		if dest == "" {
			dest = s.Output
		}
		outs = append(outs, Output{Template: name, Dest: dest})
		labels = append(labels, "-t "+r)
	}
	return outs, labels, nil
}

// fileLabels names the entries of the config file's outputs list.
func fileLabels(n int) []string {
	labels := make([]string, n)
	for i := range labels {
		labels[i] = fmt.Sprintf("outputs[%d]", i)
	}
	return labels
}
