package haproxyapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Fake is an in-memory stand-in for the Runtime API of HAProxy 2.6, for
// tests of code that takes a Runtime. It interprets the command lines the
// typed commands send and answers them with HAProxy's recorded texts, so the
// same validation, answer checks and parsers run as against the real thing
// (TestFakeMatchesHAProxy runs one scenario on both). It models what a live
// apply relies on: dynamic servers start in maintenance, only backends with
// a dynamic algorithm take them, "del server" needs maintenance and no
// session, map versions. It has no traffic: set sessions with SetSessions.
type Fake struct {
	Commands
	mu       sync.Mutex
	backends []*fakeBackend
	maps     []*fakeMap
	calls    []string
	failOn   func(cmd string) error
}

type fakeBackend struct {
	name    string
	id      int
	dynamic bool
	servers []*fakeServer
}

type fakeServer struct {
	st       ServerState
	sessions int
	health   bool // "check" configured
	agent    bool // "agent-check" configured
}

type fakeMap struct {
	file       string
	curr, next uint32
	versions   map[uint32][]MapEntry
	refs       int
}

var _ Runtime = (*Fake)(nil)

// NewFake returns a Fake with no backend and no map.
func NewFake() *Fake {
	f := &Fake{}
	f.Commands = Commands{exec: f.exec, payloadLimit: DefaultPayloadLimit}
	return f
}

// FakeServer is a server of the fake's configuration.
type FakeServer struct {
	Name string
	Addr string
	Port int
}

// AddBackend declares a backend as the configuration would, with servers
// that are up. dynamic says whether its balance algorithm accepts "add
// server" (roundrobin, leastconn, first: yes; source, static-rr: no).
func (f *Fake) AddBackend(name string, dynamic bool, servers ...FakeServer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := &fakeBackend{name: name, id: len(f.backends) + 3, dynamic: dynamic}
	for _, s := range servers {
		b.servers = append(b.servers, &fakeServer{health: true, st: ServerState{
			BackendID: b.id, Backend: name, ID: b.freeID(), Name: s.Name, Addr: s.Addr, Port: s.Port,
			OpState: OpRunning, UserWeight: 1, InitialWeight: 1, CheckState: 6,
		}})
	}
	f.backends = append(f.backends, b)
}

// AddMap declares a map file as the configuration would name it in map() or
// map_beg(), with its entries.
func (f *Fake) AddMap(file string, entries ...MapEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &fakeMap{file: file, versions: map[uint32][]MapEntry{0: nil}}
	for _, e := range entries {
		m.add(0, e.Key, e.Value)
	}
	f.maps = append(f.maps, m)
}

// SetSessions sets the current sessions of a server (what ServerSessions
// reports and what makes "del server" refuse).
func (f *Fake) SetSessions(backend, server string, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, s, msg := f.server(backend + "/" + server)
	if msg != "" {
		return fmt.Errorf("fake: %s", msg)
	}
	s.sessions = n
	return nil
}

