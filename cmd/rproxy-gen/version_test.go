package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"stamped by make build", "v1.2.3", vcs(rev, "false"), "v1.2.3"},
		{"go install module@v1.4.0", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"a clone", "dev", vcs(rev, "false"), "dev+0123456789ab"},
		{"a clone with changes", "dev", vcs(rev, "true"), "dev+0123456789ab-dirty"},
		{"no VCS data", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "dev", nil, "dev"},
	}
	for _, tt := range tests {
		if got := versionFrom(tt.stamped, tt.bi, tt.bi != nil); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestMakeBuildStamps: make build passes VERSION to the linker, and the
// binary reports it.
func TestMakeBuildStamps(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	out, err := exec.Command("make", "-C", "../..", "-n", "build", "VERSION=v9.8.7").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-ldflags '-X main.version=v9.8.7'") {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	bin := filepath.Join(t.TempDir(), "rproxy-gen")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "--version").Output(); err != nil || strings.TrimSpace(string(out)) != "rproxy-gen version v9.8.7" {
		t.Errorf("--version: %q, %v", out, err)
	}
}
