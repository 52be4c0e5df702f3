package dockertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path, waiting up to timeout.
// Closing the returned file releases it.
func lockFile(path string, timeout time.Duration) (*os.File, error) {
	f, err := openLock(path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openLock opens (or creates) a lock file; flock needs no write access, so a
// user who cannot write a file root created may still lock it.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		f, err = os.Open(path)
	}
	return f, err
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) STATE ...; comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

func isDockerd(pid int) bool {
	if !alive(pid) {
		return false
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && filepath.Base(exe) == "dockerd"
}

// startDockerd starts dockerd in its own session, so that it survives this
// process when it is shared, logging to logPath. done is closed when it exits.
func startDockerd(dockerd, logPath string, args []string) (*exec.Cmd, chan struct{}, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(logf, "\n=== %s dockertest (pid %d) starts: %s %s\n", time.Now().Format(time.RFC3339), os.Getpid(), dockerd, strings.Join(args, " "))
	cmd := exec.Command(dockerd, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// dockerd needs containerd, runc and ip on PATH, which a non-login
	// environment may lack.
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	return cmd, done, nil
}

// waitDaemon polls host until it answers, dockerd exits (done) or timeout.
func waitDaemon(host string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ping(host, 2*time.Second)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("dockerd exited")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer on %s within %v: %v", host, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopPid sends SIGTERM, waits up to timeout for the exit (done, when the
// process is our child, else polling), then SIGKILLs.
func stopPid(pid int, done <-chan struct{}, timeout time.Duration) {
	exited := func() bool {
		if done != nil {
			select {
			case <-done:
				return true
			default:
				return false
			}
		}
		return !alive(pid)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if exited() {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !exited(); {
		time.Sleep(50 * time.Millisecond)
	}
}

// killUnder SIGKILLs processes whose command line names dir: leftovers of a
// dockerd run there (its containerd and containerd-shim processes carry the
// exec-root in their arguments). Only processes of this mount namespace
// count: in another one the same path is another directory (and another
// daemon).
func killUnder(dir string) {
	myNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); err != nil || ns != myNS {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(dir)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder lazily unmounts everything mounted at or below dir
// (a dockerd's overlay, shm and netns mounts), deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	for _, mp := range mps {
		syscall.Unmount(mp, syscall.MNT_DETACH)
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeTree unmounts and removes dir.
func removeTree(dir string) error {
	unmountUnder(dir)
	err := os.RemoveAll(dir)
	if err != nil {
		// A mount may have been busy a moment ago; one more try.
		time.Sleep(200 * time.Millisecond)
		unmountUnder(dir)
		err = os.RemoveAll(dir)
	}
	return err
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
