package haproxyapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reply is what the emulated CLI does with one command.
type reply struct {
	body     string // written before the prompt, as HAProxy formats it
	close    bool   // close after the body, without prompt
	noPrompt bool   // write the body, then hang
	bytewise bool   // write one byte at a time
}

// cliServer emulates the interactive mode of HAProxy's stats socket on a
// unix socket: "prompt" answers "\n> ", each command line (and its payload
// after "<<") goes to handle, whose body is followed by the prompt "> ".
// While reading a payload it writes "+ " per line, as HAProxy 2.6 does.
type cliServer struct {
	path   string
	conns  atomic.Int32
	handle func(cmd, payload string) reply
}

func newCLIServer(t *testing.T, handle func(cmd, payload string) reply) *cliServer {
	t.Helper()
	s := &cliServer{path: filepath.Join(t.TempDir(), "admin.sock"), handle: handle}
	l, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *cliServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	interactive := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimSuffix(line, "\n")
		if cmd == "prompt" && !interactive {
			interactive = true
			io.WriteString(c, "\n> ")
			continue
		}
		var payload string
		if strings.HasSuffix(cmd, " <<") {
			cmd = strings.TrimSuffix(cmd, " <<")
			io.WriteString(c, "+ ")
			for {
				pl, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if pl == "\n" {
					break
				}
				payload += pl
				io.WriteString(c, "+ ")
			}
		}
		rep := s.handle(cmd, payload)
		if rep.bytewise {
			for i := range len(rep.body) {
				c.Write([]byte{rep.body[i]})
				time.Sleep(100 * time.Microsecond)
			}
		} else {
			io.WriteString(c, rep.body)
		}
		switch {
		case rep.close:
			return
		case rep.noPrompt:
			io.Copy(io.Discard, r)
			return
		}
		io.WriteString(c, "> ")
	}
}

