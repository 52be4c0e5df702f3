package proxytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadyReloadCommand: reload commands run back to back, each right
// after the previous one returned, all reload HAProxy: none is dropped
// while the master re-executes itself.
func TestReadyReloadCommand(t *testing.T) {
	NeedHAProxy(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	port := FreePort(t)
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
    log stdout format raw local0 info
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:%d
    http-request return status 200
`, port)), 0o644)
	pidfile := filepath.Join(dir, "haproxy.pid")
	if out, err := exec.Command("sh", "-c", ReadyReloadCommand(pidfile)).CombinedOutput(); err != nil {
		t.Fatalf("without a pidfile the command must do nothing: %v %s", err, out)
	}
	p := StartHAProxy(t, cfg, pidfile)
	const reloads = 4
	for i := range reloads {
		if out, err := exec.Command("sh", "-c", ReadyReloadCommand(pidfile)).CombinedOutput(); err != nil {
			t.Fatalf("reload %d: %v %s", i+1, err, out)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(p.Logs.String(), "Loading success") < reloads+1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d loads, want %d:\n%s", strings.Count(p.Logs.String(), "Loading success"), reloads+1, p.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.WaitCatches(t, syscall.SIGUSR2)
}
