package haproxyapi

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Runtime is what a live apply needs from HAProxy's Runtime API. *Client and
// *Session implement it; tests of the apply code implement it with a fake.
type Runtime interface {
	ShowInfo(ctx context.Context) (Info, error)
	ShowBackends(ctx context.Context) ([]string, error)
	ShowServersState(ctx context.Context, backend string) ([]ServerState, error)
	ShowStat(ctx context.Context, backend string) ([]Stat, error)
	ServerSessions(ctx context.Context, backend string) (map[string]int, error)

	AddServer(ctx context.Context, backend, server, addrPort, options string) error
	DelServer(ctx context.Context, backend, server string) error
	EnableServer(ctx context.Context, backend, server string) error
	EnableHealth(ctx context.Context, backend, server string) error
	EnableAgent(ctx context.Context, backend, server string) error
	SetServerState(ctx context.Context, backend, server string, state State) error
	SetServerAddr(ctx context.Context, backend, server, addr string, port int) error
	ShutdownSessions(ctx context.Context, backend, server string) error

	ShowMaps(ctx context.Context) ([]MapInfo, error)
	ShowMap(ctx context.Context, mapName string) ([]MapEntry, error)
	PrepareMap(ctx context.Context, mapName string) (uint32, error)
	AddMapEntry(ctx context.Context, mapName string, version uint32, key, value string) error
	AddMapEntries(ctx context.Context, mapName string, version uint32, entries []MapEntry) error
	CommitMap(ctx context.Context, mapName string, version uint32) error
	ClearMap(ctx context.Context, mapName string) error
}

var (
	_ Runtime = (*Client)(nil)
	_ Runtime = (*Session)(nil)
)

// State is an administrative state set with "set server ... state".
type State string

// The states "set server ... state" accepts.
const (
	StateReady State = "ready" // in load balancing (same as "enable server")
	StateDrain State = "drain" // out of load balancing; existing and persistent sessions go on
	StateMaint State = "maint" // no traffic, no checks (same as "disable server")
)

// CommandError is an answer of HAProxy that is not the success answer of
// the command: the command was delivered and HAProxy refused it (or said
// something this package does not know). Any other error of this package is
// a transport or input error.
type CommandError struct {
	Command string // the command line sent
	Answer  string // HAProxy's answer, as received (trailing line ends cut)
}

// Error quotes the command and HAProxy's answer.
func (e *CommandError) Error() string {
	if e.Answer == "" {
		return fmt.Sprintf("haproxy %q: unexpected empty answer", e.Command)
	}
	return fmt.Sprintf("haproxy %q: %s", e.Command, truncate(e.Answer, 400))
}

// Commands holds the typed commands shared by Client and Session; its zero
// value is unusable.
type Commands struct {
	exec         func(ctx context.Context, cmd, payload string) (string, error)
	payloadLimit int
}

// call runs cmd and returns the answer when ok accepts it, else a
// *CommandError quoting it.
func (c Commands) call(ctx context.Context, cmd string, ok func(string) bool) (string, error) {
	return c.callPayload(ctx, cmd, "", ok)
}

func (c Commands) callPayload(ctx context.Context, cmd, payload string, ok func(string) bool) (string, error) {
	if c.exec == nil {
		return "", fmt.Errorf("haproxy runtime API: Commands used without a Client or Session")
	}
	answer, err := c.exec(ctx, cmd, payload)
	if err != nil {
		return "", err
	}
	if !ok(answer) {
		return answer, &CommandError{Command: cmd, Answer: answer}
	}
	return answer, nil
}

// empty accepts only the empty answer: the success answer of commands that
// print nothing. Under the prompt framing an empty answer is HAProxy's own
// (the next prompt arrived), never a lost connection.
func empty(a string) bool { return a == "" }

// exactly accepts one answer.
func exactly(want string) func(string) bool { return func(a string) bool { return a == want } }

// ShowInfo runs "show info".
func (c Commands) ShowInfo(ctx context.Context) (Info, error) {
	a, err := c.call(ctx, "show info", func(a string) bool { return strings.HasPrefix(a, "Name: ") })
	if err != nil {
		return Info{}, err
	}
	return ParseInfo(a)
}

// ShowBackends runs "show backend" and returns the backend names.
func (c Commands) ShowBackends(ctx context.Context) ([]string, error) {
	a, err := c.call(ctx, "show backend", func(a string) bool { return strings.HasPrefix(a, "# name") })
	if err != nil {
		return nil, err
	}
	return ParseBackends(a)
}

