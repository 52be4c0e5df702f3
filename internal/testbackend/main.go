// Command testbackend is the tiny server inside the test container image
// (built FROM scratch by internal/dockertest). It is not part of the product.
//
// Configuration (flags override the environment):
//
//	-name NAME       NAME        name reported in every answer (default: hostname)
//	-http PORTS      HTTP_PORTS  comma list of HTTP ports (default 80)
//	-tcp PORTS       TCP_PORTS   comma list of raw TCP ports (default none)
//	-health-file F   HEALTH_FILE marker file that makes /healthz fail (default /tmp/unhealthy)
//
// A port may also be written host:port (e.g. 127.0.0.2:8080) to listen on one
// address only, which lets tests run several backends on loopback.
//
// HTTP: every request answers 200 with one line "name=NAME host=HOST path=PATH"
// (HOST is the Host header as received), except:
//
//	/healthz  200 "ok", or 503 "unhealthy" while the marker file exists
//	/sick     creates the marker file (health turns bad)
//	/well     removes the marker file (health turns good)
//	/signals  one line per SIGHUP/SIGUSR1/SIGUSR2 received so far, e.g. "SIGHUP"
//
// TCP: on connect it writes "name=NAME port=PORT\n" and closes.
//
// Signals: SIGHUP, SIGUSR1 and SIGUSR2 are recorded (see /signals) and logged
// to stdout as "signal SIGHUP"; SIGTERM and SIGINT make it exit at once with 0.
//
// "testbackend -health" is the HEALTHCHECK mode (FROM scratch has no curl): it
// GETs /healthz on the first HTTP port on loopback and exits 0 on 200, else 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

type server struct {
	name       string
	healthFile string

	mu      sync.Mutex
	signals []string
}

func run(args []string) int {
	fs := flag.NewFlagSet("testbackend", flag.ContinueOnError)
	name := fs.String("name", os.Getenv("NAME"), "name reported in answers (env NAME; default: hostname)")
	httpPorts := fs.String("http", envOr("HTTP_PORTS", "80"), "comma list of HTTP ports or host:port (env HTTP_PORTS)")
	tcpPorts := fs.String("tcp", os.Getenv("TCP_PORTS"), "comma list of raw TCP ports or host:port (env TCP_PORTS)")
	healthFile := fs.String("health-file", envOr("HEALTH_FILE", "/tmp/unhealthy"), "marker file that makes /healthz fail (env HEALTH_FILE)")
	health := fs.Bool("health", false, "health-check mode: GET /healthz on the first HTTP port, exit 0 if 200 else 1")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	httpAddrs := splitAddrs(*httpPorts)
	tcpAddrs := splitAddrs(*tcpPorts)

	if *health {
		return checkHealth(httpAddrs)
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	if len(httpAddrs) == 0 && len(tcpAddrs) == 0 {
		fmt.Fprintln(os.Stderr, "testbackend: no ports to listen on")
		return 2
	}
	// FROM scratch has no /tmp: make the marker file's directory.
	_ = os.MkdirAll(filepath.Dir(*healthFile), 0o1777)

	s := &server{name: *name, healthFile: *healthFile}

	// Catch signals before listening, so none sent after start-up is lost.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT)

	var listeners []net.Listener
	var servers []*http.Server
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "testbackend:", err)
		for _, l := range listeners {
			l.Close()
		}
		return 1
	}
	for _, a := range httpAddrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail(err)
		}
		listeners = append(listeners, l)
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		fmt.Printf("listening http %s name=%s\n", l.Addr(), s.name)
		go srv.Serve(l)
	}
	for _, a := range tcpAddrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail(err)
		}
		listeners = append(listeners, l)
		fmt.Printf("listening tcp %s name=%s\n", l.Addr(), s.name)
		go s.serveTCP(l)
	}

	for sig := range sigs {
		n := sigName(sig)
		fmt.Printf("signal %s\n", n)
		if sig == syscall.SIGTERM || sig == syscall.SIGINT {
			break
		}
		s.mu.Lock()
		s.signals = append(s.signals, n)
		s.mu.Unlock()
	}
	// Exit at once: tests stop containers often and must not wait.
	for _, srv := range servers {
		srv.Close()
	}
	for _, l := range listeners {
		l.Close()
	}
	return 0
}

// ServeHTTP answers every path with the name, Host and path, plus the
// health and signal endpoints listed at the top of this file.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch r.URL.Path {
	case "/healthz":
		if _, err := os.Stat(s.healthFile); err == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "unhealthy\n")
			return
		}
		io.WriteString(w, "ok\n")
	case "/sick":
		if err := os.WriteFile(s.healthFile, nil, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "sick\n")
	case "/well":
		if err := os.Remove(s.healthFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "well\n")
	case "/signals":
		s.mu.Lock()
		for _, n := range s.signals {
			io.WriteString(w, n+"\n")
		}
		s.mu.Unlock()
	default:
		fmt.Fprintf(w, "name=%s host=%s path=%s\n", s.name, r.Host, r.URL.Path)
	}
}

func (s *server) serveTCP(l net.Listener) {
	_, port, _ := net.SplitHostPort(l.Addr().String())
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "name=%s port=%s\n", s.name, port)
		}()
	}
}

func checkHealth(httpAddrs []string) int {
	if len(httpAddrs) == 0 {
		fmt.Fprintln(os.Stderr, "testbackend -health: no HTTP port")
		return 1
	}
	host, port, _ := net.SplitHostPort(httpAddrs[0])
	if host == "" {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Println("unhealthy:", resp.Status)
		return 1
	}
	fmt.Println("healthy")
	return 0
}

// splitAddrs turns "80, 127.0.0.2:8080" into [":80" "127.0.0.2:8080"].
func splitAddrs(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, ":") {
			p = ":" + p
		}
		out = append(out, p)
	}
	return out
}

func sigName(sig os.Signal) string {
	switch sig {
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return sig.String()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
