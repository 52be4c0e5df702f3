package config

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

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

// signalValues are the signals shell completion offers for --notify-signal,
// with what each does to HAProxy (master-worker, as in the official image)
// and nginx.
func signalValues() []string {
	return []string{
		"HUP\treload (HAProxy master, nginx)",
		"USR2\treload (HAProxy master)",
		"USR1\tSTOPS the official haproxy image (its stop signal); nginx reopens logs",
		"TERM\tSTOPS the proxy",
		"QUIT\tSTOPS the proxy (nginx: gracefully)",
		"KILL\tSTOPS the proxy at once",
	}
}

// SignalWarning says, in words, why sending sig (as ParseSignal returns it)
// to a proxy container is a mistake, or returns "" when sig may reload it.
// Reloads are HUP (HAProxy's master, nginx) and USR2 (HAProxy's master).
func SignalWarning(sig string) string {
	name := sig
	if n, err := strconv.Atoi(sig); err == nil {
		name = unix.SignalName(syscall.Signal(n))
	}
	switch name {
	case "SIGKILL":
		return "SIGKILL kills the container's main process at once: the proxy stops instead of reloading, dropping every connection"
	case "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU":
		return name + " pauses the proxy (or its listeners): it stops answering instead of reloading"
	case "SIGTERM", "SIGINT":
		return name + " stops HAProxy and nginx (a fast shutdown): the proxy stops instead of reloading"
	case "SIGQUIT":
		return "SIGQUIT stops nginx (gracefully) and HAProxy: the proxy stops instead of reloading"
	case "SIGUSR1":
		return "SIGUSR1 is the stop signal of the official haproxy image (STOPSIGNAL SIGUSR1): HAProxy finishes its connections and exits " +
			"instead of reloading (nginx only reopens its logs); use HUP or USR2 to reload"
	case "SIGABRT", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGSYS", "SIGTRAP", "SIGXCPU", "SIGXFSZ":
		return name + " makes the proxy dump core and exit instead of reloading"
	case "SIGHUP", "SIGUSR2":
		return ""
	case "":
		return fmt.Sprintf("signal %s has no name; HAProxy reloads on HUP or USR2, nginx on HUP, and a signal a process does not handle usually ends it", sig)
	}
	return name + " is not a reload signal: HAProxy reloads on HUP or USR2, nginx on HUP, and a signal a process does not handle usually ends it"
}
