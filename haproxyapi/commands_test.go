package haproxyapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// stub answers every command with one fixed answer and records what it got.
type stub struct {
	answer   string
	cmds     []string
	payloads []string
}

func (s *stub) commands() Commands {
	return Commands{payloadLimit: DefaultPayloadLimit, exec: func(_ context.Context, cmd, payload string) (string, error) {
		s.cmds = append(s.cmds, cmd)
		s.payloads = append(s.payloads, payload)
		return s.answer, nil
	}}
}

// Answers recorded from HAProxy 2.6.12: every wrapped command must take its
// success answer and nothing else, above all not an empty or unknown one.
func TestAnswerChecks(t *testing.T) {
	ctx := context.Background()
	addServer := func(c Commands) error { return c.AddServer(ctx, "be_a", "d1", "127.0.0.4:8080", "check inter 2s") }
	delServer := func(c Commands) error { return c.DelServer(ctx, "be_a", "d1") }
	enable := func(c Commands) error { return c.EnableServer(ctx, "be_a", "d1") }
	health := func(c Commands) error { return c.EnableHealth(ctx, "be_a", "d1") }
	agent := func(c Commands) error { return c.EnableAgent(ctx, "be_a", "d1") }
	drain := func(c Commands) error { return c.SetServerState(ctx, "be_a", "d1", StateDrain) }
	setAddr := func(c Commands) error { return c.SetServerAddr(ctx, "be_a", "d1", "127.0.0.5", 8080) }
	prepare := func(c Commands) error { _, err := c.PrepareMap(ctx, "http.map"); return err }
	addMap := func(c Commands) error { return c.AddMapEntry(ctx, "http.map", 3, "a.example:80/", "be_a") }
	commit := func(c Commands) error { return c.CommitMap(ctx, "http.map", 3) }
	clearMap := func(c Commands) error { return c.ClearMap(ctx, "http.map") }
	showMap := func(c Commands) error { _, err := c.ShowMap(ctx, "http.map"); return err }
	state := func(c Commands) error { _, err := c.ShowServersState(ctx, "be_a"); return err }
	stat := func(c Commands) error { _, err := c.ShowStat(ctx, "be_a"); return err }
	info := func(c Commands) error { _, err := c.ShowInfo(ctx); return err }
	backends := func(c Commands) error { _, err := c.ShowBackends(ctx); return err }
	maps := func(c Commands) error { _, err := c.ShowMaps(ctx); return err }
	unknown := "Unknown command, but maybe one of the following ones is a better match:\n  help [<command>]  : list matching or all commands"

	tests := []struct {
		name   string
		call   func(Commands) error
		answer string
		ok     bool
	}{
		{"add server ok", addServer, "New server registered.", true},
		{"add server static algorithm", addServer, "Backend must use a dynamic load balancing to support dynamic servers.", false},
		{"add server exists", addServer, "Already exists a server with the same name in backend.", false},
		{"add server keyword", addServer, "'cookie' option is not accepted for dynamic server", false},
		{"add server ssl verify", addServer, "verify is enabled by default but no CA file specified. If you're running on a LAN ...", false},
		{"add server empty", addServer, "", false},
		{"add server unknown command", addServer, unknown, false},
		{"del server ok", delServer, "Server deleted.", true},
		{"del server not maint", delServer, "Only servers in maintenance mode can be deleted.", false},
		{"del server connections", delServer, "Server still has connections attached to it, cannot remove it.", false},
		{"del server empty", delServer, "", false},
		{"enable server ok", enable, "", true},
		{"enable server no server", enable, "No such server.", false},
		{"enable server no backend", enable, "No such backend.", false},
		{"enable server unknown command", enable, unknown, false},
		{"enable health ok", health, "", true},
		{"enable health no check", health, "Health check was not configured on this server, cannot enable.", false},
		{"enable agent no agent", agent, "Agent was not configured on this server, cannot enable.", false},
		{"set state ok", drain, "", true},
		{"set state refused", drain, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.", false},
		{"set addr changed", setAddr, "IP changed from '127.0.0.4' to '127.0.0.5', no need to change the port by 'stats socket command'", true},
		{"set addr both changed", setAddr, "IP changed from '127.0.0.6' to '127.0.0.5', port changed from '8080' to '8081' by 'stats socket command'", true},
		{"set addr nothing to do", setAddr, "no need to change the addr, no need to change the port by 'stats socket command'", true},
		{"set addr invalid addr", setAddr, "Invalid addr 'bad' by 'stats socket command'", false},
		{"set addr bad port", setAddr, "no need to change the addr, problem converting port 'abc' to an int by 'stats socket command'", false},
		{"set addr port map", setAddr, "no need to change the addr, can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive. by 'stats socket command'", false},
		{"set addr no server", setAddr, "No such server.", false},
		{"set addr empty", setAddr, "", false},
		{"prepare ok", prepare, "New version created: 18", true},
		{"prepare no map", prepare, "Unknown map identifier. Please use #<id> or <file>.", false},
		{"prepare empty", prepare, "", false},
		{"prepare huge version", prepare, "New version created: 99999999999", false},
		{"add map ok", addMap, "", true},
		{"add map future", addMap, "Version number in the future, please use 'prepare map' before.", false},
		{"commit ok", commit, "", true},
		{"commit out of range", commit, "Version number out of range.", false},
		{"clear ok", clearMap, "", true},
		{"clear no map", clearMap, "Unknown map identifier. Please use #<id> or <file>.", false},
		{"show map empty map", showMap, "", true},
		{"show map entries", showMap, "0x55 a.example:80/ be_a", true},
		{"show map no map", showMap, "Unknown map identifier. Please use #<id> or <file>.", false},
		{"servers state no backend", state, "Can't find backend.", false},
		{"servers state empty", state, "", false},
		{"stat no proxy", stat, "No such proxy.", false},
		{"stat empty", stat, "", false},
		{"info unknown command", info, unknown, false},
		{"info empty", info, "", false},
		{"backends empty", backends, "", false},
		{"maps permission", maps, "Permission denied", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stub{answer: tt.answer}
			err := tt.call(s.commands())
			if tt.ok && err != nil {
				t.Fatalf("answer %q: unexpected error %v", tt.answer, err)
			}
			if !tt.ok {
				var ce *CommandError
				if !errors.As(err, &ce) {
					t.Fatalf("answer %q: err = %v, want a *CommandError", tt.answer, err)
				}
				if ce.Answer != tt.answer || ce.Command != s.cmds[0] {
					t.Errorf("CommandError = %+v, want answer %q and command %q", ce, tt.answer, s.cmds[0])
				}
				if tt.answer != "" && !strings.Contains(err.Error(), strings.SplitN(tt.answer, "\n", 2)[0][:min(40, len(tt.answer))]) {
					t.Errorf("error %q does not quote HAProxy's answer", err)
				}
			}
		})
	}
}

