package haproxyapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The testdata/*.txt files are answers recorded from HAProxy 2.6.12
// (Debian 12) with socat; see docs/runtime-api.md for the commands.
func recorded(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	// The client hands answers over without trailing line ends.
	return strings.TrimRight(string(b), "\n")
}

func TestParseServersStateRecorded(t *testing.T) {
	got, err := ParseServersState(recorded(t, "servers-state.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 {
		t.Fatalf("got %d servers, want 9", len(got))
	}
	by := map[string]ServerState{}
	for _, s := range got {
		by[s.Backend+"/"+s.Name] = s
	}
	tests := []struct {
		server                     string
		addr                       string
		port                       int
		up, drain, maint, checksOn bool
		op                         OpState
		admin                      AdminFlags
	}{
		// A configuration server with "check" from default-server, up.
		{"be_a/s1", "127.0.0.2", 8080, true, false, false, true, OpRunning, 0},
		// Dynamic, then "set server state drain".
		{"be_a/x1", "127.0.0.5", 8081, false, true, false, false, OpRunning, AdminForcedDrain},
		// Dynamic, never enabled: forced maintenance, IPv6 address.
		{"be_a/x6", "::1", 8080, false, false, true, false, OpStopped, AdminForcedMaint},
		// Dynamic with a host name: no address at all ("-"), fqdn kept.
		{"be_a/x8", "", 8080, false, false, true, false, OpStopped, AdminForcedMaint},
		// Dynamic with "check", enable health, enable server; target dead.
		{"be_api/chk", "127.0.0.9", 8080, false, false, false, true, OpStopped, 0},
	}
	for _, tt := range tests {
		s, ok := by[tt.server]
		if !ok {
			t.Errorf("%s missing", tt.server)
			continue
		}
		if s.Addr != tt.addr || s.Port != tt.port || s.Up() != tt.up || s.Drain() != tt.drain ||
			s.Maint() != tt.maint || s.ChecksEnabled() != tt.checksOn || s.OpState != tt.op || s.Admin != tt.admin {
			t.Errorf("%s = %+v\nwant addr %s port %d up %v drain %v maint %v checks %v op %d admin %d",
				tt.server, s, tt.addr, tt.port, tt.up, tt.drain, tt.maint, tt.checksOn, tt.op, tt.admin)
		}
	}
	for server, want := range map[string]string{"be_a/s1": "up", "be_a/x1": "drain", "be_a/x6": "maint", "be_api/chk": "down"} {
		if got := by[server].Condition(); got != want {
			t.Errorf("%s: Condition() = %q, want %q", server, got, want)
		}
	}
	if s := by["be_a/x8"]; s.FQDN != "localhost" {
		t.Errorf("x8 FQDN = %q, want localhost", s.FQDN)
	}
	if s := by["be_a/s1"]; s.SinceLastChange != 1615*time.Second || s.BackendID != 3 || s.ID != 1 {
		t.Errorf("s1 = %+v", s)
	}
}

func TestParseServersStateBad(t *testing.T) {
	header := "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_port"
	tests := []struct{ name, in, want string }{
		{"error answer", recorded(t, "servers-state-nobackend.txt"), "format version 1"},
		{"empty", "", "format version 1"},
		{"version 2", "2\n" + header, "format version 1"},
		{"column missing", "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state", "srv_port missing"},
		{"short line", "1\n" + header + "\n3 be_a 1 s1 127.0.0.1 2 0", "7 fields"},
		{"not a number", "1\n" + header + "\n3 be_a x s1 127.0.0.1 2 0 80", "srv_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseServersState(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	// Only the header: a backend without servers.
	got, err := ParseServersState("1\n" + header)
	if err != nil || len(got) != 0 {
		t.Fatalf("header only: %v, %v", got, err)
	}
}

func TestParseStatRecorded(t *testing.T) {
	all, err := ParseStat(recorded(t, "stat.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 13 {
		t.Fatalf("got %d lines, want 13", len(all))
	}
	if all[0].Proxy != "http" || all[0].Name != "FRONTEND" || all[0].Type != StatFrontend || all[0].Status != "OPEN" {
		t.Errorf("first line = %+v", all[0])
	}
	var chk *Stat
	for i := range all {
		if all[i].Proxy == "be_api" && all[i].Name == "chk" {
			chk = &all[i]
		}
	}
	if chk == nil || chk.Type != StatServer || chk.Status != "DOWN" || chk.CheckStatus != "L4CON" || chk.Addr != "127.0.0.9:8080" {
		t.Fatalf("be_api/chk = %+v", chk)
	}
	if chk.Fields["check_desc"] != "Layer4 connection problem" {
		t.Errorf("check_desc = %q", chk.Fields["check_desc"])
	}

	// "show stat BACKEND 6 -1" while two slow requests were running on slw.
	be, err := ParseStat(recorded(t, "stat-backend.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"s1": 0, "x1": 0, "x6": 0, "x7": 0, "x8": 0, "x9": 0, "slw": 2, "BACKEND": 2}
	got := map[string]int{}
	for _, s := range be {
		got[s.Name] = s.SCur
	}
	if len(got) != len(want) {
		t.Fatalf("sessions = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("scur[%s] = %d, want %d", k, got[k], v)
		}
	}

	for _, bad := range []string{"", "No such proxy.", "# pxname,svname,type\nbe,s1,x"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) succeeded", bad)
		}
	}
}

func TestParseInfoRecorded(t *testing.T) {
	info, err := ParseInfo(recorded(t, "info.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Pid != 18533 || info.Version != "2.6.12-1+deb12u4" || info.Uptime != 1615*time.Second || info.Stopping {
		t.Errorf("info = %+v", info)
	}
	if info.Fields["Nbthread"] != "2" {
		t.Errorf("Nbthread = %q", info.Fields["Nbthread"])
	}
	if _, err := ParseInfo("Unknown command"); err == nil {
		t.Error("ParseInfo accepted an answer without Pid")
	}
	stopping, err := ParseInfo("Name: HAProxy\nPid: 7\nUptime_sec: 3\nStopping: 1")
	if err != nil || !stopping.Stopping {
		t.Errorf("Stopping: 1 -> %+v, %v", stopping, err)
	}
}

func TestParseBackendsRecorded(t *testing.T) {
	got, err := ParseBackends(recorded(t, "backend.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "be_a,be_api,be_apiv2" {
		t.Errorf("backends = %v", got)
	}
	if _, err := ParseBackends("No such backend."); err == nil {
		t.Error("accepted an answer without header")
	}
}

func TestParseMapsRecorded(t *testing.T) {
	got, err := ParseMaps(recorded(t, "maps.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("maps = %+v", got)
	}
	m := got[0]
	// The name is the file as written in map_beg(), not the resolved path.
	if m.ID != 0 || m.File != "out.http.map" || m.CurrVer != 2 || m.NextVer != 18 || m.EntryCount != 5322 {
		t.Errorf("map = %+v", m)
	}
	for _, bad := range []string{"", "Unknown command", "# id (file) description\nzero (x) y"} {
		if _, err := ParseMaps(bad); err == nil {
			t.Errorf("ParseMaps(%q) succeeded", bad)
		}
	}
}

func TestParseMap(t *testing.T) {
	got, err := ParseMap(recorded(t, "map.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []MapEntry{
		{"0x7f9444047ca0", "a.example:8801/api", "be_api"},
		{"0x55691d4cfa40", "a.example:8801/", "be_a"},
		{"0x7f9444047d50", "a.example:8801/api/v2", "be_apiv2"},
	}
	if len(got) != len(want) {
		t.Fatalf("entries = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	spaced, err := ParseMap("0x1 key value with spaces")
	if err != nil || spaced[0].Value != "value with spaces" {
		t.Errorf("spaced value: %+v, %v", spaced, err)
	}
	if empty, err := ParseMap(""); err != nil || len(empty) != 0 {
		t.Errorf("empty map: %+v, %v", empty, err)
	}
	if _, err := ParseMap("Unknown map identifier. Please use #<id> or <file>."); err == nil {
		t.Error("accepted an error answer as a map")
	}
}

func TestParseProcsRecorded(t *testing.T) {
	tests := []struct {
		file          string
		reloads       int
		failed        int
		worker        int
		workerReloads int
		old           []int
	}{
		// A reload while a TCP tunnel kept the old worker busy.
		{"proc-oldworker.txt", 16, 0, 10473, 0, []int{4281}},
		// Then a reload with a broken configuration: same worker, failed 1.
		{"proc-failed.txt", 17, 1, 10473, 1, []int{4281}},
		// Then a good reload: new worker, failed back to 0.
		{"proc.txt", 18, 0, 10528, 0, []int{4281}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := ParseProcs(recorded(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if p.Master.PID != 25635 || p.Master.Type != "master" || p.Master.Reloads != tt.reloads || p.FailedReloads != tt.failed {
				t.Errorf("master = %+v failed %d", p.Master, p.FailedReloads)
			}
			if len(p.Workers) != 1 || p.Workers[0].PID != tt.worker || p.Workers[0].Reloads != tt.workerReloads || p.Workers[0].Version != "2.6.12-1+deb12u4" {
				t.Errorf("workers = %+v", p.Workers)
			}
			if len(p.OldWorkers) != len(tt.old) || p.OldWorkers[0].PID != tt.old[0] {
				t.Errorf("old workers = %+v", p.OldWorkers)
			}
			if len(p.Programs) != 0 {
				t.Errorf("programs = %+v", p.Programs)
			}
		})
	}
	p, _ := ParseProcs(recorded(t, "proc-oldworker.txt"))
	if p.Master.Uptime != 26*time.Minute+11*time.Second || p.OldWorkers[0].Uptime != 2*time.Minute+35*time.Second {
		t.Errorf("uptimes = %v, %v", p.Master.Uptime, p.OldWorkers[0].Uptime)
	}
	for _, bad := range []string{"", "Unknown command.", "#<PID> <type>\n# workers\n12 worker 0 0d00h00m00s 2.6"} {
		if _, err := ParseProcs(bad); err == nil {
			t.Errorf("ParseProcs(%q) succeeded", bad)
		}
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct{ in, network, address string }{
		{"/run/haproxy/admin.sock", "unix", "/run/haproxy/admin.sock"},
		{"unix@/tmp/x.sock", "unix", "/tmp/x.sock"},
		{"./admin.sock", "unix", "./admin.sock"},
		{"ipv4@127.0.0.1:9999", "tcp", "127.0.0.1:9999"},
		{"ipv6@[::1]:9999", "tcp", "[::1]:9999"},
		{"127.0.0.1:9999", "tcp", "127.0.0.1:9999"},
	}
	for _, tt := range tests {
		n, a, err := ParseAddr(tt.in)
		if err != nil || n != tt.network || a != tt.address {
			t.Errorf("ParseAddr(%q) = %q, %q, %v; want %q, %q", tt.in, n, a, err, tt.network, tt.address)
		}
	}
	for _, bad := range []string{"", "admin.sock", "unix@", "ipv4@127.0.0.1", "udp@1.2.3.4:5", "abns@x"} {
		if _, _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) succeeded", bad)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.example:80/", "a.example:80/"},
		{"a/semi;colon", `a/semi\;colon`},
		{`back\slash`, `back\\slash`},
		{`;\`, `\;\\`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := tokenize("x " + Escape(tt.in)); len(got) != 2 || got[1] != tt.in {
			t.Errorf("tokenize(Escape(%q)) = %q", tt.in, got)
		}
	}
}
