package render

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/certs"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// echoBackend serves HTTP on ip:port until the test ends. Every answer is
// one line with what the proxy sent: "name=NAME host=HOST path=PATH
// query=QUERY xfp=X-FORWARDED-PROTO xff=X-FORWARDED-FOR".
func echoBackend(t *testing.T, ip string, port int, name string) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "name=%s host=%s path=%s query=%s xfp=%s xff=%s\n", name, r.Host, r.URL.Path, r.URL.RawQuery,
			strings.Join(r.Header.Values("X-Forwarded-Proto"), ","), strings.Join(r.Header.Values("X-Forwarded-For"), ","))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

// tlsBackend terminates TLS itself on ip:port with leaf (a container that
// holds its own certificate) and writes "name=NAME sni=SNI" on every
// connection.
func tlsBackend(t *testing.T, ip string, port int, name string, leaf *tlstest.Leaf) {
	t.Helper()
	l, err := tls.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)), leaf.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if tc.Handshake() != nil {
					return
				}
				fmt.Fprintf(tc, "name=%s sni=%s\n", name, tc.ConnectionState().ServerName)
			}()
		}
	}()
}

// httpsTest is a running HAProxy rendered from a snapshot with every
// scheme, its certificates and the addresses to talk to.
type httpsTest struct {
	ca                *tlstest.CA
	leaves            map[string]*tlstest.Leaf // certificate file -> leaf
	mailLeaf          *tlstest.Leaf            // the passthrough backend's own
	imapLeaf          *tlstest.Leaf
	http, shared      string // 127.0.0.1:PORT
	httpsOnly, tlsTCP string
	tlsOnly           string
	sharedPort        int
	httpsOnlyPort     int
	m                 *model.Model
	haproxy           *proxytest.Process
}

