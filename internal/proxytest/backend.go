package proxytest

import (
	"fmt"
	"net"
	"net/http"
	"testing"
)

// HTTPBackend serves HTTP on ip:port in-process until the test ends; every
// answer is "name=NAME host=HOST path=PATH", like the container test backend.
func HTTPBackend(t testing.TB, ip string, port int, name string) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "name=%s host=%s path=%s\n", name, r.Host, r.URL.Path)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

// TCPBackend accepts raw TCP on ip:port in-process until the test ends and
// sends "name=NAME" on every connection.
func TCPBackend(t testing.TB, ip string, port int, name string) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
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
			fmt.Fprintf(c, "name=%s\n", name)
			c.Close()
		}
	}()
}
