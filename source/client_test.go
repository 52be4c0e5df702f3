package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestNewClientRefusesOldAPI: DOCKER_API_VERSION 1.20 would make every
// container look unroutable (no health, no per-network addresses); it is
// refused with a clear error instead of an empty config.
func TestNewClientRefusesOldAPI(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	for v, ok := range map[string]bool{"1.20": false, "1.23": false, "1.24": true, "1.41": true} {
		t.Setenv("DOCKER_API_VERSION", v)
		cli, err := NewClient("")
		if ok {
			if err != nil {
				t.Errorf("%s: %v", v, err)
			} else {
				cli.Close()
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "Docker API version "+v+" is too old") || !strings.Contains(err.Error(), "DOCKER_API_VERSION") {
			t.Errorf("%s: err = %v", v, err)
		}
	}
}

func TestExplainPermissionDenied(t *testing.T) {
	// A socket file of a known group: its gid must be named.
	sock := filepath.Join(t.TempDir(), "docker.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(sock, &st); err != nil {
		t.Fatal(err)
	}
	gid := strconv.Itoa(int(st.Gid))
	// What the Docker client says: a URL with its own newest API version.
	raw := errors.New(`permission denied while trying to connect to the Docker daemon socket at unix://` + sock +
		`: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.51/containers/json": dial unix ` + sock + `: connect: permission denied`)
	err := explain(fmt.Errorf("list containers: %w", raw), "unix://"+sock)
	var ae *AccessError
	if !errors.As(err, &ae) || ae.GID != int(st.Gid) {
		t.Fatalf("err = %v, want an *AccessError with gid %s", err, gid)
	}
	msg := err.Error()
	for _, want := range []string{"permission denied on the Docker socket " + sock, "group " + gid, "--group-add " + gid, `group_add: ["` + gid + `"]`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "v1.51") {
		t.Errorf("message names the client's API version: %s", msg)
	}
	if !strings.Contains(msg, ae.Hint()) {
		t.Errorf("message lacks the hint: %s", msg)
	}
	if explain(err, "x") != err {
		t.Error("an AccessError was wrapped twice")
	}
	if e := explain(fmt.Errorf("dial: %w", syscall.EACCES), "unix:///nonexistent/docker.sock"); !errors.As(e, &ae) || ae.GID != -1 ||
		!strings.Contains(e.Error(), "group_add") || !errors.Is(e, syscall.EACCES) {
		t.Errorf("unknown socket: %v", e)
	}
	other := errors.New("connection refused")
	if explain(other, "x") != other {
		t.Error("an unrelated error was changed")
	}
}
