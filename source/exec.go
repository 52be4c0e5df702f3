package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/shell"
)

// maxExecOutput bounds how much of an exec's output is kept.
const maxExecOutput = 64 << 10

// Exec runs argv in the running container called or numbered name, as
// docker exec does without a TTY, waits for it to end, and returns what it
// printed (stdout and stderr together, at most 64 KiB) and its exit code.
// When ctx ends first, Exec returns ctx's error; the process may go on in
// the container (Docker cannot kill an exec).
func (d *Docker) Exec(ctx context.Context, name string, argv []string) ([]byte, int, error) {
	created, err := d.cli.ContainerExecCreate(ctx, name, container.ExecOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, -1, fmt.Errorf("exec in container %s: %w", name, explain(err, d.String()))
	}
	att, err := d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, -1, fmt.Errorf("exec in container %s: attach: %w", name, err)
	}
	out := &capped{max: maxExecOutput}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, att.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
		att.Close()
	case <-ctx.Done():
		att.Close()
		<-copied
		return out.Bytes(), -1, fmt.Errorf("exec in container %s: %w", name, ctx.Err())
	}
	if err != nil {
		return out.Bytes(), -1, fmt.Errorf("exec in container %s: read output: %w", name, err)
	}
	// The output ends when the process does; its exit code may take a
	// moment longer to be recorded.
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		st, err := d.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return out.Bytes(), -1, fmt.Errorf("exec in container %s: inspect: %w", name, err)
		}
		if !st.Running {
			return out.Bytes(), st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return out.Bytes(), -1, fmt.Errorf("exec in container %s: %w", name, ctx.Err())
		case <-time.After(pause):
		}
	}
}

// capped keeps the first max bytes written to it and counts the rest.
type capped struct {
	bytes.Buffer
	max     int
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.Len()
	if room >= len(p) {
		return c.Buffer.Write(p)
	}
	if room > 0 {
		c.Buffer.Write(p[:room])
	}
	c.dropped += len(p) - max(room, 0)
	return len(p), nil
}

// ExecError is a check command that ran in a container and failed.
type ExecError struct {
	Container string
	Command   string
	ExitCode  int
	Output    string
}

// Error names the container, the command, its exit code and the end of
// its output (HAProxy's reason).
func (e *ExecError) Error() string {
	out := shell.Tail(e.Output)
	msg := fmt.Sprintf("in container %s: command %q: exit status %d", e.Container, e.Command, e.ExitCode)
	if out != "" {
		msg += ": " + out
	}
	return msg
}

// CheckRunsWithoutShell refuses, at start-up, a --check-container command
// that needs a shell to run (a pipe, $, && ...): ExecCheck runs it without
// one (see shell.Split).
func CheckRunsWithoutShell(cmd *shell.Command) error {
	line, err := cmd.Expand(map[string]string{"File": "/etc/haproxy/haproxy.cfg", "Dir": "/etc/haproxy"})
	if err != nil {
		return err
	}
	_, err = shell.Split(line)
	return err
}

// ExecCheck is an install.Checker that runs a check command such as
// "haproxy -c -f {{.File}}" inside the container called name
// (--check-container), where the proxy binary is, bounded by timeout.
//
// The command runs without a shell (see shell.Split): the image may have
// none. When the container does not exist, is not running or is between
// restarts (before the check, or when the check failed), nothing runs on
// the old file that a bad one could break, so the file is installed
// unchecked, with a warning: a proxy waiting for its first config (the
// compose example at start) would otherwise never get one. The staged files must be visible in that container: {{.File}} and
// {{.Dir}} are the staged paths as this process sees them, translated
// through the container's mounts (see ContainerPath), so the output's
// directory has to be a volume or bind mount shared with it.
func (d *Docker) ExecCheck(name string, cmd *shell.Command, timeout time.Duration) install.Checker {
	return func(ctx context.Context, file, dir string) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, running, err := d.checkContainer(ctx, name)
		if err != nil {
			return err
		}
		if !running {
			d.uncheckedWarning(name, file)
			return nil
		}
		var paths [2]string
		for i, p := range []string{file, dir} {
			if paths[i], err = ContainerPath(c, p); err != nil {
				return err
			}
		}
		line, err := cmd.Expand(map[string]string{"File": paths[0], "Dir": paths[1]})
		if err != nil {
			return err
		}
		argv, err := shell.Split(line)
		if err != nil {
			return err
		}
		out, code, err := d.Exec(ctx, name, argv)
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("in container %s: command %q timed out after %s", name, line, timeout)
		}
		if err == nil && code == 0 {
			return nil
		}
		// The container may have stopped (or begun a restart) since it was
		// inspected: then the exec fails for that alone (409 from the
		// daemon, or the runtime's "cannot exec in a deleted state").
		stopped := err != nil && (cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "received 409")) &&
			!strings.Contains(err.Error(), "paused") // the attach's hijack reports a 409 untyped
		if _, running, ierr := d.checkContainer(ctx, name); stopped || ierr == nil && !running {
			d.uncheckedWarning(name, file)
			return nil
		}
		if err != nil {
			return err
		}
		return &ExecError{Container: name, Command: line, ExitCode: code, Output: string(out)}
	}
}

