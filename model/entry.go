package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Scheme is the protocol of an RPROXY entry.
type Scheme string

// The schemes an RPROXY entry may use (written in any case).
const (
	// HTTP routes plain HTTP by Host header suffix and path prefix.
	HTTP Scheme = "http"
	// TCP routes raw TCP by listening port alone.
	TCP Scheme = "tcp"
	// HTTPS terminates TLS in the proxy, then routes like HTTP; the container
	// gets plain HTTP.
	HTTPS Scheme = "https"
	// TLS passes TLS through untouched, routed by the ClientHello's SNI.
	TLS Scheme = "tls"
)

// Default ports when an entry names none.
const (
	DefaultHTTPPort  = 80
	DefaultTCPPort   = 4
	DefaultHTTPSPort = 443
	DefaultTLSPort   = 443
	// DefaultHTTPSTo is the container port of an https entry without to=.
	DefaultHTTPSTo = 80
	// DefaultRedirect is the plain HTTP port that redirects to an https entry
	// on port 443 without redirect=.
	DefaultRedirect = 80
)

// Entry is one parsed, validated URL of an RPROXY value:
// scheme://host[:port][/path][?options].
type Entry struct {
	Scheme Scheme
	// Host is the lowercased hostname without a trailing dot. For http and
	// https it is the domain suffix to route, for tls the SNI suffix; for tcp
	// it only names the entry.
	Host string
	// Port is the proxy's listening port.
	Port int
	// Path is the path prefix for http and https ("/" when none was given);
	// empty for tcp and tls.
	Path string
	// To is the container's port: option to=, else Port (http, tcp, tls) or
	// DefaultHTTPSTo (https).
	To int
	// Redirect is the plain HTTP port that answers 301 to this https entry
	// (option redirect=PORT|off); 0 is off. Always 0 for other schemes.
	Redirect int
}

// defaultTo is the container port an entry has without to=.
func defaultTo(s Scheme, port int) int {
	if s == HTTPS {
		return DefaultHTTPSTo
	}
	return port
}

// defaultRedirect is the redirect port an https entry on port has without
// redirect=: DefaultRedirect on 443, else off.
func defaultRedirect(port int) int {
	if port == DefaultHTTPSPort {
		return DefaultRedirect
	}
	return 0
}

