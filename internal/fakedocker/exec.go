package fakedocker

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/pkg/stdcopy"
)

// ExecHandler runs an exec command in a container for the test: it gets a
// copy of the container as inspected and the command, and returns what the
// command prints on stdout and its exit code. It runs on a server
// goroutine, outside the Engine's lock, so it may call the Engine.
type ExecHandler func(c container.InspectResponse, cmd []string) (stdout string, exitCode int)

// SetExec replaces the exec handler (nil: every command prints nothing and
// exits 127, like a missing executable).
func (e *Engine) SetExec(h ExecHandler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.execFn = h
}

// execState is one exec instance.
type execState struct {
	id       string
	ctrID    string
	cmd      []string
	tty      bool
	stdout   bool
	stderr   bool
	stdin    bool
	user     string
	started  bool
	running  bool
	exitCode *int
}

// execInspect is the daemon's exec inspect body (backend.ExecInspect).
type execInspect struct {
	ID            string
	Running       bool
	ExitCode      *int
	ProcessConfig struct {
		Tty        bool     `json:"tty"`
		Entrypoint string   `json:"entrypoint"`
		Arguments  []string `json:"arguments"`
		Privileged *bool    `json:"privileged,omitempty"`
		User       string   `json:"user,omitempty"`
	}
	OpenStdin   bool
	OpenStderr  bool
	OpenStdout  bool
	CanRemove   bool
	ContainerID string
	DetachKeys  []byte
	Pid         int
}

func (e *Engine) handleExecCreate(w http.ResponseWriter, r *http.Request, q request) {
	var opts container.ExecOptions
	if err := json.NewDecoder(r.Body).Decode(&opts); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("decode exec options: %v", err))
		return
	}
	if len(opts.Cmd) == 0 {
		writeError(w, http.StatusBadRequest, "No exec command specified")
		return
	}
	e.mu.Lock()
	c, aerr := e.lookup(q.id)
	if aerr != nil {
		e.mu.Unlock()
		writeAPIError(w, aerr)
		return
	}
	switch {
	case !c.resp.State.Running:
		e.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("Container %s is not running", c.resp.ID))
		return
	case c.resp.State.Paused:
		e.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("Container %s is paused, unpause the container before exec", c.resp.ID))
		return
	}
	x := &execState{
		id: randHex(64), ctrID: c.resp.ID, cmd: append([]string(nil), opts.Cmd...), tty: opts.Tty,
		stdout: opts.AttachStdout, stderr: opts.AttachStderr, stdin: opts.AttachStdin, user: opts.User,
	}
	e.execs[x.id] = x
	e.emitContainer(c, "exec_create: "+strings.Join(x.cmd, " "), map[string]string{"execID": x.id})
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(container.ExecCreateResponse{ID: x.id})
}

func (e *Engine) handleExecStart(w http.ResponseWriter, r *http.Request, q request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("read exec start options: %v", err))
		return
	}
	var opts container.ExecStartOptions
	if len(body) > 0 {
		if err := json.Unmarshal(body, &opts); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("decode exec start options: %v", err))
			return
		}
	}

	e.mu.Lock()
	x, ok := e.execs[q.id]
	if !ok {
		e.mu.Unlock()
		writeError(w, http.StatusNotFound, "No such exec instance: "+q.id)
		return
	}
	if x.started {
		e.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("Error: Exec command %s is already running", x.id))
		return
	}
	c, ok := e.ctrs[x.ctrID]
	if !ok || !c.resp.State.Running {
		e.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("Container %s is not running", x.ctrID))
		return
	}
	x.started, x.running = true, true
	fn := e.execFn
	snapshot := e.inspectJSON(c)
	e.emitContainer(c, "exec_start: "+strings.Join(x.cmd, " "), map[string]string{"execID": x.id})
	e.mu.Unlock()

	run := func() string {
		var in container.InspectResponse
		_ = json.Unmarshal(snapshot, &in)
		out, code := "", 127
		if fn != nil {
			out, code = fn(in, append([]string(nil), x.cmd...))
		}
		e.mu.Lock()
		x.running = false
		x.exitCode = &code
		if c, ok := e.ctrs[x.ctrID]; ok {
			e.emitContainer(c, string("exec_die"), map[string]string{"execID": x.id, "exitCode": strconv.Itoa(code)})
		}
		e.mu.Unlock()
		return out
	}

	if opts.Detach {
		run()
		w.WriteHeader(http.StatusOK)
		return
	}

	// Attached: the daemon hijacks the connection and streams the output,
	// multiplexed (stdcopy) unless a TTY was asked for.
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("fakedocker: hijack: %v", err))
		return
	}
	defer conn.Close()
	contentType := "application/vnd.docker.raw-stream"
	if !x.tty && versions.GreaterThanOrEqualTo(q.version, "1.42") {
		contentType = "application/vnd.docker.multiplexed-stream"
	}
	if _, upgrade := r.Header["Upgrade"]; upgrade {
		fmt.Fprintf(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", contentType)
	} else {
		fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
	}
	out := run()
	if out == "" || !x.stdout {
		return
	}
	if x.tty {
		_, _ = io.WriteString(conn, out)
		return
	}
	_, _ = stdcopy.NewStdWriter(conn, stdcopy.Stdout).Write([]byte(out))
}

func (e *Engine) handleExecInspect(w http.ResponseWriter, _ *http.Request, q request) {
	e.mu.Lock()
	x, ok := e.execs[q.id]
	if !ok {
		e.mu.Unlock()
		writeError(w, http.StatusNotFound, "No such exec instance: "+q.id)
		return
	}
	var out execInspect
	out.ID, out.Running, out.ContainerID = x.id, x.running, x.ctrID
	if x.exitCode != nil {
		code := *x.exitCode
		out.ExitCode = &code
	}
	out.ProcessConfig.Tty = x.tty
	out.ProcessConfig.Entrypoint = x.cmd[0]
	out.ProcessConfig.Arguments = append([]string{}, x.cmd[1:]...)
	out.ProcessConfig.User = x.user
	out.OpenStdin, out.OpenStdout, out.OpenStderr = x.stdin, x.stdout, x.stderr
	if x.running {
		out.Pid = 4242
	}
	e.mu.Unlock()
	writeJSON(w, out)
}