func TestCommandLines(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		call func(Commands) error
		want string
	}{
		{func(c Commands) error {
			return c.AddServer(ctx, "be_a", "d1", "127.0.0.4:8080", " check  inter 2s\tfall 3 rise 2 ")
		}, "add server be_a/d1 127.0.0.4:8080 check inter 2s fall 3 rise 2"},
		{func(c Commands) error { return c.AddServer(ctx, "be_a", "d6", "[::1]:80", "") }, "add server be_a/d6 [::1]:80"},
		{func(c Commands) error { return c.SetServerAddr(ctx, "be_a", "d1", "fd00::5", 80) }, "set server be_a/d1 addr fd00::5 port 80"},
		{func(c Commands) error { return c.SetServerState(ctx, "be_a", "d1", StateMaint) }, "set server be_a/d1 state maint"},
		{func(c Commands) error { return c.AddMapEntry(ctx, "http.map", 7, "a.example:80/x;y", `b\e`) }, `add map @7 http.map a.example:80/x\;y b\\e`},
		{func(c Commands) error { return c.CommitMap(ctx, "#0", 7) }, "commit map @7 #0"},
		{func(c Commands) error { _, err := c.ShowStat(ctx, "be_a"); return err }, "show stat be_a 6 -1"},
		{func(c Commands) error { _, err := c.ShowServersState(ctx, ""); return err }, "show servers state"},
	}
	for _, tt := range tests {
		s := &stub{answer: "IP changed from 'x' to 'y', no need to change the port by 'stats socket command'"}
		if strings.HasPrefix(tt.want, "add server") {
			s.answer = "New server registered."
		} else if strings.HasPrefix(tt.want, "set server be_a/d1 state") || strings.HasPrefix(tt.want, "add map") || strings.HasPrefix(tt.want, "commit") {
			s.answer = ""
		}
		tt.call(s.commands())
		if len(s.cmds) != 1 || s.cmds[0] != tt.want {
			t.Errorf("sent %q, want %q", s.cmds, tt.want)
		}
	}
}

