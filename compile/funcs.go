package compile

import (
	"net"
	"strconv"
	"strings"
	"text/template"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Funcs returns the helpers rproxy-gen adds to sprig's for templates. stem is
// the auxiliary-file stem used by "file".
func Funcs(stem string) template.FuncMap {
	return template.FuncMap{
		// file NAME: the base name of auxiliary file NAME, defined in the
		// template as {{define "file:NAME"}}; it is written beside the output.
		"file": func(name string) string { return AuxName(stem, name) },
		// listen BIND PORT: "BIND:PORT", bracketing IPv6, ":PORT" when BIND is empty.
		"listen": func(bind string, port int) string { return net.JoinHostPort(bind, strconv.Itoa(port)) },
		// ident S: S with every character that is not a letter, digit, '-', '_'
		// or '.' replaced by '_', safe as a proxy or upstream name.
		"ident": Ident,
		// maxLabels HTTPPORTS: the largest number of dot-separated labels of
		// any http route host (0 when there are none).
		"maxLabels": MaxLabels,
		// seq1 N: the list 1..N, for unrolled loops.
		"seq1": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i + 1
			}
			return out
		},
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
