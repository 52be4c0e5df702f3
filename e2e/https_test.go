package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
)

// TestWatchCertificates drives rproxy-gen --watch --certs with real HAProxy
// reloaded by --notify and a real container with an https entry whose
// application listens on another port (to=): the host is served at once
// with the default certificate (and named as uncovered); a certificate for
// it added to the directory, then renewed, is served without restarting
// rproxy-gen; plain http redirects to https.
func TestWatchCertificates(t *testing.T) {
	cli := setup(t)
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	certDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	fallback := ca.Leaf(t, "fallback.test")
	fallback.WriteFile(t, certDir, "default.pem")
	cfg := filepath.Join(dir, "haproxy.cfg")
	httpsPort, httpPort, statsPort := proxytest.FreePort(t), proxytest.FreePort(t), proxytest.FreePort(t)
	for httpPort == httpsPort || statsPort == httpsPort || statsPort == httpPort {
		httpPort, statsPort = proxytest.FreePort(t), proxytest.FreePort(t)
	}
	pidfile := filepath.Join(dir, "haproxy.pid")

	w := startWatch(t, nil, "-o", cfg, "--bind", "127.0.0.1", "--stats-addr", "127.0.0.1:"+strconv.Itoa(statsPort),
		"--certs", certDir, "--check", "haproxy -c -q -f {{.File}}", "--notify", proxytest.ReadyReloadCommand(pidfile))
	waitFile(t, cfg, "listen stats")
	hap := proxytest.StartHAProxy(t, cfg, pidfile)
	hap.WaitCatches(t, syscall.SIGUSR2)

	host := "secure.test"
	front := "127.0.0.1:" + strconv.Itoa(httpsPort)
	dockertest.Run(t, cli, dockertest.RunOptions{Name: "sec", Env: []string{"NAME=sec", "HTTP_PORTS=8080",
		fmt.Sprintf("RPROXY=https://%s:%d?to=8080&redirect=%d", host, httpsPort, httpPort)}})

	// served waits until an https request for host reaches the container
	// with the certificate want, and returns it.
	served := func(what string, want *tlstest.Leaf) {
		t.Helper()
		dockertest.Poll(t, routeWait, what, func() error {
			cert, body, err := httpsGet(front, host, "/x")
			switch {
			case err != nil:
				return err
			case field(body, "name") != "sec":
				return fmt.Errorf("answer %q", body)
			case !cert.Equal(want.Cert):
				return fmt.Errorf("served the certificate for %v", cert.DNSNames)
			}
			return nil
		})
	}
	served("the container over https with the default certificate", fallback)
	w.waitLog("uncovered host logged", "https host not covered", "host="+host)

	// Plain http on the redirect port answers 301 to the https URL.
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(httpPort)+"/a/b?c=d", nil)
	req.Host = host
	noFollow := proxytest.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://%s:%d/a/b?c=d", host, httpsPort); resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("redirect: %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// A certificate for the host appears in the directory, as an ACME
	// client would write it: rproxy-gen re-renders, HAProxy reloads and
	// serves it; a verifying client now trusts the answer.
	hap.WaitCatches(t, syscall.SIGUSR2) // the reload for the container is over
	own := ca.Leaf(t, host)
	writeAtomically(t, certDir, "secure.pem", own.PEM())
	served("the added certificate", own)
	w.waitLog("directory read again", "certificate directory read", "files=2")
	c, err := tls.Dial("tcp", front, ca.ClientConfig(host))
	if err != nil {
		t.Fatalf("verifying client: %v", err)
	}
	c.Close()

	// Renewed in place (same name, new certificate): served too.
	hap.WaitCatches(t, syscall.SIGUSR2)
	renewed := ca.Leaf(t, host)
	writeAtomically(t, certDir, "secure.pem", renewed.PEM())
	served("the renewed certificate", renewed)
	// Both changes re-rendered the output (the fingerprints in the
	// certificate list changed), which is what made HAProxy reload. (Other
	// tests' containers on a shared daemon may add events to those renders.)
	if n := strings.Count(w.Logs.String(), `watched directory" changed=[`+cfg+`]`); n < 2 {
		t.Errorf("%d renders changed the output after a certificate change, want 2 (added, renewed)", n)
	}
	if w.Exited() {
		t.Fatal("rproxy-gen exited")
	}
}

// writeAtomically writes a file the way ACME clients and deploy hooks do:
// to a temporary name in the directory, then renamed over the target.
func writeAtomically(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// httpsGet sends GET path to addr with SNI and Host host, without verifying,
// and returns the certificate served and the body.
func httpsGet(addr, host, path string) (*x509.Certificate, string, error) {
	var cert *x509.Certificate
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		TLSClientConfig:   &tls.Config{ServerName: host, InsecureSkipVerify: true},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("GET", "https://"+addr+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Host = host
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		cert = resp.TLS.PeerCertificates[0]
	}
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return cert, "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return cert, strings.TrimSpace(string(b)), err
}
