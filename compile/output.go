package compile

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Output is one template rendered to one destination.
type Output struct {
	Template *Template
	// Dest is the file to write; empty means the Stdout writer of Apply.
	Dest string
	// Check is a command template run on the staged file (see WriteOptions).
	Check string
	// Notify is a shell command run after this output changed.
	Notify string
	// Bind, when set, replaces the model's bind address for this output only.
	Bind string
	// NotifyContainer is a container to send NotifySignal to after this
	// output changed.
	NotifyContainer, NotifySignal string
}

// Stem is the auxiliary-file stem of the output: the destination's base name
// without extension, or the template name on stdout.
func (o Output) Stem() string {
	if o.Dest == "" {
		return o.Template.Name
	}
	return Stem(o.Dest)
}

// Result tells what happened to one output.
type Result struct {
	Output  Output
	Changed bool
	Err     error
}

// ApplyOptions steer Apply.
type ApplyOptions struct {
	// Stdout receives outputs without a destination.
	Stdout io.Writer
	// Mode is how files are replaced.
	Mode WriteMode
	// Timeout bounds each check command.
	Timeout time.Duration
}

// Apply renders m through every output and writes each one (stage, check,
// swap). One output failing does not stop the others: every Result carries
// its own error. Notify commands are not run here; the caller decides.
func Apply(ctx context.Context, m *model.Model, outs []Output, opts ApplyOptions) []Result {
	results := make([]Result, 0, len(outs))
	for _, o := range outs {
		res := Result{Output: o}
		om := m
		if o.Bind != "" {
			c := *m
			c.Bind = o.Bind
			om = &c
		}
		r, err := o.Template.Render(om, o.Stem())
		switch {
		case err != nil:
			res.Err = err
		case o.Dest == "":
			if _, err := r.WriteTo(opts.Stdout); err != nil {
				res.Err = fmt.Errorf("write stdout: %w", err)
			}
			res.Changed = true
		default:
			res.Changed, res.Err = Write(ctx, o.Dest, r, WriteOptions{Check: o.Check, Timeout: opts.Timeout, Mode: opts.Mode})
		}
		results = append(results, res)
	}
	return results
}