// ShowServersState runs "show servers state [backend]" (all backends when
// backend is empty).
func (c Commands) ShowServersState(ctx context.Context, backend string) ([]ServerState, error) {
	cmd := "show servers state"
	if backend != "" {
		if err := checkName("backend", backend); err != nil {
			return nil, err
		}
		cmd += " " + backend
	}
	a, err := c.call(ctx, cmd, func(a string) bool { return strings.HasPrefix(a, "1\n# ") })
	if err != nil {
		return nil, err
	}
	return ParseServersState(a)
}

// ShowStat runs "show stat": every proxy, or, when backend is set, that
// backend's own line and its servers' lines ("show stat BACKEND 6 -1").
func (c Commands) ShowStat(ctx context.Context, backend string) ([]Stat, error) {
	cmd := "show stat"
	if backend != "" {
		if err := checkName("backend", backend); err != nil {
			return nil, err
		}
		cmd += " " + backend + " 6 -1"
	}
	a, err := c.call(ctx, cmd, func(a string) bool { return strings.HasPrefix(a, "# pxname,svname,") })
	if err != nil {
		return nil, err
	}
	return ParseStat(a)
}

// ServerSessions returns the current sessions (scur) of every server of
// backend, by server name: a drained server can be deleted once it has none.
func (c Commands) ServerSessions(ctx context.Context, backend string) (map[string]int, error) {
	if backend == "" {
		return nil, fmt.Errorf("haproxy runtime API: ServerSessions needs a backend")
	}
	stats, err := c.ShowStat(ctx, backend)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range stats {
		if s.Type == StatServer && s.Proxy == backend {
			out[s.Name] = s.SCur
		}
	}
	return out, nil
}

// AddServer runs "add server BACKEND/SERVER ADDR:PORT OPTIONS". The new
// server starts in maintenance (unless options say "enabled"): call
// EnableHealth (when options have "check") and EnableServer. A dynamic
// server inherits nothing from "default-server": repeat those settings in
// options. The backend must use a dynamic balance algorithm (roundrobin,
// leastconn, first, random, or a hash with "hash-type consistent"; not
// source, static-rr, uri or hdr with the default map-based hash). addrPort is an IP literal and a port ("10.0.0.5:80",
// "[fd00::5]:80"): HAProxy takes a host name without ever resolving it.
func (c Commands) AddServer(ctx context.Context, backend, server, addrPort, options string) error {
	if err := checkServer(backend, server); err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(addrPort)
	if err != nil || ap.Port() == 0 {
		return fmt.Errorf("haproxy runtime API: add server %s/%s: address %q is not IP:PORT", backend, server, addrPort)
	}
	if err := checkLine(options); err != nil {
		return err
	}
	cmd := "add server " + backend + "/" + server + " " + ap.String()
	for _, f := range strings.Fields(options) {
		cmd += " " + Escape(f)
	}
	_, err = c.call(ctx, cmd, exactly("New server registered."))
	return err
}

// DelServer runs "del server BACKEND/SERVER". HAProxy refuses unless the
// server is in maintenance and has no connection left.
func (c Commands) DelServer(ctx context.Context, backend, server string) error {
	if err := checkServer(backend, server); err != nil {
		return err
	}
	_, err := c.call(ctx, "del server "+backend+"/"+server, exactly("Server deleted."))
	return err
}

// EnableServer runs "enable server BACKEND/SERVER": out of maintenance, into
// load balancing.
func (c Commands) EnableServer(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "enable server", backend, server, "")
}

// EnableHealth runs "enable health BACKEND/SERVER": starts the health checks
// of a server added with "check" (they are off until then).
func (c Commands) EnableHealth(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "enable health", backend, server, "")
}

// EnableAgent runs "enable agent BACKEND/SERVER" for a server added with
// "agent-check".
func (c Commands) EnableAgent(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "enable agent", backend, server, "")
}

// SetServerState runs "set server BACKEND/SERVER state ready|drain|maint".
func (c Commands) SetServerState(ctx context.Context, backend, server string, state State) error {
	switch state {
	case StateReady, StateDrain, StateMaint:
	default:
		return fmt.Errorf("haproxy runtime API: server state %q: want ready, drain or maint", state)
	}
	return c.serverCmd(ctx, "set server", backend, server, " state "+string(state))
}

