package haproxyapi

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OpState is a server's operational state (srv_op_state).
type OpState int

// The operational states of "show servers state".
const (
	OpStopped  OpState = 0 // down
	OpStarting OpState = 1 // up, warming up (slowstart)
	OpRunning  OpState = 2 // fully up
	OpStopping OpState = 3 // up, soft-stopping (e.g. a 404 check)
)

// AdminFlags is a server's administrative state (srv_admin_state), a mask.
type AdminFlags int

// The administrative flags of "show servers state".
const (
	AdminForcedMaint    AdminFlags = 0x01 // forced into maintenance (CLI, or "disabled")
	AdminInheritedMaint AdminFlags = 0x02 // maintenance inherited from a tracked server
	AdminConfigMaint    AdminFlags = 0x04 // maintenance from the configuration
	AdminForcedDrain    AdminFlags = 0x08 // forced into drain
	AdminInheritedDrain AdminFlags = 0x10 // drain inherited from a tracked server
	AdminResolveMaint   AdminFlags = 0x20 // maintenance after a failed resolution
	AdminFQDNSet        AdminFlags = 0x40 // FQDN set from the CLI
)

// anyMaint is every flag that keeps a server in maintenance.
const anyMaint = AdminForcedMaint | AdminInheritedMaint | AdminConfigMaint | AdminResolveMaint

// ServerState is one line of "show servers state" (format version 1).
type ServerState struct {
	BackendID       int
	Backend         string
	ID              int
	Name            string
	Addr            string
	OpState         OpState
	Admin           AdminFlags
	UserWeight      int
	InitialWeight   int
	SinceLastChange time.Duration
	CheckStatus     int
	CheckResult     int
	CheckHealth     int
	CheckState      int // flags: 0x2 check configured, 0x4 enabled, 0x8 paused by maintenance
	AgentState      int
	BackendForcedID bool
	ForcedID        bool
	FQDN            string
	Port            int
	SRVRecord       string
	UseSSL          bool
	CheckPort       int
	CheckAddr       string
	AgentAddr       string
	AgentPort       int
}

// Maint reports whether the server is in maintenance (for any reason).
func (s ServerState) Maint() bool { return s.Admin&anyMaint != 0 }

// Drain reports whether the server is draining (and not in maintenance).
func (s ServerState) Drain() bool {
	return !s.Maint() && s.Admin&(AdminForcedDrain|AdminInheritedDrain) != 0
}

// Up reports whether the server is up and takes new traffic: not in
// maintenance, not draining, operationally running or starting.
func (s ServerState) Up() bool {
	return s.Admin&(anyMaint|AdminForcedDrain|AdminInheritedDrain) == 0 &&
		(s.OpState == OpRunning || s.OpState == OpStarting)
}

// Condition names the server's state in one word, for logs and tests:
// "maint", "drain", "down" or "up", in that order of precedence.
func (s ServerState) Condition() string {
	switch {
	case s.Maint():
		return "maint"
	case s.Drain():
		return "drain"
	case !s.Up():
		return "down"
	}
	return "up"
}

// ChecksEnabled reports whether health checks are configured and enabled.
func (s ServerState) ChecksEnabled() bool { return s.CheckState&0x6 == 0x6 }

