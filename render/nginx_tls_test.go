package render

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// TestNginxTLSPassthrough renders tls routes (and an https one, which nginx
// stream cannot serve) through nginx-stream, runs nginx with it and proves
// SNI passthrough with real TLS clients: the client sees the container's
// own certificate; a host matches itself and the names under it on a label
// boundary only, case and a trailing dot aside; the longest host wins;
// replicas share the load; to= is the container's port; an unknown or
// missing SNI is closed.
func TestNginxTLSPassthrough(t *testing.T) {
	n := needNginx(t)
	ca := tlstest.NewCA(t)
	ports := freePorts(t, 4)
	tp, other, to := ports[0], ports[1], ports[2]
	f := fmt.Sprintf
	snap := inspectJSON(t, [][3]string{
		{"site", f("tls://example.com:%d?to=%d", tp, to), "127.0.0.121"},
		{"mail-1", f("tls://mail.example.com:%d?to=%d", tp, to), "127.0.0.122"},
		{"mail-2", f("tls://mail.example.com:%d?to=%d", tp, to), "127.0.0.123"},
		{"local", f("tls://localhost:%d?to=%d", tp, to), "127.0.0.124"},
		{"imap", f("tls://imap.example.net:%d?to=%d", other, to), "127.0.0.125"},
		{"web", f("https://web.example.com:%d?to=%d&redirect=off", tp, to), "127.0.0.126"},
	})
	cs, err := source.ReadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	certs := &model.Certificates{Dir: "/unused", Default: "d.pem", Files: []model.CertFile{{File: "d.pem", Names: []string{"web.example.com"}}}}
	m := model.Build(cs, model.Options{Bind: "127.0.0.1", StatsAddr: f("127.0.0.1:%d", ports[3]), Certs: certs})
	if len(m.Warnings) != 0 || len(m.TLS) != 2 || len(m.HTTPS) != 1 {
		t.Fatalf("unexpected model: %d tls ports, %d https ports, warnings %v", len(m.TLS), len(m.HTTPS), m.Warnings)
	}
	leaves := map[string]*tlstest.Leaf{
		"site": ca.Leaf(t, "example.com", "*.example.com"), "mail-1": ca.Leaf(t, "mail.example.com"),
		"mail-2": ca.Leaf(t, "mail.example.com"), "local": ca.Leaf(t, "localhost"), "imap": ca.Leaf(t, "imap.example.net"),
	}
	for _, c := range cs {
		if leaf := leaves[c.Name]; leaf != nil {
			tlsBackend(t, c.Networks[0].IP, to, c.Name, leaf)
		}
	}
	frag := renderNginxStream(t, m)
	for _, want := range []string{"# https routes not rendered: 1 (use the haproxy template)", "# tls ports: 2"} {
		if !strings.Contains(string(frag), want) {
			t.Errorf("fragment lacks %q:\n%s", want, frag)
		}
	}
	dir := t.TempDir()
	wrapper := n.wrap(t, dir, frag)
	if out, err := n.check(wrapper); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n--- fragment ---\n%s", err, out, frag)
	}
	n.start(t, wrapper)
	main, imap := f("127.0.0.1:%d", tp), f("127.0.0.1:%d", other)
	proxytest.WaitListen(t, main)
	proxytest.WaitListen(t, imap)

	// reach returns the backend that answered a ClientHello with sni, after
	// checking it served its own certificate, or "closed".
	reach := func(addr, sni string) string {
		t.Helper()
		cert, c, err := handshake(t, addr, sni)
		if err != nil {
			return "closed"
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		name := field(line, "name")
		if err != nil || leaves[name] == nil {
			t.Errorf("SNI %q: backend said %q (%v)", sni, line, err)
			return "?"
		}
		if !sameCert(cert, leaves[name]) {
			t.Errorf("SNI %q: the client saw another certificate than %s's own", sni, name)
		}
		return name
	}
	tests := []struct{ addr, sni, want string }{
		{main, "example.com", "site"},
		{main, "www.example.com", "site"},
		{main, "EXAMPLE.com.", "site"},
		{main, "mail.example.com", "mail"},
		{main, "a.b.mail.example.com", "mail"},
		{main, "xmail.example.com", "site"}, // no label boundary: the shorter suffix
		{main, "badexample.com", "closed"},
		{main, "example.com.evil.test", "closed"},
		{main, "localhost", "local"},
		{main, "web.example.com", "site"}, // https is not rendered: the tls suffix takes it
		{main, "imap.example.net", "closed"},
		{main, "", "closed"},
		{imap, "imap.example.net", "imap"},
		{imap, "mail.example.com", "closed"},
	}
	for _, tt := range tests {
		got := reach(tt.addr, tt.sni)
		if strings.HasPrefix(got, "mail-") {
			got = "mail"
		}
		if got != tt.want {
			t.Errorf("%s SNI %q reached %q, want %q", tt.addr, tt.sni, got, tt.want)
		}
	}
	// A verifying client reaches the container through nginx; the two
	// replicas of mail.example.com share the connections.
	seen := map[string]int{}
	for range 4 {
		c, err := tlsDial(main, ca.ClientConfig("mail.example.com"))
		if err != nil {
			t.Fatalf("verified passthrough: %v", err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		seen[field(line, "name")]++
	}
	if seen["mail-1"] != 2 || seen["mail-2"] != 2 {
		t.Errorf("round robin over 4 connections: %v, want mail-1 and mail-2 twice each", seen)
	}
}