// serverCmd runs "VERB BACKEND/SERVER[TAIL]", whose success answer is empty.
func (c Commands) serverCmd(ctx context.Context, verb, backend, server, tail string) error {
	if err := checkServer(backend, server); err != nil {
		return err
	}
	_, err := c.call(ctx, verb+" "+backend+"/"+server+tail, empty)
	return err
}

// ShutdownSessions runs "shutdown sessions server BACKEND/SERVER": it cuts
// every session on the server at once, e.g. the last ones of a drained
// server that must go ("del server" refuses while any is left).
func (c Commands) ShutdownSessions(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "shutdown sessions server", backend, server, "")
}

// DynamicServerRefuses reports whether HAProxy 2.6 refuses a server keyword
// in "add server" (measured; e.g. "cookie"): a server whose line has one can
// only come from a reload.
func DynamicServerRefuses(keyword string) bool { return slices.Contains(refused, keyword) }

// setAddrOK matches the answers of "set server ... addr A port P" that
// report success: the address and the port each changed or needed no
// change. Refusals ("Invalid addr", "problem converting port", "can't
// change") never match.
var setAddrOK = regexp.MustCompile(`^(IP changed from '[^']*' to '[^']*'|no need to change the addr), (port changed from '\d+' to '\d+'|no need to change the port) by 'stats socket command'$`)

// SetServerAddr runs "set server BACKEND/SERVER addr ADDR port PORT". addr
// must be an IP literal. Health checks follow the new address.
func (c Commands) SetServerAddr(ctx context.Context, backend, server, addr string, port int) error {
	if err := checkServer(backend, server); err != nil {
		return err
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("haproxy runtime API: set server %s/%s addr: %q is not an IP address", backend, server, addr)
	}
	// HAProxy 2.6 takes port 70000 as 4464 and port 0 as is: check here.
	if port < 1 || port > 65535 {
		return fmt.Errorf("haproxy runtime API: set server %s/%s addr: port %d out of range 1-65535", backend, server, port)
	}
	cmd := fmt.Sprintf("set server %s/%s addr %s port %d", backend, server, ip.String(), port)
	_, err = c.call(ctx, cmd, setAddrOK.MatchString)
	return err
}

// ShowMaps runs "show map" and returns the maps HAProxy knows. A map is
// named by its file exactly as the configuration wrote it in map() or
// map_beg() (with "default-path config", a relative name stays relative):
// use MapInfo.File as the mapName of the other map commands.
func (c Commands) ShowMaps(ctx context.Context) ([]MapInfo, error) {
	a, err := c.call(ctx, "show map", func(a string) bool { return strings.HasPrefix(a, "# id (file) description") })
	if err != nil {
		return nil, err
	}
	return ParseMaps(a)
}

// ShowMap runs "show map MAP" and returns the entries of its current
// version (an empty map answers nothing: no entries).
func (c Commands) ShowMap(ctx context.Context, mapName string) ([]MapEntry, error) {
	if err := checkWord("map", mapName); err != nil {
		return nil, err
	}
	a, err := c.call(ctx, "show map "+Escape(mapName), isMapDump)
	if err != nil {
		return nil, err
	}
	return ParseMap(a)
}

// isMapDump accepts "show map MAP" answers: nothing, or lines "0xREF KEY [VALUE]".
func isMapDump(a string) bool { return a == "" || strings.HasPrefix(a, "0x") }

var newVersion = regexp.MustCompile(`^New version created: (\d+)$`)

// PrepareMap runs "prepare map MAP" and returns the new version, which
// AddMapEntry/AddMapEntries fill and CommitMap makes current at once.
func (c Commands) PrepareMap(ctx context.Context, mapName string) (uint32, error) {
	if err := checkWord("map", mapName); err != nil {
		return 0, err
	}
	a, err := c.call(ctx, "prepare map "+Escape(mapName), newVersion.MatchString)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(newVersion.FindStringSubmatch(a)[1], 10, 32)
	if err != nil {
		return 0, &CommandError{Command: "prepare map " + mapName, Answer: a}
	}
	return uint32(v), nil
}