// SplitList splits an RPROXY value into its comma-separated entries, trimming
// white space and dropping empty items.
func SplitList(value string) []string {
	var out []string
	for _, part := range strings.Split(value, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseEntry parses and validates one RPROXY URL:
// scheme://host[:port][/path][?options]. Schemes are http, https, tcp and tls
// in any case; options are to=PORT (any scheme) and redirect=PORT|off (https
// only), each at most once, names in any case, values strict decimal digits
// (or "off"). The error says which part is wrong and why; it quotes the
// offending part rather than echoing it raw.
func ParseEntry(raw string) (Entry, error) {
	s := strings.TrimSpace(raw)
	i := strings.Index(s, "://")
	if i < 0 {
		return Entry{}, fmt.Errorf("missing scheme: want http://host[:port][/path], https://host[:port][/path], tcp://name:port or tls://host[:port]")
	}
	var e Entry
	switch scheme := strings.ToLower(s[:i]); scheme {
	case "http":
		e.Scheme, e.Port = HTTP, DefaultHTTPPort
	case "tcp":
		e.Scheme, e.Port = TCP, DefaultTCPPort
	case "https":
		e.Scheme, e.Port = HTTPS, DefaultHTTPSPort
	case "tls":
		e.Scheme, e.Port = TLS, DefaultTLSPort
	default:
		return Entry{}, fmt.Errorf("unsupported scheme %q: want http, https, tcp or tls", truncate(s[:i]))
	}
	rest := s[i+3:]
	if j := strings.IndexByte(rest, '#'); j >= 0 {
		return Entry{}, fmt.Errorf("fragment %q not allowed", truncate(rest[j:]))
	}
	query, hasQuery := "", false
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		rest, query, hasQuery = rest[:j], rest[j+1:], true
	}
	authority, path := rest, ""
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority, path = rest[:j], rest[j:]
	}
	if strings.Contains(authority, "@") {
		return Entry{}, fmt.Errorf("user info not allowed in %q", truncate(authority))
	}
	host := authority
	if j := strings.LastIndexByte(authority, ':'); j >= 0 {
		host = authority[:j]
		port, err := ParsePort(authority[j+1:])
		if err != nil {
			return Entry{}, err
		}
		e.Port = port
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return Entry{}, err
	}
	e.Host = h
	switch {
	case (e.Scheme == TCP || e.Scheme == TLS) && path != "" && path != "/":
		how := "port alone"
		if e.Scheme == TLS {
			how = "SNI host alone"
		}
		return Entry{}, fmt.Errorf("path %q not allowed for %s (%s routes by %s)", truncate(path), e.Scheme, e.Scheme, how)
	case e.Scheme == TCP || e.Scheme == TLS:
	case path == "":
		e.Path = "/"
	default:
		if err := ValidatePath(path); err != nil {
			return Entry{}, err
		}
		e.Path = path
	}
	if err := e.applyOptions(query, hasQuery); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// applyOptions parses the query part of an entry into To and Redirect,
// filling their defaults.
func (e *Entry) applyOptions(query string, hasQuery bool) error {
	e.To = defaultTo(e.Scheme, e.Port)
	if e.Scheme == HTTPS {
		e.Redirect = defaultRedirect(e.Port)
	}
	if !hasQuery {
		return nil
	}
	if query == "" {
		return fmt.Errorf("empty options after '?': want to=PORT or, for https, redirect=PORT|off")
	}
	seen := map[string]bool{}
	for _, opt := range strings.Split(query, "&") {
		if opt == "" {
			return fmt.Errorf("empty option in %q", truncate(query))
		}
		key, value, hasValue := strings.Cut(opt, "=")
		name := strings.ToLower(key)
		switch name {
		case "to", "redirect":
		default:
			return fmt.Errorf("unknown option %q: want to=PORT or, for https, redirect=PORT|off", truncate(key))
		}
		if seen[name] {
			return fmt.Errorf("option %s given more than once", name)
		}
		seen[name] = true
		if !hasValue || value == "" {
			return fmt.Errorf("option %s needs a value", name)
		}
		switch name {
		case "to":
			p, err := ParsePort(value)
			if err != nil {
				return fmt.Errorf("option to: %w", err)
			}
			e.To = p
		case "redirect":
			if e.Scheme != HTTPS {
				return fmt.Errorf("option redirect applies to https only, not %s", e.Scheme)
			}
			if strings.EqualFold(value, "off") {
				e.Redirect = 0
				continue
			}
			p, err := ParsePort(value)
			if err != nil {
				return fmt.Errorf("option redirect: want a port or off: %w", err)
			}
			if p == e.Port {
				return fmt.Errorf("option redirect: port %d is the https port itself", p)
			}
			e.Redirect = p
		}
	}
	return nil
}

// ParsePort parses a decimal port number in 1–65535 (ASCII digits only: no
// sign, no space).
func ParsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q is not a number", truncate(s))
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q out of range 1-65535", truncate(s))
	}
	return n, nil
}

// NormalizeHost validates a hostname by RFC 1123 (letters, digits and hyphens in
// dot-separated labels of 1–63 characters, 253 in all) and returns it lowercased
// without a trailing dot.
func NormalizeHost(host string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" {
		return "", fmt.Errorf("empty host")
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host %q longer than 253 characters", truncate(host))
	}
	for _, label := range strings.Split(h, ".") {
		if err := validateLabel(label); err != nil {
			return "", fmt.Errorf("host %q: %w", truncate(host), err)
		}
	}
	return h, nil
}

// validHost reports whether h is a hostname in NormalizeHost's canonical form.
func validHost(h string) bool {
	n, err := NormalizeHost(h)
	return err == nil && n == h
}

func validateLabel(label string) error {
	if label == "" {
		return fmt.Errorf("empty label")
	}
	if len(label) > 63 {
		return fmt.Errorf("label longer than 63 characters")
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(label)-1 {
				return fmt.Errorf("label %q starts or ends with a hyphen", label)
			}
		default:
			return fmt.Errorf("invalid character %q", string(c))
		}
	}
	return nil
}

// ValidatePath checks an http path prefix: it starts with "/" and holds only
// unreserved URL characters, a few safe sub-delimiters and %XX escapes, so it
// can never break a line or token of a generated config.
func ValidatePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q must start with /", truncate(p))
	}
	if len(p) > 1024 {
		return fmt.Errorf("path longer than 1024 characters")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/-._~!$&+=;:@", c) >= 0:
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return fmt.Errorf("path %q: %% must be followed by two hex digits", truncate(p))
			}
		default:
			return fmt.Errorf("path %q: character %q not allowed", truncate(p), string(c))
		}
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// truncate keeps error messages short when a value is huge.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