// Bad input never reaches HAProxy: a host name (HAProxy takes it and never
// resolves it), a missing or out-of-range port (70000 would become 4464), a
// name or key that would split the command.
func TestInputRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(Commands) error
	}{
		{"host name", func(c Commands) error { return c.AddServer(ctx, "be", "s", "localhost:80", "") }},
		{"no port", func(c Commands) error { return c.AddServer(ctx, "be", "s", "127.0.0.1", "") }},
		{"port 0", func(c Commands) error { return c.AddServer(ctx, "be", "s", "127.0.0.1:0", "") }},
		{"ipv6 without brackets", func(c Commands) error { return c.AddServer(ctx, "be", "s", "::1:80", "") }},
		{"server with slash", func(c Commands) error { return c.AddServer(ctx, "be", "a/b", "127.0.0.1:80", "") }},
		{"backend with blank", func(c Commands) error { return c.DelServer(ctx, "be x", "s") }},
		{"empty server", func(c Commands) error { return c.EnableServer(ctx, "be", "") }},
		{"command in name", func(c Commands) error { return c.EnableServer(ctx, "be", "s;show info") }},
		{"line break in option", func(c Commands) error { return c.AddServer(ctx, "be", "s", "127.0.0.1:80", "check\nshow info") }},
		{"bad state", func(c Commands) error { return c.SetServerState(ctx, "be", "s", "up") }},
		{"addr host name", func(c Commands) error { return c.SetServerAddr(ctx, "be", "s", "localhost", 80) }},
		{"addr port 70000", func(c Commands) error { return c.SetServerAddr(ctx, "be", "s", "127.0.0.1", 70000) }},
		{"addr port 0", func(c Commands) error { return c.SetServerAddr(ctx, "be", "s", "127.0.0.1", 0) }},
		{"map key with blank", func(c Commands) error { return c.AddMapEntry(ctx, "m", 1, "a b", "v") }},
		{"map value with blank", func(c Commands) error { return c.AddMapEntry(ctx, "m", 1, "k", "v w") }},
		{"empty map name", func(c Commands) error { _, err := c.PrepareMap(ctx, ""); return err }},
		{"bulk key with blank", func(c Commands) error { return c.AddMapEntries(ctx, "m", 1, []MapEntry{{Key: "a b", Value: "v"}}) }},
		{"bulk value with line break", func(c Commands) error {
			return c.AddMapEntries(ctx, "m", 1, []MapEntry{{Key: "k", Value: "v\nshow info"}})
		}},
		{"bulk empty value", func(c Commands) error { return c.AddMapEntries(ctx, "m", 1, []MapEntry{{Key: "k"}}) }},
		{"ServerSessions without backend", func(c Commands) error { _, err := c.ServerSessions(ctx, ""); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stub{answer: ""}
			err := tt.call(s.commands())
			if err == nil {
				t.Fatal("accepted")
			}
			if len(s.cmds) != 0 {
				t.Errorf("sent %q despite bad input", s.cmds)
			}
		})
	}
}