// ParseServersState parses a "show servers state" answer. Columns are taken
// by their names in the header line, so added columns do not break it.
func ParseServersState(answer string) ([]ServerState, error) {
	lines := strings.Split(strings.TrimRight(answer, "\n"), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "1" || !strings.HasPrefix(lines[1], "# ") {
		return nil, fmt.Errorf("show servers state: want format version 1 and a header, got %q", truncate(answer, 200))
	}
	cols := strings.Fields(strings.TrimPrefix(lines[1], "#"))
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	for _, need := range []string{"be_id", "be_name", "srv_id", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state", "srv_port"} {
		if _, ok := idx[need]; !ok {
			return nil, fmt.Errorf("show servers state: column %s missing in header %q", need, lines[1])
		}
	}
	var out []ServerState
	for n, line := range lines[2:] {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != len(cols) {
			return nil, fmt.Errorf("show servers state line %d: %d fields, header has %d: %q", n+3, len(f), len(cols), line)
		}
		p := fieldParser{cols: idx, f: f}
		s := ServerState{
			BackendID:       p.int("be_id"),
			Backend:         p.str("be_name"),
			ID:              p.int("srv_id"),
			Name:            p.str("srv_name"),
			Addr:            p.str("srv_addr"),
			OpState:         OpState(p.int("srv_op_state")),
			Admin:           AdminFlags(p.int("srv_admin_state")),
			UserWeight:      p.int("srv_uweight"),
			InitialWeight:   p.int("srv_iweight"),
			SinceLastChange: time.Duration(p.int("srv_time_since_last_change")) * time.Second,
			CheckStatus:     p.int("srv_check_status"),
			CheckResult:     p.int("srv_check_result"),
			CheckHealth:     p.int("srv_check_health"),
			CheckState:      p.int("srv_check_state"),
			AgentState:      p.int("srv_agent_state"),
			BackendForcedID: p.int("bk_f_forced_id") != 0,
			ForcedID:        p.int("srv_f_forced_id") != 0,
			FQDN:            p.str("srv_fqdn"),
			Port:            p.int("srv_port"),
			SRVRecord:       p.str("srvrecord"),
			UseSSL:          p.int("srv_use_ssl") != 0,
			CheckPort:       p.int("srv_check_port"),
			CheckAddr:       p.str("srv_check_addr"),
			AgentAddr:       p.str("srv_agent_addr"),
			AgentPort:       p.int("srv_agent_port"),
		}
		if p.err != nil {
			return nil, fmt.Errorf("show servers state line %d %q: %w", n+3, line, p.err)
		}
		out = append(out, s)
	}
	return out, nil
}

// fieldParser reads named fields and keeps the first error.
type fieldParser struct {
	cols map[string]int
	f    []string
	err  error
}

// str returns the field, "" when the column is absent or the value is "-".
func (p *fieldParser) str(name string) string {
	i, ok := p.cols[name]
	if !ok || i >= len(p.f) || p.f[i] == "-" {
		return ""
	}
	return p.f[i]
}

// int returns the field as an integer, 0 when absent or empty.
func (p *fieldParser) int(name string) int {
	s := p.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s=%q is not a number", name, s)
	}
	return n
}

// StatType is the kind of a "show stat" line.
type StatType int

// The "show stat" line types (column "type").
const (
	StatFrontend StatType = 0
	StatBackend  StatType = 1
	StatServer   StatType = 2
	StatListener StatType = 3
)

// Stat is one line of "show stat".
type Stat struct {
	Proxy       string // pxname
	Name        string // svname: FRONTEND, BACKEND or the server's name
	Type        StatType
	QCur        int    // queued requests
	SCur        int    // current sessions
	Status      string // UP, DOWN, MAINT, DRAIN, "no check", OPEN, ...
	CheckStatus string // L4OK, L4CON, L7OK, INI, ... ("" without checks)
	Addr        string // server address:port
	// Fields has every column by its header name, as text.
	Fields map[string]string
}

