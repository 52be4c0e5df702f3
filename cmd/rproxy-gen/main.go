// Command rproxy-gen turns the containers of a Docker host into reverse-proxy
// configuration. This package only wires flags to the model, compile and
// source packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"
// (make build does it from a git tag); otherwise the build info names it.
var version = "dev"

// buildVersion returns the version this binary reports (see versionFrom).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	return versionFrom(version, bi, ok)
}

// versionFrom is the version to report: the stamped one (-X main.version);
// else the module version of `go install .../rproxy-gen@v1.2.3`; else
// "dev+REVISION" (12 hex digits, "-dirty" with uncommitted changes) from
// the VCS data of a build in a clone; else "dev".
func versionFrom(stamped string, bi *debug.BuildInfo, ok bool) string {
	if stamped != "dev" && stamped != "" {
		return stamped
	}
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && !strings.Contains(v, "+dirty") {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) < 12 {
		return "dev"
	}
	v := "dev+" + rev[:12]
	if dirty {
		v += "-dirty"
	}
	return v
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "rproxy-gen:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status code after its message was logged.
type exitError struct{ code int }

// Error says which status the process exits with.
func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