// checkContainer inspects the check container and tells whether a check can
// run in it: running, and not in a restart (a proxy that exits at once,
// for want of a config, waits in the restarting state, where exec fails).
// A missing container is not running.
func (d *Docker) checkContainer(ctx context.Context, name string) (container.InspectResponse, bool, error) {
	c, err := d.cli.ContainerInspect(ctx, name)
	switch {
	case cerrdefs.IsNotFound(err):
		return c, false, nil
	case err != nil:
		return c, false, fmt.Errorf("check container %s: %w", name, explain(err, d.String()))
	}
	running := c.State != nil && c.State.Running && !c.State.Restarting
	return c, running, nil
}

// uncheckedWarning says that the file is installed without a check: nothing
// runs on the old file that a bad one could break, the proxy checks the
// file itself when it starts, and refusing would deadlock a proxy that waits
// for its first config.
func (d *Docker) uncheckedWarning(name, file string) {
	d.log.Warn("check container not running: installing without a check (the proxy checks the file when it starts)",
		"container", name, "file", file)
}

// ContainerPath returns where the file at path (as this process sees it)
// is inside container c. The path rule of --check-container:
//
//  1. If one of c's mounts has a destination that holds path, the path is
//     the same in both: rproxy-gen runs in a container of its own and both
//     mount the shared volume at the same place (the compose example:
//     /usr/local/etc/haproxy in both).
//  2. Else, if a bind mount's (or volume's) source on the host holds path,
//     rproxy-gen runs on the host and the path is translated to the mount's
//     destination (-o /srv/haproxy/haproxy.cfg with -v
//     /srv/haproxy:/usr/local/etc/haproxy).
//  3. Else the container cannot see the file, and the check fails saying so.
//
// The longest matching mount wins in each step.
func ContainerPath(c container.InspectResponse, path string) (string, error) {
	path = filepath.Clean(path)
	best, bestLen := "", -1
	for _, m := range c.Mounts {
		if under(path, m.Destination) && len(m.Destination) > bestLen {
			best, bestLen = path, len(m.Destination)
		}
	}
	if bestLen >= 0 {
		return best, nil
	}
	for _, m := range c.Mounts {
		if m.Source != "" && under(path, m.Source) && len(m.Source) > bestLen {
			rel, _ := filepath.Rel(filepath.Clean(m.Source), path)
			best, bestLen = filepath.Join(m.Destination, rel), len(m.Source)
		}
	}
	if bestLen >= 0 {
		return best, nil
	}
	name := strings.TrimPrefix(c.Name, "/")
	return "", fmt.Errorf("check container %s cannot see %s: mount the output's directory into it, "+
		"at the same path as here (a volume shared by both containers), or bind-mount it from the host where rproxy-gen runs", name, filepath.Dir(path))
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	if dir == "" {
		return false
	}
	dir = filepath.Clean(dir)
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

// maxAlerts bounds the reason Alerts returns.
const maxAlerts = 2000

// Alerts returns the lines of container name's log since the given time
// that HAProxy marks [ALERT], joined by "; ": its reason for refusing a
// config or a reload. It returns "" when there are none.
func (d *Docker) Alerts(ctx context.Context, name string, since time.Time) (string, error) {
	rc, err := d.cli.ContainerLogs(ctx, name, container.LogsOptions{ShowStdout: true, ShowStderr: true,
		Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())})
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", name, err)
	}
	defer rc.Close()
	out := &capped{max: 1 << 20}
	if _, err := stdcopy.StdCopy(out, out, rc); err != nil {
		return "", fmt.Errorf("logs of container %s: %w", name, err)
	}
	var alerts []string
	for _, line := range strings.Split(out.String(), "\n") {
		if i := strings.Index(line, "[ALERT]"); i >= 0 {
			alerts = append(alerts, strings.TrimSpace(line[i:]))
		}
	}
	s := strings.Join(alerts, "; ")
	if len(s) > maxAlerts {
		s = s[:maxAlerts] + "..."
	}
	return s, nil
}
