// Package render turns a model.Model into proxy configuration text through a
// Go text/template (built-in or a file) with sprig's functions and
// rproxy-gen's helpers. A template may define auxiliary files (HAProxy map
// files) that are rendered beside its main output.
package render

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/templates"
)

// FilePrefix marks a template definition as an auxiliary file: a template that
// does {{define "file:http.map"}}...{{end}} and refers to it with
// {{file "http.map"}} gets that file written beside its main output (unless
// the block renders to nothing).
const FilePrefix = "file:"

// Template is a parsed template, built-in or loaded from a file. It is parsed
// once; each Render works on a clone, so a Template may be rendered for
// several outputs.
type Template struct {
	// Name is the built-in name or the file path it was loaded from.
	Name string
	// Path is the file path, empty for a built-in template.
	Path string
	tmpl *template.Template
	// sizes holds the size of each output of the last render (the main
	// output under "", files under their block's name), so that the next
	// render's buffers start large enough: growing a buffer of megabytes
	// step by step costs more than executing the template.
	sizes sync.Map
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

// Reload parses the template's file again; a built-in template is returned
// as it is.
func (t *Template) Reload() (*Template, error) {
	if t.Path == "" {
		return t, nil
	}
	return Load(t.Path)
}

func newTemplate(name, path, text string) (*Template, error) {
	funcs := sprig.TxtFuncMap()
	for k, v := range Funcs("") {
		funcs[k] = v
	}
	tt, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	for _, def := range tt.Templates() {
		if file, ok := strings.CutPrefix(def.Name(), FilePrefix); ok {
			if err := validFileName(file); err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
		}
	}
	return &Template{Name: name, Path: path, tmpl: tt}, nil
}

// AuxFile is an auxiliary output (e.g. a HAProxy map file) written beside the
// main output.
type AuxFile struct {
	// Name is the file's base name, e.g. "haproxy.http.map".
	Name string
	Data []byte
}

// Rendered is the result of one render: the main output and its auxiliary
// files, sorted by name.
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
// AuxName); every {{define "file:NAME"}} block is rendered into one, except
// a block that renders nothing at all (not even a line end): that file is
// left out, so a template can write a file only for models that need it.
func (t *Template) Render(m *model.Model, stem string) (*Rendered, error) {
	return t.RenderWith(m, stem, Settings{})
}

// RenderWith is Render with the output's settings, which the template reads
// with the "settings" helper. Settings that fail Validate are refused.
func (t *Template) RenderWith(m *model.Model, stem string, s Settings) (*Rendered, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name, err)
	}
	tt, err := t.tmpl.Clone()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name, err)
	}
	tt.Funcs(template.FuncMap{
		"file":     func(name string) string { return AuxName(stem, name) },
		"settings": func() Settings { return s },
	})
	main := t.buffer("")
	if err := tt.Execute(main, m); err != nil {
		return nil, newExecError(t.Name, err)
	}
	t.sizes.Store("", main.Len())
	out := &Rendered{Main: main.Bytes()}
	for _, def := range tt.Templates() {
		name, ok := strings.CutPrefix(def.Name(), FilePrefix)
		if !ok {
			continue
		}
		buf := t.buffer(def.Name())
		if err := tt.ExecuteTemplate(buf, def.Name(), m); err != nil {
			return nil, fmt.Errorf("file %s: %w", name, newExecError(t.Name, err))
		}
		t.sizes.Store(def.Name(), buf.Len())
		if buf.Len() == 0 {
			continue // a file the model does not need (e.g. no https: no certificate list)
		}
		out.Files = append(out.Files, AuxFile{Name: AuxName(stem, name), Data: buf.Bytes()})
	}
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].Name < out.Files[j].Name })
	return out, nil
}

// buffer returns an empty buffer with room for the output called name was
// at the last render, and an eighth more.
func (t *Template) buffer(name string) *bytes.Buffer {
	var b bytes.Buffer
	if n, ok := t.sizes.Load(name); ok {
		b.Grow(n.(int) + n.(int)/8)
	}
	return &b
}

func validFileName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("auxiliary file name %q must be a plain file name", name)
	}
	return nil
}

// WriteTo writes the main output, then each auxiliary file after a marker
// line "# ---- rproxy-gen file: NAME ----", for review on stdout.
func (r *Rendered) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	buf.Write(r.Main)
	for _, f := range r.Files {
		fmt.Fprintf(&buf, "# ---- rproxy-gen file: %s ----\n", f.Name)
		buf.Write(f.Data)
	}
	return buf.WriteTo(w)
}
