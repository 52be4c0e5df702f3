package render

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Funcs returns the helpers rproxy-gen adds to sprig's for templates. stem is
// the auxiliary-file stem used by "file".
//
// The helpers only return values taken from the model, which model.Validate
// has checked, so none of them can add text of its own to a config. The
// lookup helpers take the model as their last argument (`.` at the top of a
// template, `$` inside a range), accept a nil or empty model, and return an
// empty list for a port or backend that is not in it: the set of containers
// changes at run time, and a template must keep rendering when it does.
func Funcs(stem string) template.FuncMap {
	return template.FuncMap{
		// file NAME: the base name of auxiliary file NAME, defined in the
		// template as {{define "file:NAME"}}; it is written beside the output.
		"file": func(name string) string { return AuxName(stem, name) },
		// settings: the output's settings that are not part of the model
		// (render.Settings: .HAProxySocket, .ServerStateFile,
		// .HardStopAfter, .StatsPrometheus); empty values when none are set.
		"settings": func() Settings { return Settings{} },
		// listen BIND PORT: "BIND:PORT", bracketing IPv6, ":PORT" when BIND is empty.
		"listen": func(bind string, port int) string { return net.JoinHostPort(bind, strconv.Itoa(port)) },
		// ident S: S with every character that is not a letter, digit, '-', '_'
		// or '.' replaced by '_', safe as a proxy or upstream name.
		"ident": Ident,
		// maxLabels HTTPPORTS: the largest number of dot-separated labels of
		// any http route host (0 when there are none).
		"maxLabels": MaxLabels,
		// seq1 N: the list 1..N, for unrolled loops (empty when N < 1).
		"seq1": Seq1,
		// httpPorts MODEL: the http port numbers, ascending.
		"httpPorts": HTTPPorts,
		// tcpPorts MODEL: the tcp port numbers, ascending.
		"tcpPorts": TCPPorts,
		// routes MODEL: every http route of every port, each with its .Port,
		// by port and then in precedence order.
		"routes": Routes,
		// routesOnPort PORT MODEL: the http routes of one port in precedence
		// order (empty when the port has none).
		"routesOnPort": RoutesOnPort,
		// backends MODEL: every backend, http and tcp, sorted by name.
		"backends": Backends,
		// servers NAME MODEL: the servers of the backend called NAME, http
		// or tcp (empty when there is no such backend).
		"servers": Servers,
	}
}

// Ident maps any string to a safe identifier (see Funcs, "ident").
func Ident(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// MaxLabels returns the largest label count of any route host on the ports.
func MaxLabels(ports []model.HTTPPort) int {
	n := 0
	for _, p := range ports {
		for _, r := range p.Routes {
			if c := strings.Count(r.Host, ".") + 1; c > n {
				n = c
			}
		}
	}
	return n
}

// Seq1 returns 1..n, or an empty list when n < 1.
func Seq1(n int) []int {
	out := []int{}
	for i := 1; i <= n; i++ {
		out = append(out, i)
	}
	return out
}

// HTTPPorts returns the http port numbers of m in ascending order.
func HTTPPorts(m *model.Model) []int {
	if m == nil {
		return []int{}
	}
	return sortedPorts(m.HTTP, func(p model.HTTPPort) int { return p.Port })
}

// TCPPorts returns the tcp port numbers of m in ascending order.
func TCPPorts(m *model.Model) []int {
	if m == nil {
		return []int{}
	}
	return sortedPorts(m.TCP, func(p model.TCPPort) int { return p.Port })
}

// sortedPorts collects the port of each item, ascending (never nil).
func sortedPorts[T any](items []T, port func(T) int) []int {
	out := make([]int, 0, len(items))
	for _, it := range items {
		out = append(out, port(it))
	}
	sort.Ints(out)
	return out
}

// Route is an http route together with the port it is served on; the route's
// fields (.Host, .Path, .Backend, .Servers) are promoted.
type Route struct {
	Port int
	model.HTTPRoute
}

// Routes returns every http route of m with its port, ordered by port and
// then in each port's precedence order (the model's order).
func Routes(m *model.Model) []Route {
	out := []Route{}
	if m == nil {
		return out
	}
	for _, p := range m.HTTP {
		for _, r := range p.Routes {
			out = append(out, Route{Port: p.Port, HTTPRoute: r})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// RoutesOnPort returns the http routes of one port in precedence order, or
// an empty list when m has no http routes on that port.
func RoutesOnPort(port int, m *model.Model) []model.HTTPRoute {
	if m != nil {
		for _, p := range m.HTTP {
			if p.Port == port && p.Routes != nil {
				return p.Routes
			}
		}
	}
	return []model.HTTPRoute{}
}

// Backend is one backend of the model, http or tcp, as the "backends" helper
// lists it.
type Backend struct {
	// Name is the backend name (model.HTTPRoute.Backend or model.TCPPort.Backend).
	Name string
	// Scheme is "http" or "tcp".
	Scheme string
	// Port is the listening port the backend is served on.
	Port    int
	Servers []model.Server
}

// Backends returns every backend of m, http and tcp, sorted by name.
func Backends(m *model.Model) []Backend {
	out := []Backend{}
	if m == nil {
		return out
	}
	for _, p := range m.HTTP {
		for _, r := range p.Routes {
			out = append(out, Backend{Name: r.Backend, Scheme: "http", Port: p.Port, Servers: nonNil(r.Servers)})
		}
	}
	for _, p := range m.TCP {
		out = append(out, Backend{Name: p.Backend, Scheme: "tcp", Port: p.Port, Servers: nonNil(p.Servers)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Servers returns the servers of the backend called name, http or tcp, or an
// empty list when m has no such backend.
func Servers(name string, m *model.Model) []model.Server {
	if m != nil {
		for _, p := range m.HTTP {
			for _, r := range p.Routes {
				if r.Backend == name {
					return nonNil(r.Servers)
				}
			}
		}
		for _, p := range m.TCP {
			if p.Backend == name {
				return nonNil(p.Servers)
			}
		}
	}
	return []model.Server{}
}

func nonNil(s []model.Server) []model.Server {
	if s == nil {
		return []model.Server{}
	}
	return s
}
