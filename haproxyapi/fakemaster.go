package haproxyapi

import (
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// FakeMaster emulates HAProxy's master CLI socket (haproxy -S PATH) for
// tests that cannot run HAProxy: like the master, it reads a connection's
// command until the client half-closes it, writes one answer and closes.
// The answers come from a function, e.g. FakeProcs for "show proc".
type FakeMaster struct {
	l  net.Listener
	wg sync.WaitGroup
}

// StartFakeMaster listens on the unix socket path and answers each command
// with answer(cmd).
func StartFakeMaster(path string, answer func(cmd string) string) (*FakeMaster, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	f := &FakeMaster{l: l}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c) // waits for the half-close, as HAProxy's master does
			io.WriteString(c, answer(strings.TrimSuffix(string(b), "\n")))
			c.Close()
		}
	}()
	return f, nil
}

// Close stops listening and waits for the server to end.
func (f *FakeMaster) Close() {
	f.l.Close()
	f.wg.Wait()
}

// FakeProcs is the master's answer to "show proc" as HAProxy 2.6 prints
// it: master PID, reloads so far, failed reloads among them, and one
// current worker.
func FakeProcs(master, reloads, failed, worker int) string {
	return strings.NewReplacer("M", strconv.Itoa(master), "R", strconv.Itoa(reloads), "F", strconv.Itoa(failed), "W", strconv.Itoa(worker)).Replace(
		"#<PID>          <type>          <reloads>       <uptime>        <version>\n" +
			"M           master          R [failed: F]   0d00h00m07s     2.6.12-1+deb12u4\n" +
			"# workers\nW           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n# programs\n\n")
}
