package fakedocker

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// signalName is the name of signal n ("SIGHUP"), "" if unknown.
func signalName(n int) string { return unix.SignalName(syscall.Signal(n)) }

// signalNum is the number of the signal called name ("SIGHUP"), 0 if unknown.
func signalNum(name string) int { return int(unix.SignalNum(name)) }
