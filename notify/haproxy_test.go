package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// TestMasterConfirmer runs a real master-worker HAProxy with a master CLI
// socket: a reload onto a good config is confirmed; one onto a config that
// passes haproxy -c but cannot bind is reported as refused, with the reason
// the Reason function finds (here HAProxy's own output).
func TestMasterConfirmer(t *testing.T) {
	bin := proxytest.NeedHAProxy(t)
	dir := t.TempDir()
	cfg, sock := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "master.sock")
	port := proxytest.FreePort(t)
	write := func(bind string) {
		text := fmt.Sprintf("global\n    maxconn 100\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"+
			"frontend f\n    bind %s:%d\n    http-request return status 200\n", bind, port)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("127.0.0.1")
	p := proxytest.Start(t, dir, nil, bin, "-W", "-db", "-S", sock+",mode,600", "-f", cfg)
	proxytest.WaitListen(t, fmt.Sprintf("127.0.0.1:%d", port))
	m, err := haproxyapi.NewMaster(sock)
	if err != nil {
		t.Fatal(err)
	}
	c := &MasterConfirmer{Master: m, Timeout: 10 * time.Second,
		Reason: func(context.Context, time.Time) (string, error) {
			var alerts []string
			for _, l := range strings.Split(p.Logs.String(), "\n") {
				if strings.Contains(l, "[ALERT]") {
					alerts = append(alerts, l)
				}
			}
			return strings.Join(alerts, "; "), nil
		}}
	ctx := context.Background()
	reload := func() error {
		t.Helper()
		wait, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// HAProxy's master drops a signal that arrives while it is still
		// starting or re-executing (the notifier then signals once more;
		// here each reload is asserted on its own).
		p.WaitCatches(t, syscall.SIGHUP)
		if err := p.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return wait(ctx)
	}
	if err := reload(); err != nil {
		t.Fatalf("a good reload: %v", err)
	}
	write("192.0.2.1") // passes haproxy -c, cannot bind
	err = reload()
	if !errors.Is(err, ErrReloadRefused) || !strings.Contains(err.Error(), "cannot bind socket") {
		t.Fatalf("a refused reload: %v", err)
	}
	write("127.0.0.1")
	if err := reload(); err != nil {
		t.Fatalf("a good reload after a refused one: %v", err)
	}
	// Without a signal, no reload is seen: an error, but not a refusal.
	c.Timeout = 300 * time.Millisecond
	wait, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(ctx); !errors.Is(err, ErrNoReload) || errors.Is(err, ErrReloadRefused) {
		t.Errorf("no reload: %v", err)
	}
}
