package compile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// DefaultCommandTimeout bounds check and notify commands when no timeout is set.
const DefaultCommandTimeout = 30 * time.Second

// CommandError is a shell command that failed; Output holds what it printed.
type CommandError struct {
	Command string
	Output  string
	Err     error
}

// Error names the command, why it failed and the end of its output.
func (e *CommandError) Error() string {
	out := strings.TrimSpace(e.Output)
	if len(out) > 2000 {
		out = "..." + out[len(out)-2000:]
	}
	if out == "" {
		return fmt.Sprintf("command %q: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("command %q: %v: %s", e.Command, e.Err, out)
}

// Unwrap returns the underlying failure (exit status or timeout).
func (e *CommandError) Unwrap() error { return e.Err }

// ExpandCommand fills a command template such as "haproxy -c -f {{.File}}":
// every value is shell-quoted when it needs to be.
func ExpandCommand(command string, vars map[string]string) (string, error) {
	t, err := template.New("command").Option("missingkey=error").Parse(command)
	if err != nil {
		return "", fmt.Errorf("parse command %q: %w", command, err)
	}
	quoted := make(map[string]string, len(vars))
	for k, v := range vars {
		quoted[k] = ShellQuote(v)
	}
	var b strings.Builder
	if err := t.Execute(&b, quoted); err != nil {
		return "", fmt.Errorf("expand command %q: %w", command, err)
	}
	return b.String(), nil
}

// ShellQuote quotes s for sh when it holds anything but safe characters.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RunShell runs command with sh -c, bounded by timeout (DefaultCommandTimeout
// when zero); on timeout its whole process group is killed. It returns the
// combined output; a failure is a *CommandError.
func RunShell(ctx context.Context, command string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return out.Bytes(), &CommandError{Command: command, Output: out.String(), Err: err}
	}
	return out.Bytes(), nil
}
