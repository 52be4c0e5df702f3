package config

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

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
	name := "SIG" + strings.TrimPrefix(strings.ToUpper(t), "SIG")
	if unix.SignalNum(name) == 0 {
		return "", fmt.Errorf("%q: want a signal name like HUP, SIGHUP, USR2 or a number", s)
	}
	return name, nil
}
