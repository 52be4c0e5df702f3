package shell

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds a command when no timeout is given.
const DefaultTimeout = 30 * time.Second

// maxOutput is how much of a command's output is kept (its end).
const maxOutput = 64 << 10

// Error is a shell command that failed; Output holds what it printed.
type Error struct {
	Command string
	Output  string
	Err     error
}

// Error names the command, why it failed and the end of its output.
func (e *Error) Error() string {
	out := Tail(e.Output)
	if out == "" {
		return fmt.Sprintf("command %q: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("command %q: %v: %s", e.Command, e.Err, out)
}

// Tail is the end of a command's output as an error message shows it: white
// space trimmed, at most the last 2,000 bytes.
func Tail(output string) string {
	out := strings.TrimSpace(output)
	if len(out) > 2000 {
		out = "..." + out[len(out)-2000:]
	}
	return out
}

// Unwrap returns the underlying failure (exit status or time-out).
func (e *Error) Unwrap() error { return e.Err }

// Run runs command with sh -c in a process group of its own, bounded by
// timeout (DefaultTimeout when zero), and returns its combined output. Run
// waits for the shell only: a command may leave a child in the background
// (`daemon & echo started`) and still succeed. On time-out the whole group is
// killed. A failure is an *Error.
func Run(ctx context.Context, command string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Output goes to an unlinked temporary file, not a pipe: a pipe would
	// keep Wait waiting for every background child that inherited it.
	out, err := os.CreateTemp("", "rproxy-gen-cmd-")
	if err != nil {
		return nil, fmt.Errorf("command %q: output file: %w", command, err)
	}
	os.Remove(out.Name())
	defer out.Close()

	cmd := exec.Command("sh", "-c", command)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, &Error{Command: command, Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("timed out after %s", timeout)
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("cancelled: %w", ctx.Err())
	}
	output := readTail(out)
	if err != nil {
		return output, &Error{Command: command, Output: string(output), Err: err}
	}
	return output, nil
}

// readTail returns the last maxOutput bytes written to f.
func readTail(f *os.File) []byte {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil
	}
	off := max(size-maxOutput, 0)
	buf := make([]byte, size-off)
	n, _ := f.ReadAt(buf, off)
	return buf[:n]
}
