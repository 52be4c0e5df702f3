package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
)

// Limits of the names Build makes. ValidateIdent accepts longer names (up to
// 200 characters) in hand-written models; Build and Normalize never make a
// name longer than these.
const (
	// MaxBackendName bounds backend names: longer ones keep a readable prefix
	// and end in "_" and 16 hex digits of a hash of the full name.
	MaxBackendName = 100
	// MaxServerName bounds server names the same way.
	MaxServerName = 64
)

// shorten returns s when it fits in max characters, else a readable prefix
// of s, "_" and the first 16 hex digits of the SHA-256 of s (64 bits: no
// collision in practice; Build still checks). The result is stable.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:max-17] + "_" + hex.EncodeToString(sum[:8])
}

// routeBackendName is PREFIX_PORT_HOST, plus a readable form of the path and
// a short hash of it when the path is not "/", shortened to MaxBackendName.
func routeBackendName(prefix string, port int, host, path string) string {
	name := fmt.Sprintf("%s_%d_%s", prefix, port, host)
	if path != "/" && path != "" {
		var b strings.Builder
		for _, c := range strings.Trim(path, "/") {
			if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
				b.WriteRune(c)
			} else {
				b.WriteByte('_')
			}
		}
		readable := b.String()
		if len(readable) > 40 {
			readable = readable[:40]
		}
		h := fnv.New32a()
		h.Write([]byte(path))
		name = fmt.Sprintf("%s_%s_%08x", name, readable, h.Sum32())
	}
	return shorten(name, MaxBackendName)
}

// HTTPBackendName is the stable backend name of an http route:
// http_PORT_HOST, plus a readable form of the path and a short hash when the
// path is not "/" (the hash keeps "/a-b" and "/a/b" apart). Names longer than
// MaxBackendName keep a readable prefix and end in a hash of the full name.
func HTTPBackendName(port int, host, path string) string {
	return routeBackendName("http", port, host, path)
}

// HTTPSBackendName is the backend name of an https route, formed as
// HTTPBackendName's with the prefix https.
func HTTPSBackendName(port int, host, path string) string {
	return routeBackendName("https", port, host, path)
}

// TLSBackendName is the backend name of a tls (SNI passthrough) route:
// tls_PORT_HOST, bounded like HTTPBackendName.
func TLSBackendName(port int, host string) string {
	return routeBackendName("tls", port, host, "")
}

// TCPBackendName is the backend name of a tcp port.
func TCPBackendName(port int) string { return fmt.Sprintf("tcp_%d", port) }

// RedirectBackendName is the name of the synthetic backend that answers 301
// to https on port to: https_redirect_PORT. Every redirect to that port
// shares it.
func RedirectBackendName(to int) string { return fmt.Sprintf("https_redirect_%d", to) }

// ValidateIdent checks a name used as a proxy identifier (backend, server):
// letters, digits, '-', '_', '.', ':' only, 1–200 characters, not starting
// with a punctuation character.
func ValidateIdent(s string) error {
	if s == "" || len(s) > 200 {
		return fmt.Errorf("identifier %q must be 1-200 characters", truncate(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && strings.IndexByte("-_.:", c) >= 0:
		default:
			return fmt.Errorf("identifier %q: character %q not allowed", truncate(s), string(c))
		}
	}
	return nil
}

// containerRef is the value of Server.Container for c: its short ID, or,
// when the ID is not a safe identifier (only a crafted snapshot has such
// IDs), "id-" and a hash of ID and name, so it is never empty.
func containerRef(c Container) string {
	if id := ShortID(c.ID); ValidateIdent(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(c.ID + "\x00" + c.Name))
	return "id-" + hex.EncodeToString(sum[:5])[:9]
}

// serverName is the container name when it is a safe identifier (shortened
// to MaxServerName), else its containerRef.
func serverName(c Container) string {
	if c.Name != "" && ValidateIdent(c.Name) == nil {
		return shorten(c.Name, MaxServerName)
	}
	return containerRef(c)
}