func newTestClient(t *testing.T, path string, opts ...Option) *Client {
	t.Helper()
	c, err := New(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The framing: answers as HAProxy 2.6.12 formats them in interactive mode
// (dumps end with an empty line, some messages do not, empty answers are a
// lone line end) come back without trailing line ends.
func TestDoFraming(t *testing.T) {
	answers := map[string]reply{
		"show backend":                        {body: "# name\nbe_a\nbe_b\n\n"},
		"enable server be_a/s1":               {body: "\n"},
		"add server be_src/d1 127.0.0.4:8080": {body: "Backend must use a dynamic load balancing to support dynamic servers.\n"},
		"add server be_a/d1 127.0.0.4:8080":   {body: "New server registered.\n\n"},
		"show info":                           {body: "Name: HAProxy\nPid: 42\nUptime_sec: 1\n\n", bytewise: true},
	}
	srv := newCLIServer(t, func(cmd, payload string) reply {
		if r, ok := answers[cmd]; ok {
			return r
		}
		return reply{body: "Unknown command\n"}
	})
	c := newTestClient(t, srv.path)
	ctx := context.Background()
	want := map[string]string{
		"show backend":                        "# name\nbe_a\nbe_b",
		"enable server be_a/s1":               "",
		"add server be_src/d1 127.0.0.4:8080": "Backend must use a dynamic load balancing to support dynamic servers.",
		"add server be_a/d1 127.0.0.4:8080":   "New server registered.",
		"show info":                           "Name: HAProxy\nPid: 42\nUptime_sec: 1",
	}
	for cmd, w := range want {
		got, err := c.Do(ctx, cmd)
		if err != nil || got != w {
			t.Errorf("Do(%q) = %q, %v; want %q", cmd, got, err, w)
		}
	}
	if n := srv.conns.Load(); n != int32(len(want)) {
		t.Errorf("%d connections for %d commands, want one each", n, len(want))
	}
	info, err := c.ShowInfo(ctx)
	if err != nil || info.Pid != 42 {
		t.Errorf("ShowInfo = %+v, %v", info, err)
	}
}

// A payload is sent after "<<" and ended with an empty line; the "+ "
// prompts HAProxy writes meanwhile are not part of the answer.
func TestPayload(t *testing.T) {
	var got []string
	srv := newCLIServer(t, func(cmd, payload string) reply {
		if cmd == "add map @3 http.map" {
			got = append(got, payload)
			return reply{body: "\n"}
		}
		return reply{body: "Unknown command\n"}
	})
	c := newTestClient(t, srv.path)
	entries := []MapEntry{{Key: "a.example:80/", Value: "be_a"}, {Key: "b.example:80/x", Value: "be b"}}
	if err := c.AddMapEntries(context.Background(), "http.map", 3, entries); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "a.example:80/ be_a\nb.example:80/x be b\n" {
		t.Errorf("payloads = %q", got)
	}
	// An empty line inside a payload would end it and run the rest as commands.
	if _, err := c.exec(context.Background(), "add map @3 http.map", "k v\n\nshow info\n"); err == nil {
		t.Error("a payload with an empty line was sent")
	}
}

// An answer that does not end with the prompt is never taken: a closed
// connection, a hang (deadline), a cancelled context.
func TestIncompleteAnswers(t *testing.T) {
	srv := newCLIServer(t, func(cmd, payload string) reply {
		switch cmd {
		case "close":
			return reply{body: "New server reg", close: true}
		case "close-empty", "enable server be/s1":
			return reply{close: true}
		case "hang":
			return reply{body: "New server registered.\n", noPrompt: true}
		}
		return reply{body: "\n"}
	})
	c := newTestClient(t, srv.path, WithTimeout(300*time.Millisecond))
	ctx := context.Background()

	for _, cmd := range []string{"close", "close-empty"} {
		got, err := c.Do(ctx, cmd)
		if err == nil || !strings.Contains(err.Error(), "connection closed before the answer was complete") {
			t.Errorf("Do(%q) = %q, %v; want a closed-connection error", cmd, got, err)
		}
	}
	// An empty answer cut by a closed connection is no success, and it is a
	// transport error, not a CommandError.
	var ce *CommandError
	if err := c.EnableServer(ctx, "be", "s1"); err == nil || errors.As(err, &ce) {
		t.Errorf("EnableServer on a closed connection: %v, want a transport error", err)
	}

	start := time.Now()
	_, err := c.Do(ctx, "hang")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hang took %s with a 300ms timeout", d)
	}

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	c2 := newTestClient(t, srv.path, WithTimeout(time.Minute))
	start = time.Now()
	_, err = c2.Do(cctx, "hang")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %s", d)
	}

	// Nothing listens: a transport error.
	dead := newTestClient(t, filepath.Join(t.TempDir(), "none.sock"))
	if err := dead.EnableServer(ctx, "be", "s"); err == nil || errors.As(err, &ce) {
		t.Errorf("no socket: err = %v, want a transport error", err)
	}
}

// A session runs many commands over one connection, and refuses to go on
// after a transport error (the state of the connection is unknown).
func TestSession(t *testing.T) {
	var n atomic.Int32
	srv := newCLIServer(t, func(cmd, payload string) reply {
		switch cmd {
		case "hang":
			return reply{noPrompt: true}
		case "set server be/s state maint":
			n.Add(1)
			return reply{body: "\n"}
		}
		return reply{body: "No such server.\n"}
	})
	c := newTestClient(t, srv.path, WithTimeout(300*time.Millisecond))
	ctx := context.Background()
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 50 {
		if err := s.SetServerState(ctx, "be", "s", StateMaint); err != nil {
			t.Fatal(err)
		}
	}
	var ce *CommandError
	if err := s.EnableServer(ctx, "be", "x"); !errors.As(err, &ce) || ce.Answer != "No such server." {
		t.Fatalf("err = %v, want CommandError No such server.", err)
	}
	if err := s.SetServerState(ctx, "be", "s", StateMaint); err != nil {
		t.Fatalf("a CommandError broke the session: %v", err)
	}
	if n.Load() != 51 || srv.conns.Load() != 1 {
		t.Errorf("%d commands over %d connections, want 51 over 1", n.Load(), srv.conns.Load())
	}
	if _, err := s.Do(ctx, "hang"); err == nil {
		t.Fatal("hang succeeded")
	}
	if err := s.SetServerState(ctx, "be", "s", StateMaint); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("after a transport error: %v, want unusable session", err)
	}
	s.Close()
	if _, err := s.Do(ctx, "show info"); err == nil {
		t.Error("Do after Close succeeded")
	}
}

