package haproxyapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// Benchmarks against a real HAProxy (skipped under -short):
//
//	go test -run '^$' -bench . -benchtime 20x ./haproxyapi
//
// BenchmarkCommands compares one connection per command (Client) with one
// connection for all (Session); BenchmarkReplicaChange compares a live
// "add server" with a configuration check plus reload, at 10, 100 and
// 1,000 backends. Results are in docs/runtime-api.md.

// benchConfig has n host-routed backends (map_beg on "HOST/PATH", like the
// built-in template); backend be_0 serves host h0.example with server s1.
func benchConfig(dir, front string, n int, be0Servers string, other *testBackend) (cfg, mapFile string) {
	var b, m strings.Builder
	b.WriteString(globalSection(dir) + defaultsSection + `
frontend http
    bind ` + front + `
    http-request set-var(txn.rp_backend) req.hdr(host),field(1,:),lower,map_beg(http.map)
    use_backend %[var(txn.rp_backend)] if { var(txn.rp_backend) -m found }
`)
	for i := range n {
		fmt.Fprintf(&b, "\nbackend be_%d\n    mode http\n    balance roundrobin\n", i)
		if i == 0 {
			b.WriteString(be0Servers)
		} else {
			fmt.Fprintf(&b, "    server s1 %s\n", other.addr())
		}
		fmt.Fprintf(&m, "h%d.example be_%d\n", i, i)
	}
	return b.String(), m.String()
}

// servedBy polls h0.example through front until the answer comes from
// backend name, and returns how long that took.
func servedBy(b *testing.B, front, name string, start time.Time) time.Duration {
	b.Helper()
	deadline := start.Add(10 * time.Second)
	for {
		code, body, err := proxytest.Get(front, "h0.example", "/")
		if err == nil && code == 200 && strings.HasPrefix(body, "name="+name+" ") {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.Fatalf("not served by %s after 10s: %d %q %v", name, code, body, err)
		}
	}
}

func BenchmarkReplicaChange(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("backends=%d/live", n), func(b *testing.B) {
			old, fresh, other := newBackend(b, "old"), newBackend(b, "fresh"), newBackend(b, "other")
			front := freeAddr(b)
			dir := b.TempDir()
			// be_0's configured server is in maintenance: only a dynamic
			// server can answer h0.example.
			cfg, mp := benchConfig(dir, front, n, "    server s1 "+old.addr()+" disabled\n", other)
			in := startHAProxy(b, dir, cfg, map[string]string{"http.map": mp})
			ctx := context.Background()
			rt := in.client
			var cmd time.Duration
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("d%d", i)
				start := time.Now()
				if err := rt.AddServer(ctx, "be_0", name, fresh.addr(), "check inter 2s fall 3 rise 2"); err != nil {
					b.Fatal(err)
				}
				if err := rt.EnableHealth(ctx, "be_0", name); err != nil {
					b.Fatal(err)
				}
				if err := rt.EnableServer(ctx, "be_0", name); err != nil {
					b.Fatal(err)
				}
				cmd += time.Since(start)
				servedBy(b, front, "fresh", start)
				b.StopTimer()
				if err := rt.SetServerState(ctx, "be_0", name, StateMaint); err != nil {
					b.Fatal(err)
				}
				eventuallyB(b, func() error { return rt.DelServer(ctx, "be_0", name) })
				b.StartTimer()
			}
			b.ReportMetric(float64(cmd.Microseconds())/1000/float64(b.N), "ms-commands/op")
		})
		b.Run(fmt.Sprintf("backends=%d/reload", n), func(b *testing.B) {
			bin := proxytest.NeedHAProxy(b)
			old, fresh, other := newBackend(b, "old"), newBackend(b, "fresh"), newBackend(b, "other")
			front := freeAddr(b)
			dir := b.TempDir()
			cfgOld, mp := benchConfig(dir, front, n, "    server s1 "+old.addr()+"\n", other)
			cfgNew, _ := benchConfig(dir, front, n, "    server s1 "+old.addr()+" disabled\n    server d1 "+fresh.addr()+"\n", other)
			in := startHAProxy(b, dir, cfgOld, map[string]string{"http.map": mp})
			ctx := context.Background()
			var check, total time.Duration
			b.ResetTimer()
			for i := range b.N {
				cfg, want := cfgNew, "fresh"
				if i%2 == 1 {
					cfg, want = cfgOld, "old"
				}
				b.StopTimer()
				in.write(b, cfg, nil)
				before, err := in.master.ShowProc(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if out, err := runCheck(bin, in.cfg); err != nil {
					b.Fatalf("haproxy -c: %v\n%s", err, out)
				}
				check += time.Since(start)
				if err := in.proc.Signal(syscall.SIGUSR2); err != nil {
					b.Fatal(err)
				}
				total += servedBy(b, front, want, start)
				b.StopTimer()
				// Let the old worker go before the next round.
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				p, err := in.master.WaitReload(wctx, before)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				eventuallyB(b, func() error {
					p, err = in.master.ShowProc(ctx)
					if err == nil && len(p.OldWorkers) > 0 {
						err = fmt.Errorf("old workers %v", p.OldWorkers)
					}
					return err
				})
				b.StartTimer()
			}
			b.ReportMetric(float64(check.Microseconds())/1000/float64(b.N), "ms-check/op")
			b.ReportMetric(float64((total-check).Microseconds())/1000/float64(b.N), "ms-reload-to-served/op")
		})
	}
}

func eventuallyB(b *testing.B, f func() error) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkCommands: one cheap command ("set server ... state ready", an
// empty answer) per op, over a connection per command, over one session,
// and, for reference, HAProxy's non-interactive mode (one connection, no
// prompt, answer until the close) which this package does not use.
func BenchmarkCommands(b *testing.B) {
	s1 := newBackend(b, "s1")
	front := freeAddr(b)
	dir := b.TempDir()
	in := startHAProxy(b, dir, serversConfig(dir, front, s1), nil)
	ctx := context.Background()
	b.Run("client", func(b *testing.B) {
		for range b.N {
			if err := in.client.SetServerState(ctx, "be_a", "s1", StateReady); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session", func(b *testing.B) {
		s, err := in.client.Session(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.ResetTimer()
		for range b.N {
			if err := s.SetServerState(ctx, "be_a", "s1", StateReady); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("non-interactive", func(b *testing.B) {
		sock := filepath.Join(dir, "admin.sock")
		for range b.N {
			c, err := net.Dial("unix", sock)
			if err != nil {
				b.Fatal(err)
			}
			io.WriteString(c, "set server be_a/s1 state ready\n")
			a, err := io.ReadAll(c)
			c.Close()
			if err != nil || strings.TrimSpace(string(a)) != "" {
				b.Fatalf("%q %v", a, err)
			}
		}
	})
}
