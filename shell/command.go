// Package shell runs the user's shell commands (--check, --notify): command
// templates such as "haproxy -c -f {{.File}}" are parsed and checked once at
// start-up, expanded with shell-quoted values, and run with sh -c in their own
// process group under a time limit.
package shell

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
)

// Command is a parsed command template. Its variables ({{.File}}, {{.Dir}})
// are filled in by Expand, each value shell-quoted.
type Command struct {
	text string
	tmpl *template.Template
}

// Parse parses a command template and checks that it refers only to the
// variables in vars (for example "File" and "Dir" for a check command), so a
// mistake such as {{.File}} in a command that has no file is reported at
// start-up, not after files were written. An empty text gives a nil Command.
func Parse(text string, vars ...string) (*Command, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	t, err := template.New("command").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", text, err)
	}
	c := &Command{text: text, tmpl: t}
	probe := make(map[string]string, len(vars))
	for _, v := range vars {
		probe[v] = "x"
	}
	if _, err := c.Expand(probe); err != nil {
		have := "none"
		if len(vars) > 0 {
			have = "{{." + strings.Join(slices.Sorted(slices.Values(vars)), "}}, {{.") + "}}"
		}
		return nil, fmt.Errorf("command %q uses a variable it does not have (it has %s): %w", text, have, err)
	}
	return c, nil
}

// String returns the command template as given.
func (c *Command) String() string {
	if c == nil {
		return ""
	}
	return c.text
}

// Expand fills in the variables, each shell-quoted when it needs to be.
func (c *Command) Expand(vars map[string]string) (string, error) {
	quoted := make(map[string]string, len(vars))
	for k, v := range vars {
		quoted[k] = Quote(v)
	}
	var b strings.Builder
	if err := c.tmpl.Execute(&b, quoted); err != nil {
		return "", fmt.Errorf("expand command %q: %w", c.text, err)
	}
	return b.String(), nil
}

// Quote quotes s for sh when it holds anything but safe characters.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