// startHTTPSProxy renders a snapshot using all four schemes and every
// option (containers on 127.0.0.1xx, each listening on a port other than
// the public one, so to= is proven on every scheme) with a certificate
// directory made by the test's own CA, and runs HAProxy on it.
func startHTTPSProxy(t *testing.T) *httpsTest {
	t.Helper()
	proxytest.NeedHAProxy(t)
	ht := &httpsTest{ca: tlstest.NewCA(t), leaves: map[string]*tlstest.Leaf{}}
	ports := freePorts(t, 7)
	hp, sp, p2, tp, cp, stats := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	to := ports[6] // every container listens here, on its own address
	ht.sharedPort, ht.httpsOnlyPort = sp, p2
	f := func(format string, a ...any) string { return fmt.Sprintf(format, a...) }

	certDir := t.TempDir()
	for file, names := range map[string][]string{
		"default.pem": {"*.example.com", "example.com"},
		"app.pem":     {"app.example.com"},
		"shop.pem":    {"shop.example.org"},
		"wild.pem":    {"*.wild.test"},
	} {
		ht.leaves[file] = ht.ca.Leaf(t, names...)
		ht.leaves[file].WriteFile(t, certDir, file)
	}
	ht.mailLeaf = ht.ca.Leaf(t, "mail.example.com", "*.mail.example.com")
	ht.imapLeaf = ht.ca.Leaf(t, "imap.example.net")

	containers := [][3]string{
		{"app", f("https://app.example.com:%d?to=%d&redirect=%d", sp, to, hp), "127.0.0.101"},
		{"api", f("https://app.example.com:%d/api?to=%d&redirect=%d", sp, to, hp), "127.0.0.102"},
		{"wild", f("https://wild.test:%d?to=%d&redirect=off", sp, to), "127.0.0.103"},
		{"mail", f("tls://mail.example.com:%d?to=%d", sp, to), "127.0.0.104"},
		{"acme", f("http://app.example.com:%d/.well-known/?to=%d", hp, to), "127.0.0.105"},
		{"imap", f("tls://imap.example.net:%d?to=%d", tp, to), "127.0.0.106"},
		{"db", f("tcp://db:%d?to=%d", cp, to), "127.0.0.107"},
		{"wiki", f("http://wiki.example.com:%d?to=%d", hp, to), "127.0.0.108"},
		{"site", f("https://example.com:%d?to=%d&redirect=off", sp, to), "127.0.0.109"},
		{"secure", f("https://secure.mail.example.com:%d?to=%d&redirect=off", sp, to), "127.0.0.110"},
		{"shop", f("https://shop.example.org:%d?to=%d&redirect=%d", p2, to, hp), "127.0.0.111"},
		{"blog", f("https://blog.example.com:%d?to=%d&redirect=%d", sp, to, hp), "127.0.0.112"},
		{"blog-plain", f("http://blog.example.com:%d?to=%d", hp, to), "127.0.0.113"},
	}
	cs, err := source.ReadSnapshot(inspectJSON(t, containers))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		ip := c.Networks[0].IP
		switch c.Name {
		case "mail":
			tlsBackend(t, ip, to, c.Name, ht.mailLeaf)
		case "imap":
			tlsBackend(t, ip, to, c.Name, ht.imapLeaf)
		case "db":
			proxytest.TCPBackend(t, ip, to, c.Name)
		default:
			echoBackend(t, ip, to, c.Name)
		}
	}
	loaded, errs := certs.Load(certDir)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	ht.m = model.Build(cs, model.Options{Bind: "127.0.0.1", StatsAddr: f("127.0.0.1:%d", stats), Certs: loaded})
	if len(ht.m.Warnings) != 0 {
		t.Fatalf("warnings: %+v", ht.m.Warnings)
	}
	// *.wild.test covers a.wild.test, not wild.test itself.
	if got := fmt.Sprint(ht.m.Certificates.Uncovered); got != "[secure.mail.example.com wild.test]" {
		t.Fatalf("uncovered = %v", got)
	}
	tmpl, err := Load("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dest := filepath.Join(dir, "haproxy.cfg")
	r, err := tmpl.Render(ht.m, Stem(dest))
	if err != nil {
		t.Fatal(err)
	}
	if err := installChecked(dest, r, "haproxy -c -q -f {{.File}}"); err != nil {
		t.Fatal(err)
	}
	ht.haproxy = proxytest.StartHAProxy(t, dest, filepath.Join(dir, "haproxy.pid"))
	ht.http, ht.shared = f("127.0.0.1:%d", hp), f("127.0.0.1:%d", sp)
	ht.httpsOnly, ht.tlsOnly, ht.tlsTCP = f("127.0.0.1:%d", p2), f("127.0.0.1:%d", tp), f("127.0.0.1:%d", cp)
	return ht
}

// freePorts returns n distinct ports that are free on 127.0.0.1 now
// (FreePort alone may hand out one port twice).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		if p := proxytest.FreePort(t); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// handshake connects to addr with SNI sni (none when empty), without
// verifying, and returns the leaf certificate served and the connection.
func handshake(t *testing.T, addr, sni string, alpn ...string) (*x509.Certificate, *tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: alpn})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c.ConnectionState().PeerCertificates[0], c, nil
}

// tlsDial connects to addr with cfg within 3s.
func tlsDial(addr string, cfg *tls.Config) (*tls.Conn, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, nil
}

func sameCert(a *x509.Certificate, b *tlstest.Leaf) bool { return a.Equal(b.Cert) }