// Bulk map entries go in as few payload commands as fit the limit, in
// order, none lost, each command within the limit.
func TestAddMapEntriesChunks(t *testing.T) {
	var entries []MapEntry
	for i := range 1000 {
		entries = append(entries, MapEntry{Key: fmt.Sprintf("h%04d.example.com:80/", i), Value: fmt.Sprintf("http_80_h%04d.example.com", i)})
	}
	entries = append(entries, MapEntry{Key: "semi;colon:80/", Value: "value with spaces"})
	s := &stub{}
	if err := s.commands().AddMapEntries(context.Background(), "http.map", 5, entries); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, cmd := range s.cmds {
		if cmd != `add map @5 http.map` {
			t.Errorf("command %d = %q", i, cmd)
		}
		size := len(cmd) + len(" <<\n") + len(s.payloads[i]) + len("\n")
		if size > DefaultPayloadLimit {
			t.Errorf("command %d is %d bytes, limit %d", i, size, DefaultPayloadLimit)
		}
		got = append(got, strings.Split(strings.TrimSuffix(s.payloads[i], "\n"), "\n")...)
	}
	// 1001 lines of about 47 bytes: 47 KB, so 6 commands of at most 8 KiB.
	if len(s.cmds) != 6 {
		t.Errorf("%d commands, want 6", len(s.cmds))
	}
	if len(got) != len(entries) {
		t.Fatalf("%d lines sent, want %d", len(got), len(entries))
	}
	for i, e := range entries {
		if got[i] != e.Key+" "+e.Value {
			t.Fatalf("line %d = %q, want %q", i, got[i], e.Key+" "+e.Value)
		}
	}
	// No entries: nothing sent.
	s = &stub{}
	if err := s.commands().AddMapEntries(context.Background(), "http.map", 5, nil); err != nil || len(s.cmds) != 0 {
		t.Errorf("no entries: %v, sent %q", err, s.cmds)
	}
}

func TestServerSessions(t *testing.T) {
	s := &stub{answer: recorded(t, "stat-backend.txt")}
	got, err := s.commands().ServerSessions(context.Background(), "be_a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 || got["slw"] != 2 || got["s1"] != 0 {
		t.Errorf("sessions = %v", got)
	}
	if _, ok := got["BACKEND"]; ok {
		t.Error("the backend line counted as a server")
	}
}

func TestReplaceMapOnFake(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	f.AddMap("http.map", MapEntry{Key: "a.example:80/", Value: "be_a"})
	err := ReplaceMap(ctx, f, "http.map", []MapEntry{{Key: "a.example:80/", Value: "be_a"}, {Key: "a.example:80/api", Value: "be_api"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Lookup("http.map", "a.example:80/api/x"); v != "be_api" {
		t.Errorf("lookup /api/x = %q, want be_api", v)
	}
	want := []string{"prepare map http.map", "add map @1 http.map", "commit map @1 http.map"}
	if got := f.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", got, want)
	}
	// A failing step stops the transaction: the old content stays.
	f.FailOn(func(cmd string) error {
		if strings.HasPrefix(cmd, "add map") {
			return errors.New("broken pipe")
		}
		return nil
	})
	if err := ReplaceMap(ctx, f, "http.map", []MapEntry{{Key: "b.example:80/", Value: "be_b"}}); err == nil {
		t.Fatal("ReplaceMap succeeded on a failing add")
	}
	if _, ok := f.Lookup("http.map", "b.example:80/"); ok {
		t.Error("an uncommitted entry is visible")
	}
	if v, _ := f.Lookup("http.map", "a.example:80/api"); v != "be_api" {
		t.Errorf("old content lost: %q", v)
	}
}
