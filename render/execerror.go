package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// maxReason bounds the reason of an ExecError: text/template quotes whole
// values in some messages ("range can't iterate over {...}"), and a value
// may be the whole model.
const maxReason = 200

// ExecError is a template that failed while rendering, told in a few words:
// which template, where, the action that failed and why, never the data the
// template was given (text/template's own message can quote the whole model
// in one line).
type ExecError struct {
	// Template is the template's name (its file for a template file).
	Template string
	// Line and Column locate the failing action in it (0 when unknown).
	Line, Column int
	// Field is the failing action, e.g. ".Stats" or "index .HTTP 9".
	Field string
	// Reason is why it failed, with quoted values left out.
	Reason string
}

// Error names the template, line, column, action and reason.
func (e *ExecError) Error() string {
	where := e.Template
	if e.Line > 0 {
		where += fmt.Sprintf(":%d:%d", e.Line, e.Column)
	}
	if e.Field != "" {
		where += " at <" + e.Field + ">"
	}
	return "template " + where + ": " + e.Reason
}

// execMessage is text/template's execution error text.
var execMessage = regexp.MustCompile(`(?s)^template: (.*?):(\d+):(\d+): executing ".*?" at <(.*?)>: (.*)$`)

// valueQuoting are the text/template messages that end in a quoted value.
var valueQuoting = []string{"range can't iterate over ", "if/with can't use ", "can't give argument to non-function "}

// newExecError turns an error of Template.Execute into an *ExecError; name
// is the template's name, used when the error does not say.
func newExecError(name string, err error) error {
	var te template.ExecError
	if !errors.As(err, &te) {
		return fmt.Errorf("render %s: %w", name, err)
	}
	e := &ExecError{Template: name, Reason: te.Err.Error()}
	if m := execMessage.FindStringSubmatch(te.Err.Error()); m != nil {
		e.Template, e.Field, e.Reason = m[1], m[4], m[5]
		e.Line, _ = strconv.Atoi(m[2])
		e.Column, _ = strconv.Atoi(m[3])
	} else {
		e.Reason = strings.TrimPrefix(e.Reason, "template: "+te.Name+": ")
	}
	for _, p := range valueQuoting {
		if i := strings.Index(e.Reason, p); i >= 0 {
			e.Reason = e.Reason[:i+len(p)] + "this value (left out)"
		}
	}
	e.Reason = strings.Join(strings.Fields(e.Reason), " ")
	if len(e.Reason) > maxReason {
		e.Reason = e.Reason[:maxReason] + fmt.Sprintf("... (%d more bytes left out)", len(e.Reason)-maxReason)
	}
	if len(e.Field) > maxReason {
		e.Field = e.Field[:maxReason] + "..."
	}
	return e
}
