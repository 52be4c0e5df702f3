package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads the config file at path into s. A setting whose flag was
// given on the command line (changed reports it) keeps the flag's value, but
// the file's value is still checked: the file is valid or not as a whole.
// Every problem is reported at once, one per line, each starting with the
// file name and naming the key (and the line where it helps).
func LoadFile(path string, s *Settings, changed func(flag string) bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, s, changed)
}

// Parse is LoadFile on data; name prefixes the errors. An empty file, or one
// with only comments, sets nothing.
func Parse(data []byte, name string, s *Settings, changed func(flag string) bool) error {
	root, err := document(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if root == nil {
		return nil
	}
	var errs []error
	add := func(node *yaml.Node, key, format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		if key != "" {
			msg = key + ": " + msg
		}
		errs = append(errs, fmt.Errorf("%s: line %d: %s", name, node.Line, msg))
	}
	scratch := Defaults()
	eachPair(root, add, "", func(k, v *yaml.Node) {
		key := k.Value
		if key == "outputs" {
			outs, ok := outputsList(v, add)
			if err := checkOutputs(outs, fileLabels(len(outs))); err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					errs = append(errs, fmt.Errorf("%s: %w", name, e))
				}
				ok = false
			}
			if ok {
				s.Outputs = outs
			}
			return
		}
		d, ok := keyDef(key)
		if !ok {
			add(k, "", "unknown key %q%s", key, hint(key, false))
			return
		}
		target := s
		if changed(d.Name) {
			target = scratch // checked, not used: the command line wins
		}
		items := []*yaml.Node{v}
		if _, list := d.Field(scratch).(*[]string); list && v.Kind == yaml.SequenceNode {
			items = v.Content // a repeatable flag: one value or a list
		}
		for _, item := range items {
			text, ok := scalar(item, key, add)
			if !ok {
				return
			}
			if err := assign(d, target, text, nil); err != nil {
				add(item, key, "%v", err)
			}
		}
	})
	return errors.Join(errs...)
}

// document decodes data into its single YAML document's top mapping; nil
// when the file holds no document.
func document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document: want a single document", extra.Line)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of settings (key: value)", root.Line)
	}
	return root, nil
}

// eachPair calls f for each key and value of a mapping, reporting keys that
// are not plain strings and keys given twice.
func eachPair(m *yaml.Node, add func(*yaml.Node, string, string, ...any), where string, f func(k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			add(k, "", "a key must be a plain name")
			continue
		}
		if seen[k.Value] {
			add(k, "", "key %q given twice%s", k.Value, where)
			continue
		}
		seen[k.Value] = true
		f(k, v)
	}
}

// scalar returns the text of a single value.
func scalar(v *yaml.Node, key string, add func(*yaml.Node, string, string, ...any)) (string, bool) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind != yaml.ScalarNode {
		add(v, key, "want a single value, not a list or mapping")
		return "", false
	}
	if v.Tag == "!!null" {
		return "", true
	}
	return v.Value, true
}

// outputsList reads the outputs list.
func outputsList(v *yaml.Node, add func(*yaml.Node, string, string, ...any)) ([]Output, bool) {
	if v.Kind != yaml.SequenceNode {
		add(v, "outputs", "want a list of {template, dest, ...} entries")
		return nil, false
	}
	ok := true
	outs := make([]Output, 0, len(v.Content))
	for i, item := range v.Content {
		var o Output
		prefix := fmt.Sprintf("outputs[%d]", i)
		if item.Kind != yaml.MappingNode {
			add(item, prefix, "want a mapping such as {template: haproxy, dest: /etc/haproxy/haproxy.cfg}")
			ok = false
			continue
		}
		eachPair(item, add, " in "+prefix, func(k, val *yaml.Node) {
			key := prefix + "." + k.Value
			text, good := scalar(val, key, add)
			if !good {
				ok = false
				return
			}
			switch k.Value {
			case "template":
				o.Template = text
				return
			case "dest":
				o.Dest = text
				return
			}
			d, found := keyDef(k.Value)
			if !found || d.Out == nil {
				add(k, "", "unknown key %q in an outputs entry%s", k.Value, hint(k.Value, true))
				ok = false
				return
			}
			check := d.Check
			if d.OutCheck != nil {
				check = d.OutCheck
			}
			if check != nil {
				norm, err := check(text)
				if err != nil {
					add(val, key, "%v", err)
					ok = false
					return
				}
				text = norm
			}
			*d.Out(&o) = text
		})
		outs = append(outs, o)
	}
	return outs, ok
}

// keyDef returns the setting with config-file key key.
func keyDef(key string) (Def, bool) {
	for _, d := range Defs() {
		if !d.NoKey && d.Key() == key {
			return d, true
		}
	}
	return Def{}, false
}

// hint suggests the key an unknown key probably meant.
func hint(key string, output bool) string {
	norm := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	var keys []string
	if output {
		keys = append(keys, "template", "dest")
		for _, d := range Defs() {
			if d.Out != nil {
				keys = append(keys, d.Key())
			}
		}
	} else {
		keys = append(keys, "outputs")
		for _, d := range Defs() {
			if !d.NoKey {
				keys = append(keys, d.Key())
			}
		}
		switch norm {
		case "output", "template", "templates", "o", "t":
			return ` (did you mean "outputs"?)`
		case "timeout":
			norm = "command_timeout"
		}
	}
	for _, k := range keys {
		if k == norm || k+"s" == norm || k == norm+"s" || output && norm == "destination" && k == "dest" {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}
