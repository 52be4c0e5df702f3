package source

import (
	"errors"
	"fmt"
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
		cli, err := NewClient()
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
	err := explain(fmt.Errorf("dial unix /var/run/docker.sock: %w", syscall.EACCES), "unix:///var/run/docker.sock")
	if !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), "--group-add") || !strings.Contains(err.Error(), "group_add") {
		t.Errorf("err = %v", err)
	}
	other := errors.New("connection refused")
	if explain(other, "x") != other {
		t.Error("an unrelated error was changed")
	}
}
