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

// ReadyReloadCommand is ReloadCommand made safe for reloads back to back.
// HAProxy's master drops a SIGUSR2 that arrives while it starts or
// re-executes itself for the previous reload (it ignores the signal then),
// and it acts on a signal only later, in its event loop. So the command
// waits (up to 5s) until the master catches SIGUSR2, sends it, then waits
// until the reload has run: the master stops catching the signal (up to 2s;
// a reload too quick to be seen only costs that wait) and catches it again
// (up to 10s). One notify thus never overlaps the reload of the previous.
func ReadyReloadCommand(pidfile string) string {
	return fmt.Sprintf(`test ! -s %[1]s || { pid=$(head -n 1 %[1]s); `+
		`caught() { m=$(awk '/^SigCgt:/{print $2}' /proc/$pid/status 2>/dev/null); [ -n "$m" ] && [ $(( 0x$m >> 11 & 1 )) -eq 1 ]; }; `+
		`i=0; until caught || [ $i -ge 500 ]; do i=$((i+1)); sleep 0.01; done; `+
		`kill -USR2 $pid || exit 1; `+
		`i=0; while caught && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.01; done; `+
		`i=0; until caught || [ $i -ge 1000 ]; do i=$((i+1)); sleep 0.01; done; }`, pidfile)
}