// ParseStat parses a "show stat" CSV answer.
func ParseStat(answer string) ([]Stat, error) {
	if !strings.HasPrefix(answer, "# ") {
		return nil, fmt.Errorf("show stat: want a CSV header, got %q", truncate(answer, 200))
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(answer, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	header := recs[0]
	var out []Stat
	for n, rec := range recs[1:] {
		m := make(map[string]string, len(header))
		for i, h := range header {
			if h != "" && i < len(rec) {
				m[h] = rec[i]
			}
		}
		s := Stat{Proxy: m["pxname"], Name: m["svname"], Status: m["status"], CheckStatus: m["check_status"], Addr: m["addr"], Fields: m}
		var errs []string
		num := func(k string) int {
			if m[k] == "" {
				return 0
			}
			v, err := strconv.Atoi(m[k])
			if err != nil {
				errs = append(errs, k+"="+m[k])
			}
			return v
		}
		s.Type, s.QCur, s.SCur = StatType(num("type")), num("qcur"), num("scur")
		if _, ok := m["type"]; !ok || len(errs) > 0 {
			return nil, fmt.Errorf("show stat line %d: bad or missing type/qcur/scur %v", n+2, errs)
		}
		out = append(out, s)
	}
	return out, nil
}

// Info is the answer of "show info".
type Info struct {
	Pid       int
	Version   string
	Uptime    time.Duration
	Stopping  bool // the process is an old worker finishing after a reload
	CurrConns int
	// Fields has every "Key: value" line.
	Fields map[string]string
}

// ParseInfo parses a "show info" answer.
func ParseInfo(answer string) (Info, error) {
	m := map[string]string{}
	for _, line := range strings.Split(answer, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			m[k] = v
		}
	}
	info := Info{Version: m["Version"], Stopping: m["Stopping"] == "1", Fields: m}
	var err error
	if info.Pid, err = strconv.Atoi(m["Pid"]); err != nil {
		return Info{}, fmt.Errorf("show info: Pid %q: %w", m["Pid"], err)
	}
	up, err := strconv.Atoi(m["Uptime_sec"])
	if err != nil {
		return Info{}, fmt.Errorf("show info: Uptime_sec %q: %w", m["Uptime_sec"], err)
	}
	info.Uptime = time.Duration(up) * time.Second
	info.CurrConns, _ = strconv.Atoi(m["CurrConns"])
	return info, nil
}

// ParseBackends parses a "show backend" answer.
func ParseBackends(answer string) ([]string, error) {
	lines := strings.Split(strings.TrimRight(answer, "\n"), "\n")
	if len(lines) == 0 || lines[0] != "# name" {
		return nil, fmt.Errorf("show backend: want a \"# name\" header, got %q", truncate(answer, 200))
	}
	var out []string
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// MapInfo is one map of "show map" without argument.
type MapInfo struct {
	ID          int    // usable as "#ID"
	File        string // the name to use in map commands, as the configuration wrote it
	CurrVer     uint32 // version lookups use
	NextVer     uint32 // last version allocated by "prepare map"
	EntryCount  int    // entries of all versions
	Description string
}

// ParseMaps parses a "show map" answer (the list of maps).
func ParseMaps(answer string) ([]MapInfo, error) {
	lines := strings.Split(strings.TrimRight(answer, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# id (file) description") {
		return nil, fmt.Errorf("show map: want a \"# id (file) description\" header, got %q", truncate(answer, 200))
	}
	var out []MapInfo
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		id, rest, ok := strings.Cut(l, " (")
		file, desc, ok2 := strings.Cut(rest, ") ")
		n, err := strconv.Atoi(id)
		if !ok || !ok2 || err != nil {
			return nil, fmt.Errorf("show map: bad line %q", l)
		}
		mi := MapInfo{ID: n, File: file, Description: desc}
		for _, f := range strings.Fields(desc) {
			k, v, ok := strings.Cut(strings.TrimSuffix(f, "."), "=")
			if !ok {
				continue
			}
			u, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				continue
			}
			switch k {
			case "curr_ver":
				mi.CurrVer = uint32(u)
			case "next_ver":
				mi.NextVer = uint32(u)
			case "entry_cnt":
				mi.EntryCount = int(u)
			}
		}
		out = append(out, mi)
	}
	return out, nil
}

// MapEntry is one key and value of a map.
type MapEntry struct {
	Ref   string // HAProxy's entry reference ("0x55..."), only in dumps
	Key   string
	Value string
}

// ParseMap parses a "show map MAP" answer: lines "0xREF KEY VALUE", where
// the value may hold blanks.
func ParseMap(answer string) ([]MapEntry, error) {
	var out []MapEntry
	for _, l := range strings.Split(strings.TrimRight(answer, "\n"), "\n") {
		if l == "" {
			continue
		}
		ref, rest, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(ref, "0x") {
			return nil, fmt.Errorf("show map: bad entry line %q", l)
		}
		key, value, _ := strings.Cut(rest, " ")
		out = append(out, MapEntry{Ref: ref, Key: key, Value: value})
	}
	return out, nil
}
