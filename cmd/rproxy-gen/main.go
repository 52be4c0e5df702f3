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
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// the VCS revision the binary was built from is shown.
var version = "dev"

// buildVersion returns version, or "dev+REVISION" from the build info.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return version + "+" + s.Value[:12]
			}
		}
	}
	return version
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
