package render

import (
	"fmt"
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
		// maxLabels LIST: the largest number of dot-separated labels of any
		// host in LIST (.HTTP or .HTTPS: routes and redirects; .TLS; or
		// sniRoutes); 0 when there are none.
		"maxLabels": MaxLabels,
		// seq1 N: the list 1..N, for unrolled loops (empty when N < 1).
		"seq1": Seq1,
		// httpPorts MODEL: the http port numbers, ascending.
		"httpPorts": HTTPPorts,
		// tcpPorts MODEL: the tcp port numbers, ascending.
		"tcpPorts": TCPPorts,
		// httpsPorts MODEL: the https (TLS-terminating) port numbers, ascending.
		"httpsPorts": HTTPSPorts,
		// tlsPorts MODEL: the tls (SNI passthrough) port numbers, ascending.
		"tlsPorts": TLSPorts,
		// sharedTLSPorts MODEL: the ports that are both https and tls,
		// ascending.
		"sharedTLSPorts": SharedTLSPorts,
		// sniRoutes MODEL: what the ClientHello's SNI selects on each tls
		// port: its tls routes and, on a port shared with https, the https
		// hosts (Terminate); by port, longest host first.
		"sniRoutes": SNIRoutes,
		// redirectBackends MODEL: the redirect backends of the http ports,
		// each once, with the https port they send to; sorted by name.
		"redirectBackends": RedirectBackends,
		// certFiles MODEL: the certificate files, the default one first.
		"certFiles": CertFiles,
		// routes MODEL: every http route of every port, each with its .Port,
		// by port and then in precedence order.
		"routes": Routes,
		// routesOnPort PORT MODEL: the http routes of one port in precedence
		// order (empty when the port has none).
		"routesOnPort": RoutesOnPort,
		// backends MODEL: every backend with servers (http, https, tls,
		// tcp), sorted by name.
		"backends": Backends,
		// servers NAME MODEL: the servers of the backend called NAME, of any
		// scheme (empty when there is no such backend).
		"servers": Servers,
		// limits MODEL: maxconn and active health checks sized to the
		// proxy's open-files limit (see Limits).
		"limits": ProxyLimits,
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

// MaxLabels returns the largest label count of any host in list:
// []model.HTTPPort (routes and redirects), []model.TLSPort or []SNIRoute;
// nil counts as empty. Any other type is an error.
func MaxLabels(list any) (int, error) {
	n := 0
	count := func(host string) {
		if c := strings.Count(host, ".") + 1; c > n {
			n = c
		}
	}
	switch l := list.(type) {
	case nil:
	case []model.HTTPPort:
		for _, p := range l {
			for _, r := range p.Routes {
				count(r.Host)
			}
			for _, r := range p.Redirects {
				count(r.Host)
			}
		}
	case []model.TLSPort:
		for _, p := range l {
			for _, r := range p.Routes {
				count(r.Host)
			}
		}
	case []SNIRoute:
		for _, r := range l {
			count(r.Host)
		}
	default:
		return 0, fmt.Errorf("maxLabels: want .HTTP, .HTTPS, .TLS or sniRoutes, not %T", list)
	}
	return n, nil
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

// HTTPSPorts returns the https port numbers of m in ascending order.
func HTTPSPorts(m *model.Model) []int {
	if m == nil {
		return []int{}
	}
	return sortedPorts(m.HTTPS, func(p model.HTTPPort) int { return p.Port })
}

// TLSPorts returns the tls port numbers of m in ascending order.
func TLSPorts(m *model.Model) []int {
	if m == nil {
		return []int{}
	}
	return sortedPorts(m.TLS, func(p model.TLSPort) int { return p.Port })
}

// SharedTLSPorts returns the ports of m that are both https and tls, where
// the SNI decides between passing through and terminating; ascending.
func SharedTLSPorts(m *model.Model) []int {
	out := []int{}
	if m == nil {
		return out
	}
	https := map[int]bool{}
	for _, p := range m.HTTPS {
		https[p.Port] = true
	}
	for _, p := range TLSPorts(m) {
		if https[p] {
			out = append(out, p)
		}
	}
	return out
}

// SNIRoute is one host the SNI lookup of a tls port knows: a tls route,
// passed through to Backend, or (Terminate) the host of https routes on a
// port shared with https, whose connections TLS-terminate.
type SNIRoute struct {
	Port int
	Host string
	// Backend is the tls route's backend; empty when Terminate.
	Backend string
	// Terminate marks an https host on a shared port.
	Terminate bool
	// Servers are the tls route's servers; empty when Terminate.
	Servers []model.Server
}

// SNIRoutes returns, for every tls port of m in ascending order, its tls
// routes and, when the port is also an https port, each host of its https
// routes once (Terminate), in precedence order: longest host first, as the
// model orders hosts. The model never has one host both ways on a port.
func SNIRoutes(m *model.Model) []SNIRoute {
	out := []SNIRoute{}
	if m == nil {
		return out
	}
	https := map[int][]model.HTTPRoute{}
	for _, p := range m.HTTPS {
		https[p.Port] = append(https[p.Port], p.Routes...)
	}
	ports := append([]model.TLSPort(nil), m.TLS...)
	sort.SliceStable(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
	for _, p := range ports {
		var list []SNIRoute
		seen := map[string]bool{}
		for _, r := range p.Routes {
			seen[r.Host] = true
			list = append(list, SNIRoute{Port: p.Port, Host: r.Host, Backend: r.Backend, Servers: nonNil(r.Servers)})
		}
		for _, r := range https[p.Port] {
			if !seen[r.Host] {
				seen[r.Host] = true
				list = append(list, SNIRoute{Port: p.Port, Host: r.Host, Terminate: true, Servers: []model.Server{}})
			}
		}
		sort.SliceStable(list, func(i, j int) bool { return hostBefore(list[i].Host, list[j].Host) })
		out = append(out, list...)
	}
	return out
}

// hostBefore is the model's host precedence: longer first, then by name.
func hostBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a < b
}

// RedirectBackend is a backend that answers 301 to https on port To.
type RedirectBackend struct {
	Name string
	To   int
}

// RedirectBackends returns every redirect backend of m's http ports once,
// sorted by name.
func RedirectBackends(m *model.Model) []RedirectBackend {
	out := []RedirectBackend{}
	if m == nil {
		return out
	}
	seen := map[string]bool{}
	for _, p := range m.HTTP {
		for _, r := range p.Redirects {
			if !seen[r.Backend] {
				seen[r.Backend] = true
				out = append(out, RedirectBackend{Name: r.Backend, To: r.To})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CertFiles returns the certificate files of m with the default one first
// (a proxy answers a ClientHello no certificate matches with its first
// certificate), then the others in the model's order; empty when m has no
// certificates.
func CertFiles(m *model.Model) []model.CertFile {
	out := []model.CertFile{}
	if m == nil || m.Certificates == nil {
		return out
	}
	c := m.Certificates
	for _, f := range c.Files {
		if f.File == c.Default {
			out = append(out, f)
		}
	}
	for _, f := range c.Files {
		if f.File != c.Default {
			out = append(out, f)
		}
	}
	return out
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

// Backend is one backend of the model as the "backends" helper lists it.
type Backend struct {
	// Name is the backend name (model.HTTPRoute.Backend, model.TLSRoute.Backend
	// or model.TCPPort.Backend).
	Name string
	// Scheme is "http", "https", "tls" or "tcp".
	Scheme string
	// Port is the listening port the backend is served on.
	Port    int
	Servers []model.Server
}

// Backends returns every backend of m that has servers (routes of http,
// https, tls and tcp; not the redirect backends), sorted by name.
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
	for _, p := range m.HTTPS {
		for _, r := range p.Routes {
			out = append(out, Backend{Name: r.Backend, Scheme: "https", Port: p.Port, Servers: nonNil(r.Servers)})
		}
	}
	for _, p := range m.TLS {
		for _, r := range p.Routes {
			out = append(out, Backend{Name: r.Backend, Scheme: "tls", Port: p.Port, Servers: nonNil(r.Servers)})
		}
	}
	for _, p := range m.TCP {
		out = append(out, Backend{Name: p.Backend, Scheme: "tcp", Port: p.Port, Servers: nonNil(p.Servers)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Servers returns the servers of the backend called name, of any scheme, or
// an empty list when m has no such backend.
func Servers(name string, m *model.Model) []model.Server {
	if m != nil {
		for _, ports := range [][]model.HTTPPort{m.HTTP, m.HTTPS} {
			for _, p := range ports {
				for _, r := range p.Routes {
					if r.Backend == name {
						return nonNil(r.Servers)
					}
				}
			}
		}
		for _, p := range m.TLS {
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
