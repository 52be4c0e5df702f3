package config

import (
	"fmt"
	"strconv"
	"strings"
)

// linuxSignals are the signal names a container's process can be sent, as
// the Docker API accepts them (without the SIG prefix).
var linuxSignals = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CLD": true, "CONT": true,
	"FPE": true, "HUP": true, "ILL": true, "INT": true, "IO": true, "IOT": true,
	"KILL": true, "PIPE": true, "POLL": true, "PROF": true, "PWR": true, "QUIT": true,
	"SEGV": true, "STKFLT": true, "STOP": true, "SYS": true, "TERM": true, "TRAP": true,
	"TSTP": true, "TTIN": true, "TTOU": true, "URG": true, "USR1": true, "USR2": true,
	"VTALRM": true, "WINCH": true, "XCPU": true, "XFSZ": true,
}

// ParseSignal checks a signal for --notify-signal and returns it in the form
// sent to the Docker API: a name, any case, with or without the SIG prefix,
// becomes "SIGHUP"-style; a number from 1 to 64 stays a number ("10").
// Signals are named as on Linux, where the container runs.
func ParseSignal(s string) (string, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.Atoi(t); err == nil {
		if n < 1 || n > 64 {
			return "", fmt.Errorf("%q: signal number out of range 1-64", s)
		}
		return strconv.Itoa(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(t), "SIG")
	if !linuxSignals[name] {
		return "", fmt.Errorf("%q: want a signal name like HUP, SIGHUP, USR2 or a number", s)
	}
	return "SIG" + name, nil
}
