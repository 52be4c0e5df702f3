package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Scheme is the protocol of an RPROXY entry: http routes by Host and path, tcp by port alone.
type Scheme string

// The schemes an RPROXY entry may use.
const (
	HTTP Scheme = "http"
	TCP  Scheme = "tcp"
)

// Default ports when an entry names none.
const (
	DefaultHTTPPort = 80
	DefaultTCPPort  = 4
)

// Entry is one parsed, validated URL of an RPROXY value.
type Entry struct {
	Scheme Scheme
	// Host is the lowercased hostname without a trailing dot. For http it is the
	// domain suffix to route; for tcp it only names the entry.
	Host string
	// Port is both the container's port and the proxy's listening port.
	Port int
	// Path is the http path prefix ("/" when none was given); empty for tcp.
	Path string
}

// String formats the entry in its canonical form.
func (e Entry) String() string {
	if e.Scheme == TCP {
		return fmt.Sprintf("tcp://%s:%d", e.Host, e.Port)
	}
	return fmt.Sprintf("http://%s:%d%s", e.Host, e.Port, e.Path)
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

// ParseEntry parses and validates one RPROXY URL: scheme://host[:port][/path].
// The error says which part is wrong and why; it never echoes the raw value
// unquoted.
func ParseEntry(raw string) (Entry, error) {
	s := strings.TrimSpace(raw)
	i := strings.Index(s, "://")
	if i < 0 {
		return Entry{}, fmt.Errorf("missing scheme: want http://host[:port][/path] or tcp://name:port")
	}
	var e Entry
	switch scheme := strings.ToLower(s[:i]); scheme {
	case "http":
		e.Scheme, e.Port = HTTP, DefaultHTTPPort
	case "tcp":
		e.Scheme, e.Port = TCP, DefaultTCPPort
	default:
		return Entry{}, fmt.Errorf("unsupported scheme %q: want http or tcp", s[:i])
	}
	rest := s[i+3:]
	if j := strings.IndexAny(rest, "?#"); j >= 0 {
		return Entry{}, fmt.Errorf("query or fragment %q not allowed", rest[j:])
	}
	authority, path := rest, ""
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority, path = rest[:j], rest[j:]
	}
	if strings.Contains(authority, "@") {
		return Entry{}, fmt.Errorf("user info not allowed in %q", authority)
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
	case e.Scheme == TCP && path != "" && path != "/":
		return Entry{}, fmt.Errorf("path %q not allowed for tcp (tcp routes by port alone)", path)
	case e.Scheme == TCP:
		return e, nil
	case path == "":
		path = "/"
	}
	if err := ValidatePath(path); err != nil {
		return Entry{}, err
	}
	e.Path = path
	return e, nil
}

// ParsePort parses a decimal port number in 1–65535.
func ParsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q is not a number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q out of range 1-65535", s)
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