// FailOn makes the fake fail the commands for which fn returns an error, as
// a broken socket would (the command has no effect). nil clears it.
func (f *Fake) FailOn(fn func(cmd string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOn = fn
}

// Calls returns the command lines received so far (payloads not included).
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Lookup returns the value map_beg() would find for key in the current
// version of the map: the longest matching prefix.
func (f *Fake) Lookup(mapName, key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.mapByName(mapName)
	if m == nil {
		return "", false
	}
	best, found := -1, ""
	for _, e := range m.versions[m.curr] {
		if strings.HasPrefix(key, e.Key) && len(e.Key) > best {
			best, found = len(e.Key), e.Value
		}
	}
	return found, best >= 0
}

// Do interprets one raw command line like the CLI (see Client.Do).
func (f *Fake) Do(ctx context.Context, cmd string) (string, error) { return f.exec(ctx, cmd, "") }

func (f *Fake) exec(ctx context.Context, cmd, payload string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := checkLine(cmd); err != nil {
		return "", err
	}
	if payload != "" {
		if err := checkPayload(payload); err != nil {
			return "", err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cmd)
	if f.failOn != nil {
		if err := f.failOn(cmd); err != nil {
			return "", fmt.Errorf("fake haproxy runtime API: %q: %w", cmd, err)
		}
	}
	return strings.TrimRight(f.answer(tokenize(cmd), payload), "\n"), nil
}

// tokenize splits a command line on blanks, with '\' escaping the next
// character, as HAProxy's CLI does.
func tokenize(cmd string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\\' && i+1 < len(cmd):
			i++
			cur.WriteByte(cmd[i])
			in = true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// The answers HAProxy 2.6.12 gives (recorded, see docs/runtime-api.md).
const (
	ansNoBackend     = "No such backend."
	ansNoServer      = "No such server."
	ansNotDynamic    = "Backend must use a dynamic load balancing to support dynamic servers."
	ansExists        = "Already exists a server with the same name in backend."
	ansRegistered    = "New server registered."
	ansDeleted       = "Server deleted."
	ansDelNotMaint   = "Only servers in maintenance mode can be deleted."
	ansDelConns      = "Server still has connections attached to it, cannot remove it."
	ansNoHealth      = "Health check was not configured on this server, cannot enable."
	ansNoAgent       = "Agent was not configured on this server, cannot enable."
	ansBadState      = "'set server <srv> state' expects 'ready', 'drain' and 'maint'."
	ansNoMap         = "Unknown map identifier. Please use #<id> or <file>."
	ansVerOutOfRange = "Version number out of range."
	ansVerFuture     = "Version number in the future, please use 'prepare map' before."
	ansNoProxy       = "No such proxy."
	ansNoBackendSS   = "Can't find backend."
)

// refused are server keywords "add server" refuses in 2.6 (measured).
var refused = []string{"cookie", "init-addr", "resolvers", "redir", "namespace", "socks4", "max-reuse", "no-check", "non-stick", "resolve-prefer", "resolve-net", "log-proto"}

func (f *Fake) answer(t []string, payload string) string {
	n := len(t)
	switch {
	case n == 2 && t[0] == "show" && t[1] == "info":
		return "Name: HAProxy\nVersion: 2.6.12-fake\nPid: 4242\nUptime_sec: 1\nStopping: 0\nCurrConns: 0\n"
	case n == 2 && t[0] == "show" && t[1] == "backend":
		var b strings.Builder
		b.WriteString("# name\n")
		for _, be := range f.backends {
			b.WriteString(be.name + "\n")
		}
		return b.String()
	case n >= 3 && t[0] == "show" && t[1] == "servers" && t[2] == "state":
		return f.serversState(t[3:])
	case n >= 2 && t[0] == "show" && t[1] == "stat":
		return f.stat(t[2:])
	case n >= 4 && t[0] == "add" && t[1] == "server":
		return f.addServer(t[2], t[3], t[4:])
	case n == 3 && t[0] == "del" && t[1] == "server":
		b, s, msg := f.server(t[2])
		switch {
		case msg != "":
			return msg
		case !s.st.Maint():
			return ansDelNotMaint
		case s.sessions > 0:
			return ansDelConns
		}
		b.servers = slices.DeleteFunc(b.servers, func(x *fakeServer) bool { return x == s })
		return ansDeleted
	case n == 3 && t[0] == "enable" && (t[1] == "server" || t[1] == "health" || t[1] == "agent"):
		_, s, msg := f.server(t[2])
		switch {
		case msg != "":
			return msg
		case t[1] == "server":
			s.setState(StateReady)
		case t[1] == "health" && !s.health:
			return ansNoHealth
		case t[1] == "health":
			s.st.CheckState |= 4
		case !s.agent:
			return ansNoAgent
		}
		return ""
	case n >= 3 && t[0] == "set" && t[1] == "server":
		_, s, msg := f.server(t[2])
		if msg != "" {
			return msg
		}
		switch {
		case n == 5 && t[3] == "state":
			if !s.setState(State(t[4])) {
				return ansBadState
			}
			return ""
		case n == 7 && t[3] == "addr" && t[5] == "port":
			return s.setAddr(t[4], t[6])
		}
		return "fake: unsupported set server command"
	case n == 4 && t[0] == "shutdown" && t[1] == "sessions" && t[2] == "server":
		_, s, msg := f.server(t[3])
		if msg != "" {
			return msg
		}
		s.sessions = 0
		return ""
	case n == 2 && t[0] == "show" && t[1] == "map":
		var b strings.Builder
		b.WriteString("# id (file) description\n")
		for i, m := range f.maps {
			fmt.Fprintf(&b, "%d (%s) pattern loaded from file '%s' used by map. curr_ver=%d next_ver=%d entry_cnt=%d\n", i, m.file, m.file, m.curr, m.next, m.count())
		}
		return b.String()
	case n == 3 && t[0] == "show" && t[1] == "map":
		m := f.mapByName(t[2])
		if m == nil {
			return ansNoMap
		}
		var b strings.Builder
		for _, e := range m.versions[m.curr] {
			fmt.Fprintf(&b, "%s %s %s\n", e.Ref, e.Key, e.Value)
		}
		return b.String()
	case n == 3 && t[0] == "prepare" && t[1] == "map":
		m := f.mapByName(t[2])
		if m == nil {
			return ansNoMap
		}
		m.next++
		return fmt.Sprintf("New version created: %d\n", m.next)
	case n >= 4 && t[0] == "add" && t[1] == "map" && strings.HasPrefix(t[2], "@"):
		m := f.mapByName(t[3])
		if m == nil {
			return ansNoMap
		}
		v, err := strconv.ParseUint(t[2][1:], 10, 32)
		if err != nil || uint32(v) > m.next {
			return ansVerFuture
		}
		if n == 6 && payload == "" {
			m.add(uint32(v), t[4], t[5])
			return ""
		}
		if n == 4 && payload != "" {
			for _, line := range strings.Split(strings.TrimRight(payload, "\n"), "\n") {
				k, val, _ := strings.Cut(line, " ")
				m.add(uint32(v), k, strings.TrimLeft(val, " \t"))
			}
			return ""
		}
		return "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
	case n == 4 && t[0] == "commit" && t[1] == "map" && strings.HasPrefix(t[2], "@"):
		m := f.mapByName(t[3])
		if m == nil {
			return ansNoMap
		}
		v, err := strconv.ParseUint(t[2][1:], 10, 32)
		if err != nil || uint32(v) <= m.curr || uint32(v) > m.next {
			return ansVerOutOfRange
		}
		m.curr = uint32(v)
		for k := range m.versions {
			if k < m.curr {
				delete(m.versions, k)
			}
		}
		return ""
	case n == 3 && t[0] == "clear" && t[1] == "map":
		m := f.mapByName(t[2])
		if m == nil {
			return ansNoMap
		}
		m.versions[m.curr] = nil
		return ""
	}
	return "Unknown command, but maybe one of the following ones is a better match:\n  help [<command>]                        : list matching or all commands\n"
}

func (f *Fake) backend(name string) *fakeBackend {
	for _, b := range f.backends {
		if b.name == name {
			return b
		}
	}
	return nil
}

// server finds "BACKEND/SERVER" or returns HAProxy's answer.
func (f *Fake) server(path string) (*fakeBackend, *fakeServer, string) {
	bn, sn, _ := strings.Cut(path, "/")
	b := f.backend(bn)
	if b == nil {
		return nil, nil, ansNoBackend
	}
	for _, s := range b.servers {
		if s.st.Name == sn {
			return b, s, ""
		}
	}
	return b, nil, ansNoServer
}

func (f *Fake) mapByName(name string) *fakeMap {
	for i, m := range f.maps {
		if m.file == name || name == "#"+strconv.Itoa(i) {
			return m
		}
	}
	return nil
}

// freeID returns the lowest server ID not in use (HAProxy reuses the IDs of
// deleted servers).
func (b *fakeBackend) freeID() int {
	for id := 1; ; id++ {
		if !slices.ContainsFunc(b.servers, func(s *fakeServer) bool { return s.st.ID == id }) {
			return id
		}
	}
}

func (f *Fake) addServer(path, addr string, opts []string) string {
	bn, sn, _ := strings.Cut(path, "/")
	b := f.backend(bn)
	switch {
	case b == nil:
		return ansNoBackend
	case !b.dynamic:
		return ansNotDynamic
	}
	for _, o := range opts {
		if slices.Contains(refused, o) {
			return fmt.Sprintf("'%s' option is not accepted for dynamic server", o)
		}
	}
	if slices.ContainsFunc(b.servers, func(s *fakeServer) bool { return s.st.Name == sn }) {
		return ansExists + "\n"
	}
	host, port := addr, 0
	if i := strings.LastIndex(addr, ":"); i > 0 {
		host, port = strings.Trim(addr[:i], "[]"), atoi(addr[i+1:])
	}
	s := &fakeServer{
		health: slices.Contains(opts, "check"),
		agent:  slices.Contains(opts, "agent-check"),
		st: ServerState{BackendID: b.id, Backend: b.name, ID: b.freeID(), Name: sn, Addr: host, Port: port,
			OpState: OpStopped, Admin: AdminForcedMaint, UserWeight: 1, InitialWeight: 1, CheckStatus: 1},
	}
	if s.health {
		s.st.CheckState = 2
	}
	if slices.Contains(opts, "enabled") {
		s.setState(StateReady)
	}
	b.servers = append(b.servers, s)
	return ansRegistered + "\n"
}

// setState applies "set server ... state" as HAProxy 2.6 does: drain and
// ready leave maintenance; maint clears drain.
func (s *fakeServer) setState(st State) bool {
	switch st {
	case StateReady:
		s.st.Admin &^= AdminForcedMaint | AdminForcedDrain
		s.st.OpState = OpRunning
	case StateDrain:
		s.st.Admin = s.st.Admin&^AdminForcedMaint | AdminForcedDrain
		s.st.OpState = OpRunning
	case StateMaint:
		s.st.Admin = s.st.Admin&^AdminForcedDrain | AdminForcedMaint
		s.st.OpState = OpStopped
	default:
		return false
	}
	return true
}

func (s *fakeServer) setAddr(addr, port string) string {
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Sprintf("problem converting port '%s' to an int by 'stats socket command'", port)
	}
	var msg string
	if addr == s.st.Addr {
		msg = "no need to change the addr"
	} else {
		msg = fmt.Sprintf("IP changed from '%s' to '%s'", s.st.Addr, addr)
		s.st.Addr = addr
	}
	if p == s.st.Port {
		msg += ", no need to change the port"
	} else {
		msg += fmt.Sprintf(", port changed from '%d' to '%d'", s.st.Port, p)
		s.st.Port = p
	}
	return msg + " by 'stats socket command'\n"
}

func (f *Fake) serversState(args []string) string {
	var b strings.Builder
	b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	for _, be := range f.backends {
		if len(args) > 0 && be.name != args[0] {
			continue
		}
		for _, s := range be.servers {
			st := s.st
			fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d 0 %d 0 0 %d 0 0 0 - %d - 0 0 - - 0\n",
				st.BackendID, st.Backend, st.ID, st.Name, dash(st.Addr), st.OpState, st.Admin, st.UserWeight, st.InitialWeight, st.CheckStatus, st.CheckState, st.Port)
		}
	}
	if len(args) > 0 && f.backend(args[0]) == nil {
		return ansNoBackendSS + "\n"
	}
	return b.String()
}

func (f *Fake) stat(args []string) string {
	var b strings.Builder
	b.WriteString("# pxname,svname,qcur,qmax,scur,status,type,check_status,addr,\n")
	for _, be := range f.backends {
		if len(args) > 0 && be.name != args[0] {
			continue
		}
		total := 0
		for _, s := range be.servers {
			status := "UP"
			switch {
			case s.st.Maint():
				status = "MAINT"
			case s.st.Drain():
				status = "DRAIN"
			case !s.health || s.st.CheckState&4 == 0:
				status = "no check"
			}
			fmt.Fprintf(&b, "%s,%s,0,0,%d,%s,2,,%s:%d,\n", be.name, s.st.Name, s.sessions, status, s.st.Addr, s.st.Port)
			total += s.sessions
		}
		fmt.Fprintf(&b, "%s,BACKEND,0,0,%d,UP,1,,,\n", be.name, total)
	}
	if len(args) > 0 && f.backend(args[0]) == nil {
		return ansNoProxy + "\n"
	}
	return b.String()
}

func (m *fakeMap) add(v uint32, key, value string) {
	m.refs++
	m.versions[v] = append(m.versions[v], MapEntry{Ref: fmt.Sprintf("0x%x", 0x1000+m.refs), Key: key, Value: value})
}

func (m *fakeMap) count() int {
	n := 0
	for _, es := range m.versions {
		n += len(es)
	}
	return n
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// FakeWorker is a session on a Fake as one HAProxy worker, whose "show
// info" says PID: tests of reloads give each worker (each reload) its own
// PID, as the Applier tells workers apart by it. It is a live.Conn.
type FakeWorker struct {
	*Fake
	PID int
}

// ShowInfo is the Fake's answer with the worker's PID.
func (w FakeWorker) ShowInfo(ctx context.Context) (Info, error) {
	i, err := w.Fake.ShowInfo(ctx)
	i.Pid = w.PID
	return i, err
}

// Close does nothing: a Fake has no connection.
func (FakeWorker) Close() error { return nil }
