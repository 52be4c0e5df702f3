package model

import (
	"fmt"
	"sort"
	"strings"
)

// Certificates describes the certificates of a certificate directory
// (--certs DIR) by file name and names, never key material. A loader
// (package certs) fills Dir, Files and Default; Normalize fills Uncovered.
type Certificates struct {
	// Dir is the directory holding the files, as templates should name it.
	Dir string `yaml:"dir"`
	// Default is the file served when no certificate matches the SNI:
	// "default.pem" when present, else the first file by name; empty only
	// when Files is empty.
	Default string `yaml:"default"`
	// Files lists the usable certificate files by name.
	Files []CertFile `yaml:"files"`
	// Uncovered lists the https route hosts no certificate covers (exact
	// name or single-label wildcard): they are routed and served with the
	// Default certificate, which clients will not trust for them. Sorted.
	Uncovered []string `yaml:"uncovered,omitempty"`
}

// CertFile is one PEM file: a certificate chain and its private key.
type CertFile struct {
	// File is the base name of the file in Certificates.Dir.
	File string `yaml:"file"`
	// Names are the names the leaf certificate is valid for (its DNS SANs,
	// else its common name), lowercase; a wildcard is written "*.example.com".
	// Sorted.
	Names []string `yaml:"names"`
	// SHA256 is the SHA-256 fingerprint of the leaf certificate (its DER
	// bytes), 64 lowercase hex digits: public, like the names, and different
	// for every issued certificate, so a renewal changes the model and the
	// rendered config, and the proxy is reloaded. Empty when unknown (a
	// hand-written model).
	SHA256 string `yaml:"sha256,omitempty"`
}

// Covers reports whether a certificate valid for names serves host: a name
// equal to host, or a wildcard "*.SUFFIX" where host is one label followed
// by ".SUFFIX" (as TLS clients match; "*.example.com" covers
// "a.example.com", not "example.com" nor "a.b.example.com"). host and names
// are compared as given, so pass them lowercased.
func Covers(names []string, host string) bool {
	for _, n := range names {
		if n == host {
			return true
		}
		if suffix, ok := strings.CutPrefix(n, "*."); ok {
			if label, rest, ok := strings.Cut(host, "."); ok && label != "" && rest == suffix {
				return true
			}
		}
	}
	return false
}

// NormalizeCertName validates a certificate name (a hostname, or "*." and a
// hostname of at least two labels) and returns it lowercased without a
// trailing dot.
func NormalizeCertName(name string) (string, error) {
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		h, err := NormalizeHost(rest)
		if err != nil {
			return "", fmt.Errorf("wildcard name %q: %w", truncate(name), err)
		}
		if !strings.Contains(h, ".") {
			return "", fmt.Errorf("wildcard name %q covers a whole top-level domain", truncate(name))
		}
		return "*." + h, nil
	}
	return NormalizeHost(name)
}

// ValidateCertFile checks a certificate file name: a plain base name ending
// in ".pem", of letters, digits, '.', '_', '-' and '+', not starting with
// '.', at most 255 characters, so a template can print it in a path.
func ValidateCertFile(name string) error {
	if !strings.HasSuffix(name, ".pem") || len(name) > 255 || strings.HasPrefix(name, ".") {
		return fmt.Errorf("certificate file %q: want a base name ending in .pem, not starting with a dot", truncate(name))
	}
	if c, ok := firstUnsafe(name, "._-+"); ok {
		return fmt.Errorf("certificate file %q: character %q not allowed", truncate(name), string(c))
	}
	return nil
}

// ValidateCertDir checks a certificate directory path: not empty, at most
// 1024 characters, of letters, digits and "/._-+@:~=" only (no space, quote
// or line break), so a template can print it in a config.
func ValidateCertDir(dir string) error {
	if dir == "" || len(dir) > 1024 {
		return fmt.Errorf("certificate dir %q: want 1-1024 characters", truncate(dir))
	}
	if c, ok := firstUnsafe(dir, "/._-+@:~="); ok {
		return fmt.Errorf("certificate dir %q: character %q not allowed", truncate(dir), string(c))
	}
	return nil
}

// validFingerprint reports whether s is empty or 64 lowercase hex digits.
func validFingerprint(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// firstUnsafe returns the first byte of s that is neither an ASCII letter or
// digit nor one of extra.
func firstUnsafe(s, extra string) (byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return c, true
		}
	}
	return 0, false
}

// Validate checks everything a template may print from c. It is the check
// Model.Validate runs; callers (a certificate loader, the command line) can
// run it on Options.Certs before Build.
func (c *Certificates) Validate() error {
	var errs []string
	if err := ValidateCertDir(c.Dir); err != nil {
		errs = append(errs, err.Error())
	}
	files := map[string]bool{}
	for _, f := range c.Files {
		if err := ValidateCertFile(f.File); err != nil {
			errs = append(errs, err.Error())
		}
		if files[f.File] {
			errs = append(errs, fmt.Sprintf("certificate file %q listed twice", f.File))
		}
		files[f.File] = true
		if !validFingerprint(f.SHA256) {
			errs = append(errs, fmt.Sprintf("certificate file %s: sha256 %q must be 64 lowercase hex digits", f.File, truncate(f.SHA256)))
		}
		for _, n := range f.Names {
			if v, err := NormalizeCertName(n); err != nil || v != n {
				errs = append(errs, fmt.Sprintf("certificate file %s: name %q must be a lowercase hostname or *.hostname", f.File, truncate(n)))
			}
		}
	}
	switch {
	case len(c.Files) == 0 && c.Default != "":
		errs = append(errs, fmt.Sprintf("default certificate %q but no files", truncate(c.Default)))
	case len(c.Files) > 0 && !files[c.Default]:
		errs = append(errs, fmt.Sprintf("default certificate %q is not one of the files", truncate(c.Default)))
	}
	for _, h := range c.Uncovered {
		if !validHost(h) {
			errs = append(errs, fmt.Sprintf("uncovered host %q must be a lowercase RFC 1123 name", truncate(h)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("certificates: %s", strings.Join(errs, "; "))
	}
	return nil
}

// clone returns a deep copy of c (nil for nil).
func (c *Certificates) clone() *Certificates {
	if c == nil {
		return nil
	}
	out := &Certificates{Dir: c.Dir, Default: c.Default, Uncovered: append([]string(nil), c.Uncovered...)}
	for _, f := range c.Files {
		out.Files = append(out.Files, CertFile{File: f.File, Names: append([]string(nil), f.Names...), SHA256: f.SHA256})
	}
	return out
}

// allNames returns every name of every file.
func (c *Certificates) allNames() []string {
	var out []string
	for _, f := range c.Files {
		out = append(out, f.Names...)
	}
	return out
}

// normalize sorts files and names, drops duplicates and recomputes
// Uncovered from the https ports.
func (c *Certificates) normalize(https []HTTPPort) {
	sort.SliceStable(c.Files, func(i, j int) bool { return c.Files[i].File < c.Files[j].File })
	for i := range c.Files {
		sort.Strings(c.Files[i].Names)
		c.Files[i].Names = nilIfEmpty(dedupSorted(c.Files[i].Names))
	}
	c.Files = nilIfEmpty(c.Files)
	names := c.allNames()
	var unc []string
	for _, p := range https {
		for _, r := range p.Routes {
			if !Covers(names, r.Host) {
				unc = append(unc, r.Host)
			}
		}
	}
	sort.Strings(unc)
	c.Uncovered = nilIfEmpty(dedupSorted(unc))
}
