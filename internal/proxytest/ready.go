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
