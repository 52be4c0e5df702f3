package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// These tests run the commands against the fake Engine API
// (internal/fakedocker) so that the live-Docker wiring (one-shot, snapshot,
// --watch, --notify-container) is exercised in milliseconds; e2e/ runs the
// real binary against a real dockerd.

func fakeDaemon(t *testing.T) *fakedocker.Engine {
	t.Helper()
	e := fakedocker.New(t)
	t.Setenv("DOCKER_HOST", e.Host())
	t.Setenv("DOCKER_API_VERSION", "")
	return e
}

func TestLiveOneShotAndSnapshot(t *testing.T) {
	e := fakeDaemon(t)
	e.Add(fakedocker.ContainerSpec{Name: "web", Env: []string{"RPROXY=http://web.example.com"}})
	hap := e.Add(fakedocker.ContainerSpec{Name: "haproxy"})
	live, stderr, err := run(t, "")
	if err != nil || !strings.Contains(live, "web.example.com:80/ http_80_web.example.com") {
		t.Fatalf("live one-shot: %v\n%s\n%s", err, live, stderr)
	}
	snap, _, err := run(t, "", "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	var decoded []container.InspectResponse
	if err := json.Unmarshal([]byte(snap), &decoded); err != nil || len(decoded) != 2 {
		t.Fatalf("snapshot: %v, %d containers", err, len(decoded))
	}
	fromSnap, _, err := run(t, snap, "--from", "-")
	if err != nil || fromSnap != live {
		t.Errorf("rendering the snapshot differs from rendering live (%v)", err)
	}
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	if _, stderr, err := run(t, "", "-o", out, "--notify-container", "haproxy", "--notify-signal", "usr2"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if got := e.Container(hap.ID).Kills(); len(got) != 1 || got[0] != "SIGUSR2" {
		t.Errorf("signals sent to haproxy: %v", got)
	}
}

func TestLiveWatch(t *testing.T) {
	e := fakeDaemon(t)
	e.Add(fakedocker.ContainerSpec{Name: "web", Env: []string{"RPROXY=http://web.example.com"}})
	hap := e.Add(fakedocker.ContainerSpec{Name: "haproxy"})
	dir := t.TempDir()
	out, marker := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "notified")
	cmd := newRootCmd()
	var stderr proxytest.Buffer
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"--watch", "--wait", "0", "-o", out, "--notify", "echo x >> " + marker, "--notify-container", "haproxy"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("timed out waiting for %s\n%s", what, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	contains := func(s string) func() bool {
		return func() bool { b, _ := os.ReadFile(out); return strings.Contains(string(b), s) }
	}
	eventually("web rendered", contains("server web "))
	e.Add(fakedocker.ContainerSpec{Name: "api", Env: []string{"RPROXY=http://api.example.com"}})
	eventually("api rendered", contains("server api "))
	eventually("two notifies", func() bool { b, _ := os.ReadFile(marker); return string(b) == "x\nx\n" })
	eventually("two signals", func() bool { return len(e.Container(hap.ID).Kills()) == 2 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("watch ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop on cancel")
	}
}