// httpsGet sends GET path to addr over TLS with SNI and Host host, verifying
// the certificate against the test CA unless insecure, and returns status,
// body and the answer.
func (ht *httpsTest) httpsGet(addr, host, path string, insecure, h2 bool, hdr ...string) (int, string, *http.Response, error) {
	tr := &http.Transport{
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{RootCAs: ht.ca.Pool(), ServerName: host, InsecureSkipVerify: insecure},
		DisableKeepAlives: true,
		ForceAttemptHTTP2: h2,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("GET", "https://"+addr+path, nil)
	if err != nil {
		return 0, "", nil, err
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp, err
}

// TestHAProxyHTTPSCertificates: the certificate HAProxy serves follows the
// SNI: an exact name beats a wildcard, a wildcard covers one label, an
// unknown name or none gets the default certificate, on a port of its own
// and on a port shared with tls passthrough alike.
func TestHAProxyHTTPSCertificates(t *testing.T) {
	ht := startHTTPSProxy(t)
	tests := []struct{ addr, sni, want string }{
		{ht.shared, "app.example.com", "app.pem"},
		{ht.shared, "blog.example.com", "default.pem"}, // *.example.com
		{ht.shared, "example.com", "default.pem"},
		{ht.shared, "a.wild.test", "wild.pem"},
		{ht.shared, "unknown.test", "default.pem"},
		{ht.shared, "", "default.pem"},
		{ht.shared, "secure.mail.example.com", "default.pem"}, // uncovered: served with the default
		{ht.httpsOnly, "shop.example.org", "shop.pem"},
		{ht.httpsOnly, "a.wild.test", "wild.pem"},
		{ht.httpsOnly, "nothing.test", "default.pem"},
	}
	for _, tt := range tests {
		cert, _, err := handshake(t, tt.addr, tt.sni)
		if err != nil {
			t.Errorf("%s SNI %q: %v", tt.addr, tt.sni, err)
			continue
		}
		if !sameCert(cert, ht.leaves[tt.want]) {
			t.Errorf("%s SNI %q: served %v, want %s", tt.addr, tt.sni, cert.DNSNames, tt.want)
		}
	}
	// A verifying client accepts what it is served for covered names.
	for _, host := range []string{"app.example.com", "blog.example.com", "x.wild.test"} {
		if code, body, _, err := ht.httpsGet(ht.shared, host, "/", false, false); err != nil || code != 200 {
			t.Errorf("verified GET %s: %d %q %v", host, code, body, err)
		}
	}
}

// TestHAProxyHTTPSRouting: after termination, routing is http's: host
// suffix on a label boundary, longest host then longest path, over HTTP/1.1
// and HTTP/2; the container gets X-Forwarded-Proto https (a client's own
// value replaced) and the client's address, also through the shared port's
// internal hand-over; no route is a 503 over TLS.
func TestHAProxyHTTPSRouting(t *testing.T) {
	ht := startHTTPSProxy(t)
	tests := []struct {
		addr, host, path, want string
	}{
		{ht.shared, "app.example.com", "/", "app"},
		{ht.shared, "app.example.com", "/api", "api"},
		{ht.shared, "app.example.com", "/api/v1/x", "api"},
		{ht.shared, "app.example.com", "/apix", "api"}, // plain string prefix
		{ht.shared, "app.example.com", "/API", "app"},  // case-sensitive path
		{ht.shared, "v2.app.example.com", "/api", "api"},
		{ht.shared, "example.com", "/", "site"},
		{ht.shared, "www.example.com", "/api", "site"}, // not app's path: another host
		{ht.shared, "blog.example.com", "/", "blog"},
		{ht.shared, "secure.mail.example.com", "/", "secure"},
		{ht.shared, "z.wild.test", "/", "wild"},
		{ht.shared, "badexample.com", "/", "503"},
		{ht.shared, "example.com.evil.test", "/", "503"},
		{ht.shared, "unknown.test", "/", "503"},
		{ht.httpsOnly, "shop.example.org", "/cart", "shop"},
		{ht.httpsOnly, "app.example.com", "/", "503"}, // app is on the other https port
	}
	for _, h2 := range []bool{false, true} {
		for _, tt := range tests {
			code, body, resp, err := ht.httpsGet(tt.addr, tt.host, tt.path, true, h2)
			if err != nil {
				t.Errorf("h2=%v %s%s: %v", h2, tt.host, tt.path, err)
				continue
			}
			if h2 && resp.ProtoMajor != 2 {
				t.Errorf("%s: HTTP/%d, want HTTP/2 (alpn h2)", tt.host, resp.ProtoMajor)
			}
			got := fmt.Sprint(code)
			if code == 200 {
				got = field(body, "name")
			}
			if got != tt.want {
				t.Errorf("h2=%v %s %s%s reached %q, want %q", h2, tt.addr, tt.host, tt.path, got, tt.want)
			}
		}
	}
	for _, addr := range []string{ht.shared, ht.httpsOnly} {
		host := "app.example.com"
		if addr == ht.httpsOnly {
			host = "shop.example.org"
		}
		_, body, _, err := ht.httpsGet(addr, host, "/?q=1", false, false, "X-Forwarded-Proto", "http")
		if err != nil {
			t.Fatal(err)
		}
		if field(body, "xfp") != "https" || field(body, "xff") != "127.0.0.1" || field(body, "query") != "q=1" {
			t.Errorf("%s: the container got %q, want xfp=https (the client's value replaced), xff=127.0.0.1, query=q=1", addr, body)
		}
	}
}

// TestHAProxyTLSPassthrough: a ClientHello whose SNI a tls route wins passes
// through to a container that terminates TLS itself (the client sees the
// container's certificate), on the port shared with https and on a tls-only
// port; a suffix matches on a label boundary only; the longest host wins
// across tls and https; a ClientHello split across TCP segments still
// routes; no match on a tls-only port closes the connection.
func TestHAProxyTLSPassthrough(t *testing.T) {
	ht := startHTTPSProxy(t)
	tests := []struct {
		addr, sni string
		want      string // backend name, or the certificate file of a termination
	}{
		{ht.shared, "mail.example.com", "mail"},
		{ht.shared, "MAIL.Example.COM", "mail"},
		{ht.shared, "a.b.mail.example.com", "mail"},
		{ht.shared, "xmail.example.com", "default.pem"},       // no label boundary: terminated
		{ht.shared, "secure.mail.example.com", "default.pem"}, // longer https host wins
		{ht.shared, "example.com", "default.pem"},
		{ht.tlsOnly, "imap.example.net", "imap"},
		{ht.tlsOnly, "x.imap.example.net", "imap"},
		{ht.tlsOnly, "badimap.example.net", "closed"},
		{ht.tlsOnly, "example.net", "closed"},
		{ht.tlsOnly, "", "closed"},
		{ht.tlsOnly, "mail.example.com", "closed"}, // a route of another port
	}
	for _, tt := range tests {
		cert, c, err := handshake(t, tt.addr, tt.sni)
		if tt.want == "closed" {
			if err == nil {
				t.Errorf("%s SNI %q: handshake succeeded, want the connection closed", tt.addr, tt.sni)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s SNI %q: %v", tt.addr, tt.sni, err)
			continue
		}
		if leaf, ok := ht.leaves[tt.want]; ok {
			if !sameCert(cert, leaf) {
				t.Errorf("%s SNI %q: served %v, want the proxy's %s", tt.addr, tt.sni, cert.DNSNames, tt.want)
			}
			continue
		}
		want := map[string]*tlstest.Leaf{"mail": ht.mailLeaf, "imap": ht.imapLeaf}[tt.want]
		if !sameCert(cert, want) {
			t.Errorf("%s SNI %q: served %v, want the container's own certificate", tt.addr, tt.sni, cert.DNSNames)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || field(line, "name") != tt.want || field(line, "sni") != tt.sni {
			t.Errorf("%s SNI %q: backend said %q (%v)", tt.addr, tt.sni, line, err)
		}
	}

	// A verifying client, trusting only the CA, reaches the container.
	c, err := tls.Dial("tcp", ht.shared, ht.ca.ClientConfig("mail.example.com"))
	if err != nil {
		t.Fatalf("verified passthrough: %v", err)
	}
	c.Close()

	// The ClientHello in two TCP segments, 200ms apart.
	raw, err := net.DialTimeout("tcp", ht.shared, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	split := tls.Client(&splitConn{Conn: raw, delay: 200 * time.Millisecond}, ht.ca.ClientConfig("mail.example.com"))
	defer split.Close()
	split.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(split).ReadString('\n'); err != nil || field(line, "name") != "mail" {
		t.Errorf("split ClientHello: %q, %v", line, err)
	}

	// Plain text on a tls port is refused.
	if line, err := proxytest.Exchange(ht.tlsOnly, "GET / HTTP/1.0\r\n\r\n"); err == nil {
		t.Errorf("plain HTTP on a tls port answered %q", line)
	}
}

// splitConn sends its first write in two parts with a pause between them.
type splitConn struct {
	net.Conn
	delay time.Duration
	done  bool
}

func (s *splitConn) Write(p []byte) (int, error) {
	if s.done || len(p) < 20 {
		return s.Conn.Write(p)
	}
	s.done = true
	n, err := s.Conn.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	time.Sleep(s.delay)
	m, err := s.Conn.Write(p[len(p)/2:])
	return n + m, err
}

// TestHAProxyHTTPSRedirect: plain http answers 301 to the https URL with the
// same path and query and the https port (not 443 here), lowercased host
// without the http port; an explicit http route for the same host and path
// wins, as does a longer http path; a Host that is no name is not
// redirected.
func TestHAProxyHTTPSRedirect(t *testing.T) {
	ht := startHTTPSProxy(t)
	noFollow := proxytest.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(host, path string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+ht.http+path, nil)
		req.Host = host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", host, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), strings.TrimSpace(string(b))
	}
	sp, p2 := ht.sharedPort, ht.httpsOnlyPort
	_, httpPort, _ := net.SplitHostPort(ht.http)
	tests := []struct {
		host, path string
		code       int
		location   string // for 301; else the backend name
	}{
		{"app.example.com", "/", 301, fmt.Sprintf("https://app.example.com:%d/", sp)},
		{"app.example.com", "/a/b?x=1&y=%20z&x=2", 301, fmt.Sprintf("https://app.example.com:%d/a/b?x=1&y=%%20z&x=2", sp)},
		{"App.Example.COM.:" + httpPort, "/api/v1?k=v", 301, fmt.Sprintf("https://app.example.com:%d/api/v1?k=v", sp)},
		{"v2.app.example.com", "/", 301, fmt.Sprintf("https://v2.app.example.com:%d/", sp)},
		{"shop.example.org", "/cart?id=7", 301, fmt.Sprintf("https://shop.example.org:%d/cart?id=7", p2)},
		{"app.example.com", "/.well-known/acme-challenge/tok", 200, "acme"}, // longer http path
		{"blog.example.com", "/post?id=1", 200, "blog-plain"},               // explicit http route wins
		{"wiki.example.com", "/", 200, "wiki"},
		{"example.com", "/", 503, ""}, // site has redirect=off
		{"wild.test", "/", 503, ""},   // redirect=off
		{"nobody.test", "/", 503, ""},
	}
	for _, tt := range tests {
		code, loc, body := get(tt.host, tt.path)
		switch {
		case code != tt.code:
			t.Errorf("%s%s: %d (%s %q), want %d", tt.host, tt.path, code, loc, body, tt.code)
		case code == 301 && loc != tt.location:
			t.Errorf("%s%s: Location %q, want %q", tt.host, tt.path, loc, tt.location)
		case code == 200 && field(body, "name") != tt.location:
			t.Errorf("%s%s: reached %q, want %s", tt.host, tt.path, body, tt.location)
		}
	}
	// The redirect target answers: follow it by hand, over TLS with SNI.
	_, loc, _ := get("app.example.com", "/api/x?y=1")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	code, body, _, err := ht.httpsGet("127.0.0.1:"+u.Port(), u.Hostname(), u.RequestURI(), false, false)
	if err != nil || code != 200 || field(body, "name") != "api" || field(body, "query") != "y=1" {
		t.Errorf("following %s: %d %q %v", loc, code, body, err)
	}
	// A Host that routes by its suffix but is not a plain name gets no
	// redirect to somewhere else.
	for _, host := range []string{"evil.test/x.app.example.com", "evil.test@app.example.com", "a b.app.example.com"} {
		line := rawRequest(t, ht.http, "GET /p HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if strings.Contains(line, "301") {
			t.Errorf("Host %q: %q, want no redirect", host, line)
		}
	}
}

// TestHAProxyToOnEveryScheme: the container port (to=) differs from the
// public port on http, https, tcp and tls alike.
func TestHAProxyToOnEveryScheme(t *testing.T) {
	ht := startHTTPSProxy(t)
	if code, body, err := proxytest.Get(ht.http, "wiki.example.com", "/"); err != nil || code != 200 || field(body, "name") != "wiki" {
		t.Errorf("http: %d %q %v", code, body, err)
	}
	if code, body, _, err := ht.httpsGet(ht.httpsOnly, "shop.example.org", "/", false, false); err != nil || code != 200 || field(body, "name") != "shop" {
		t.Errorf("https: %d %q %v", code, body, err)
	}
	if line, err := proxytest.ReadLine(ht.tlsTCP); err != nil || field(line, "name") != "db" {
		t.Errorf("tcp: %q %v", line, err)
	}
	c, err := tls.Dial("tcp", ht.tlsOnly, ht.ca.ClientConfig("imap.example.net"))
	if err != nil {
		t.Fatalf("tls: %v", err)
	}
	defer c.Close()
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || field(line, "name") != "imap" {
		t.Errorf("tls: %q %v", line, err)
	}
	// Every server line names the container port, never the public one.
	for _, b := range Backends(ht.m) {
		for _, s := range b.Servers {
			if s.Port == b.Port {
				t.Errorf("backend %s: server %s on the public port %d", b.Name, s.Name, s.Port)
			}
		}
	}
}

// TestHAProxySharedPortReload: after reloads (the master re-executes, the
// internal hand-over socket is bound again) a shared port still passes
// through and terminates.
func TestHAProxySharedPortReload(t *testing.T) {
	ht := startHTTPSProxy(t)
	loaded := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(ht.haproxy.Logs.String(), "Loading success") < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %d successful loads:\n%s", n, ht.haproxy.Logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := range 2 {
		ht.haproxy.WaitCatches(t, syscall.SIGUSR2) // a reload signal sent earlier is lost
		if err := ht.haproxy.Signal(syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		loaded(i + 2)
		if code, body, _, err := ht.httpsGet(ht.shared, "app.example.com", "/api", false, false); err != nil || field(body, "name") != "api" {
			t.Errorf("reload %d: terminated: %d %q %v", i+1, code, body, err)
		}
		c, err := tls.Dial("tcp", ht.shared, ht.ca.ClientConfig("mail.example.com"))
		if err != nil {
			t.Fatalf("reload %d: passthrough: %v", i+1, err)
		}
		c.Close()
	}
}

// TestHAProxyAcceptsTheHTTPSSnapshot: the golden snapshot with every scheme
// passes haproxy -c with real certificates, for each kind of bind address.
func TestHAProxyAcceptsTheHTTPSSnapshot(t *testing.T) {
	proxytest.NeedHAProxy(t)
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	for _, f := range goldenCerts().Files {
		ca.Leaf(t, f.Names...).WriteFile(t, dir, f.File)
	}
	// An RSA certificate too: HAProxy must take it without DH parameters.
	ca.Issue(t, tlstest.Spec{Names: []string{"rsa.example.net"}, RSA: true}).WriteFile(t, dir, "rsa.pem")
	loaded, errs := certs.Load(dir)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tmpl, _ := Load("haproxy")
	for _, bind := range []string{"", "127.0.0.1", "::1"} {
		m := loadSnapshot(t, "https.json", model.Options{Bind: bind, Certs: loaded})
		dest := filepath.Join(t.TempDir(), "haproxy.cfg")
		r, err := tmpl.Render(m, Stem(dest))
		if err != nil {
			t.Fatal(err)
		}
		if err := installChecked(dest, r, "haproxy -c -q -f {{.File}}"); err != nil {
			t.Errorf("bind %q: %v", bind, err)
		}
	}
}

// field returns the value of key=VALUE in a space-separated line.
func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}
