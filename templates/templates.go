// Package templates holds rproxy-gen's built-in templates, embedded in the binary.
package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.tmpl
var files embed.FS

// Builtin returns the text of the built-in template with the given name
// (file name without ".tmpl").
func Builtin(name string) (string, error) {
	b, err := fs.ReadFile(files, name+".tmpl")
	if err != nil {
		return "", fmt.Errorf("no built-in template %q (have: %s)", name, strings.Join(Names(), ", "))
	}
	return string(b), nil
}

// Names lists the built-in template names, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	sort.Strings(names)
	return names
}
