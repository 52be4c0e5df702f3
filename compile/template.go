// Package compile renders a model.Model through a template (built-in or a
// file) and writes the outputs safely: staged, checked, then swapped in.
package compile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/templates"
)

// FilePrefix marks a template definition as an auxiliary file: a template that
// does {{define "file:http.map"}}...{{end}} and refers to it with
// {{file "http.map"}} gets that file written beside its main output.
const FilePrefix = "file:"

// Template is a parsed template, built-in or loaded from a file.
type Template struct {
	// Name is the built-in name or the file path it was loaded from.
	Name string
	// Path is the file path, empty for a built-in template.
	Path string
	text string
}

// Load returns the built-in template called nameOrPath, or else parses the
// file at that path. A path with a slash (./haproxy) always means a file.
func Load(nameOrPath string) (*Template, error) {
	if !strings.ContainsRune(nameOrPath, filepath.Separator) {
		if text, err := templates.Builtin(nameOrPath); err == nil {
			return newTemplate(nameOrPath, "", text)
		}
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("template %q is not built in (%s) and cannot be read: %w",
			nameOrPath, strings.Join(templates.Names(), ", "), err)
	}
	return newTemplate(nameOrPath, nameOrPath, string(b))
}

// Parse makes a Template from text, for tests and embedders.
func Parse(name, text string) (*Template, error) { return newTemplate(name, "", text) }

func newTemplate(name, path, text string) (*Template, error) {
	t := &Template{Name: name, Path: path, text: text}
	// Parse once now so syntax errors surface at load time.
	if _, err := t.parse(""); err != nil {
		return nil, err
	}
	return t, nil
}

// parse builds a fresh text/template bound to the auxiliary-file stem.
func (t *Template) parse(stem string) (*template.Template, error) {
	funcs := sprig.TxtFuncMap()
	for k, v := range Funcs(stem) {
		funcs[k] = v
	}
	tt, err := template.New(t.Name).Funcs(funcs).Option("missingkey=error").Parse(t.text)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", t.Name, err)
	}
	return tt, nil
}

// AuxFile is an auxiliary output (e.g. a HAProxy map file) written beside the
// main output.
type AuxFile struct {
	// Name is the file's base name, e.g. "haproxy.http.map".
	Name string
	Data []byte
}

// Rendered is the result of one render: the main output and its auxiliary files.
type Rendered struct {
	Main  []byte
	Files []AuxFile
}

// AuxName is the base name of auxiliary file name for an output with the
// given stem: "haproxy" + "http.map" gives "haproxy.http.map".
func AuxName(stem, name string) string { return stem + "." + name }

// Stem derives the auxiliary-file stem from a destination path: its base name
// without extension ("/etc/haproxy/haproxy.cfg" gives "haproxy").
func Stem(dest string) string {
	base := filepath.Base(dest)
	if s := strings.TrimSuffix(base, filepath.Ext(base)); s != "" {
		return s
	}
	return base
}

// Render executes the template on m. stem names the auxiliary files (see
// AuxName); every {{define "file:NAME"}} block is rendered into one.
func (t *Template) Render(m *model.Model, stem string) (*Rendered, error) {
	tt, err := t.parse(stem)
	if err != nil {
		return nil, err
	}
	var main bytes.Buffer
	if err := tt.Execute(&main, m); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name, err)
	}
	out := &Rendered{Main: main.Bytes()}
	for _, def := range tt.Templates() {
		name, ok := strings.CutPrefix(def.Name(), FilePrefix)
		if !ok {
			continue
		}
		if err := validFileName(name); err != nil {
			return nil, fmt.Errorf("template %s: %w", t.Name, err)
		}
		var buf bytes.Buffer
		if err := tt.ExecuteTemplate(&buf, def.Name(), m); err != nil {
			return nil, fmt.Errorf("render %s file %s: %w", t.Name, name, err)
		}
		out.Files = append(out.Files, AuxFile{Name: AuxName(stem, name), Data: buf.Bytes()})
	}
	sortFiles(out.Files)
	return out, nil
}

func validFileName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("auxiliary file name %q must be a plain file name", name)
	}
	return nil
}