// AddMapEntry runs "add map @VERSION MAP KEY VALUE". Key and value are one
// word each (no blanks); ';' and '\' are escaped.
func (c Commands) AddMapEntry(ctx context.Context, mapName string, version uint32, key, value string) error {
	if err := checkWord("map", mapName); err != nil {
		return err
	}
	if err := checkWord("map key", key); err != nil {
		return err
	}
	if err := checkWord("map value", value); err != nil {
		return err
	}
	_, err := c.call(ctx, fmt.Sprintf("add map @%d %s %s %s", version, Escape(mapName), Escape(key), Escape(value)), empty)
	return err
}

// AddMapEntries adds entries to version of the map with the payload form of
// "add map" ("add map @VERSION MAP <<" and one "KEY VALUE" line each), in as
// many commands as HAProxy's buffer needs. Keys are one word; a value may
// hold blanks. Payload lines are taken literally (no escaping).
func (c Commands) AddMapEntries(ctx context.Context, mapName string, version uint32, entries []MapEntry) error {
	if err := checkWord("map", mapName); err != nil {
		return err
	}
	cmd := fmt.Sprintf("add map @%d %s", version, Escape(mapName))
	var b strings.Builder
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := c.callPayload(ctx, cmd, b.String(), empty)
		b.Reset()
		return err
	}
	for _, e := range entries {
		if err := checkWord("map key", e.Key); err != nil {
			return err
		}
		if e.Value == "" || strings.TrimSpace(e.Value) != e.Value || strings.ContainsAny(e.Value, "\r\n\x00") {
			return fmt.Errorf("haproxy runtime API: map value %q: empty, blank at an end, or a line break", e.Value)
		}
		line := e.Key + " " + e.Value + "\n"
		// Command line + " <<\n" + payload + final "\n" must fit the limit.
		if len(cmd)+4+len(line)+1 > c.payloadLimit {
			return fmt.Errorf("haproxy runtime API: map entry %q is longer than the payload limit %d", truncate(line, 60), c.payloadLimit)
		}
		if len(cmd)+4+b.Len()+len(line)+1 > c.payloadLimit {
			if err := flush(); err != nil {
				return err
			}
		}
		b.WriteString(line)
	}
	return flush()
}

// CommitMap runs "commit map @VERSION MAP": the version's entries replace
// the current ones atomically, and lookups see them at once.
func (c Commands) CommitMap(ctx context.Context, mapName string, version uint32) error {
	if err := checkWord("map", mapName); err != nil {
		return err
	}
	_, err := c.call(ctx, fmt.Sprintf("commit map @%d %s", version, Escape(mapName)), empty)
	return err
}

// ClearMap runs "clear map MAP": removes every entry of the current version
// at once (lookups miss until entries are added).
func (c Commands) ClearMap(ctx context.Context, mapName string) error {
	if err := checkWord("map", mapName); err != nil {
		return err
	}
	_, err := c.call(ctx, "clear map "+Escape(mapName), empty)
	return err
}

// ReplaceMap makes entries the whole content of the map in one atomic step:
// prepare, add (in bulk), commit. Lookups see either the old or the new
// content, never a mix. It works on any Runtime.
func ReplaceMap(ctx context.Context, rt Runtime, mapName string, entries []MapEntry) error {
	v, err := rt.PrepareMap(ctx, mapName)
	if err != nil {
		return err
	}
	if err := rt.AddMapEntries(ctx, mapName, v, entries); err != nil {
		return err
	}
	return rt.CommitMap(ctx, mapName, v)
}

// Escape makes s one argument of a CLI command: HAProxy splits commands on
// ';' and treats '\' as an escape, so both are escaped with '\'.
func Escape(s string) string {
	if !strings.ContainsAny(s, `;\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == ';' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkServer checks a backend and a server name.
func checkServer(backend, server string) error {
	if err := checkName("backend", backend); err != nil {
		return err
	}
	return checkName("server", server)
}

// checkName accepts the characters HAProxy allows in proxy and server names:
// letters, digits, '-', '_', '.' and ':'.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("haproxy runtime API: empty %s name", what)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return fmt.Errorf("haproxy runtime API: %s name %q: only letters, digits and -_.: are allowed", what, s)
		}
	}
	return nil
}

// checkWord accepts a non-empty argument without blanks or control
// characters (';' and '\' are escaped later).
func checkWord(what, s string) error {
	if s == "" {
		return fmt.Errorf("haproxy runtime API: empty %s", what)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("haproxy runtime API: %s %q contains a blank or control character", what, s)
		}
	}
	return nil
}