// masterServer serves a FakeMaster on a socket of the test's own and
// returns its path.
func masterServer(t *testing.T, answer func(cmd string) string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.sock")
	f, err := StartFakeMaster(path, answer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return path
}

func proc(master, reloads, failed int, worker int) string {
	return FakeProcs(master, reloads, failed, worker)
}

func TestMasterReload(t *testing.T) {
	tests := []struct {
		name    string
		after   []string // show proc answers after "reload", the last one repeats
		wantErr error
		worker  int
	}{
		{"new worker", []string{proc(10, 3, 0, 100), proc(10, 3, 0, 100), proc(10, 4, 0, 200)}, nil, 200},
		{"failed", []string{proc(10, 4, 1, 100)}, ErrReloadFailed, 0},
		{"never", []string{proc(10, 3, 0, 100)}, context.DeadlineExceeded, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			reloaded, i := false, 0
			var cmds []string
			path := masterServer(t, func(cmd string) string {
				mu.Lock()
				defer mu.Unlock()
				cmds = append(cmds, cmd)
				switch {
				case cmd == "reload":
					reloaded = true
					return ""
				case cmd == "show proc" && !reloaded:
					return proc(10, 3, 0, 100)
				case cmd == "show proc":
					a := tt.after[min(i, len(tt.after)-1)]
					i++
					return a
				}
				return "Unknown command.\n"
			})
			m, err := NewMaster(path)
			if err != nil {
				t.Fatal(err)
			}
			m.poll = time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			got, err := m.Reload(ctx)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Reload: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (len(got.Workers) != 1 || got.Workers[0].PID != tt.worker) {
				t.Errorf("workers = %+v, want PID %d", got.Workers, tt.worker)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(cmds) < 3 || cmds[0] != "show proc" || cmds[1] != "reload" {
				t.Errorf("commands = %q", cmds)
			}
		})
	}
}

// While the master re-executes, its socket is missing or refuses
// connections: Reload retries until it answers.
func TestMasterReloadWaitsForSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.sock")
	var mu sync.Mutex
	reloaded := false
	var fakeMu sync.Mutex // not mu: the answers take mu while Close waits for them
	var fake *FakeMaster
	t.Cleanup(func() {
		fakeMu.Lock()
		defer fakeMu.Unlock()
		if fake != nil {
			fake.Close()
		}
	})
	time.AfterFunc(100*time.Millisecond, func() {
		f, err := StartFakeMaster(path, func(cmd string) string {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case cmd == "reload":
				reloaded = true
				return ""
			case reloaded:
				return proc(10, 4, 0, 200)
			}
			return proc(10, 3, 0, 100)
		})
		if err != nil {
			t.Error(err)
			return
		}
		fakeMu.Lock()
		fake = f
		fakeMu.Unlock()
	})
	m, err := NewMaster(path)
	if err != nil {
		t.Fatal(err)
	}
	m.poll = 5 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := m.Reload(ctx)
	if err != nil || got.Workers[0].PID != 200 {
		t.Fatalf("Reload = %+v, %v", got, err)
	}
	// Without a master at all, Reload ends with the context.
	m2, _ := NewMaster(filepath.Join(t.TempDir(), "none.sock"))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := m2.Reload(ctx2); err == nil {
		t.Error("Reload without a master succeeded")
	}
}
