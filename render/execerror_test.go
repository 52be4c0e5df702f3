package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// TestExecErrorLeavesTheModelOut: a template that fails on the example's
// model is reported by template, line, column, action and reason, and no
// part of the model (its container names) reaches the message, even where
// text/template's own message quotes the whole model. A template's own
// fail message is kept, cut short.
func TestExecErrorLeavesTheModelOut(t *testing.T) {
	m := loadSnapshot(t, "example.json", model.Options{})
	tests := []struct {
		name, text string
		want       ExecError
	}{
		{"range over the model", "line1\n  {{range .}}x{{end}}", ExecError{Template: "my.tmpl", Line: 2, Column: 10, Field: ".",
			Reason: "range can't iterate over this value (left out)"}},
		{"range over a struct", "{{range .Stats}}x{{end}}", ExecError{Template: "my.tmpl", Line: 1, Column: 8, Field: ".Stats",
			Reason: "range can't iterate over this value (left out)"}},
		{"missing field", "{{with .HTTP}}{{.Nope}}{{end}}", ExecError{Template: "my.tmpl", Line: 1, Column: 16, Field: ".Nope",
			Reason: "can't evaluate field Nope in type []model.HTTPPort"}},
		{"index", "{{index .HTTP 99}}", ExecError{Template: "my.tmpl", Line: 1, Column: 2, Field: "index .HTTP 99",
			Reason: "error calling index: index out of range: 99"}},
		{"fail quoting the model", `{{fail (printf "%v" .)}}`, ExecError{Template: "my.tmpl", Line: 1, Column: 2, Field: `fail (printf "%v" .)`}},
		{"in a map file", `{{define "file:x.map"}}{{range .}}{{end}}{{end}}`, ExecError{Template: "my.tmpl", Line: 1, Column: 31, Field: ".",
			Reason: "range can't iterate over this value (left out)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse("my.tmpl", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tmpl.Render(m, "out")
			var e *ExecError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *ExecError", err)
			}
			want := tt.want
			if want.Reason == "" {
				if !strings.HasPrefix(e.Reason, "error calling fail: ") || len(e.Reason) > maxReason+40 {
					t.Errorf("reason %q: not cut short", e.Reason)
				}
				want.Reason = e.Reason
			}
			if *e != want {
				t.Errorf("got  %+v\nwant %+v", *e, want)
			}
			msg := err.Error()
			if len(msg) > 400 || tt.want.Reason != "" && (strings.Contains(msg, "legacy") || strings.Contains(msg, "172.17.")) {
				t.Errorf("message quotes the model (%d bytes): %s", len(msg), msg)
			}
		})
	}
}
