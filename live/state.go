package live

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/rproxy-gen/rproxy-gen/install"
)

// writeState writes HAProxy's "show servers state" to the state file,
// keeping only the servers of the current files at the same address and
// port: HAProxy matches a state to a server by backend and server name
// alone, so a container recreated under the same name with another address
// would otherwise inherit the old one's DOWN or MAINT state.
func (a *Applier) writeState(ctx context.Context, conn Conn) (kept, dropped int, err error) {
	raw, err := conn.Do(ctx, "show servers state")
	if err != nil {
		return 0, 0, err
	}
	out, kept, dropped, err := filterState(raw, a.cur.cfg)
	if err != nil {
		return 0, 0, err
	}
	// Staged, synced and swapped in, as every output is.
	_, err = install.Write(ctx, a.cfg.StateFile, []byte(out), nil, install.Options{})
	return kept, dropped, err
}

// filterState keeps the header of a "show servers state" dump and the lines
// of the servers cfg has at the same address and port.
func filterState(raw string, cfg *config) (string, int, int, error) {
	lines := strings.Split(strings.TrimRight(raw, "\n"), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "1" || !strings.HasPrefix(lines[1], "# ") {
		return "", 0, 0, fmt.Errorf("show servers state: want format version 1 and a header, got %.200q", raw)
	}
	col := map[string]int{}
	for i, c := range strings.Fields(strings.TrimPrefix(lines[1], "#")) {
		col[c] = i
	}
	for _, need := range []string{"be_name", "srv_name", "srv_addr", "srv_port"} {
		if _, ok := col[need]; !ok {
			return "", 0, 0, fmt.Errorf("show servers state: no column %s in %q", need, lines[1])
		}
	}
	var b strings.Builder
	b.WriteString(lines[0] + "\n" + lines[1] + "\n")
	kept, dropped := 0, 0
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) <= col["srv_port"] || len(f) <= col["srv_addr"] {
			continue
		}
		be := cfg.backends[f[col["be_name"]]]
		var s server
		ok := be != nil
		if ok {
			s, ok = be.servers[f[col["srv_name"]]]
		}
		if ok {
			ip, err := netip.ParseAddr(f[col["srv_addr"]])
			port, perr := strconv.Atoi(f[col["srv_port"]])
			ok = err == nil && perr == nil && ip.Unmap() == s.addr.Addr().Unmap() && port == int(s.addr.Port())
		}
		if !ok {
			dropped++
			continue
		}
		kept++
		b.WriteString(line + "\n")
	}
	return b.String(), kept, dropped, nil
}

// removeState removes the state file, so that a reload without fresh
// states does not load stale ones.
func (a *Applier) removeState() {
	if a.cfg.StateFile == "" {
		return
	}
	if err := os.Remove(a.cfg.StateFile); err != nil && !os.IsNotExist(err) {
		a.cfg.Log.Warn("stale server-state file not removed", "file", a.cfg.StateFile, "err", err)
	}
}
