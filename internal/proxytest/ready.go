package proxytest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// WaitCatches waits up to 10s until the process has a handler installed for
// sig (Linux /proc). HAProxy's master logs "Loading success" before it
// installs its signal handlers, and while it starts (or re-executes itself
// for a reload) it ignores SIGUSR2, which discards a reload signal sent then:
// a test that reloads must wait for this first.
func (p *Process) WaitCatches(t testing.TB, sig syscall.Signal) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		caught, err := catches(p.Cmd.Process.Pid, sig)
		if err == nil && caught {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d does not catch %v after 10s (%v)", p.Cmd.Process.Pid, sig, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// catches reads the SigCgt mask of /proc/PID/status and tells whether sig
// is caught, and not blocked.
func catches(pid int, sig syscall.Signal) (bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false, err
	}
	var cgt, blk uint64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "SigCgt":
			cgt, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		case "SigBlk":
			blk, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
		if err != nil {
			return false, err
		}
	}
	bit := uint64(1) << (uint(sig) - 1)
	return cgt&bit != 0 && blk&bit == 0, nil
}

// ReadyReloadCommand is ReloadCommand that first waits (up to 5s) until the
// HAProxy master catches SIGUSR2 again: a reload signal that arrives while
// the master starts or re-executes itself for the previous reload is
// dropped, so back-to-back renders could otherwise leave the proxy on an
// old config.
func ReadyReloadCommand(pidfile string) string {
	return fmt.Sprintf(`test ! -s %[1]s || { pid=$(head -n 1 %[1]s); i=0; `+
		`while [ $i -lt 250 ]; do m=$(awk '/^SigCgt:/{print $2}' /proc/$pid/status 2>/dev/null); `+
		`[ -n "$m" ] && [ $(( 0x$m >> 11 & 1 )) -eq 1 ] && break; i=$((i+1)); sleep 0.02; done; kill -USR2 $pid; }`, pidfile)
}
