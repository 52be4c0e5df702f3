// Package certs reads a certificate directory (--certs DIR) into the model's
// description of it: which files hold a usable certificate chain with its
// private key, and which names each one serves. It reads files; the name
// matching (model.Covers) and the checks on what a template may print
// (model.Certificates.Validate) are pure and live in package model.
package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// DefaultFile is the file that answers a ClientHello no certificate matches,
// when the directory has it; else the first usable file by name does.
const DefaultFile = "default.pem"

// Load reads every *.pem file of dir. Each must hold a certificate chain (leaf
// first) and the leaf's private key (PKCS#1, PKCS#8 or SEC 1 "EC PRIVATE
// KEY"), matching each other. A file's names are its leaf's DNS names (its
// common name when it has none), lowercased; names that are not hostnames or
// single-label wildcards are left out. Its SHA256 is the leaf's fingerprint,
// so a renewed certificate changes the result.
//
// Load returns what it could use and one error per problem, each naming the
// file and why. A bad file is left out and never stops the others; a name
// left out does not drop its file. The result is nil only when the directory
// itself cannot be used (unreadable, or a path a config cannot hold); then
// the errors say why. Dir in the result is dir made absolute; Default is
// DefaultFile when usable, else the first usable file by name, else empty.
// Expiry is not checked: a renewal replaces the file.
func Load(dir string) (*model.Certificates, []error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, []error{fmt.Errorf("certificate dir %s: %w", dir, err)}
	}
	if err := model.ValidateCertDir(abs); err != nil {
		return nil, []error{fmt.Errorf("certificate dir %s cannot be named in a config: %w", dir, err)}
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, []error{fmt.Errorf("read certificate dir: %w", err)}
	}
	out := &model.Certificates{Dir: abs}
	var errs []error
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if !strings.HasSuffix(name, ".pem") {
			continue
		}
		f, ferrs := loadFile(abs, name)
		errs = append(errs, ferrs...)
		if f != nil {
			out.Files = append(out.Files, *f)
		}
	}
	for _, f := range out.Files {
		if f.File == DefaultFile {
			out.Default = DefaultFile
		}
	}
	if out.Default == "" && len(out.Files) > 0 {
		out.Default = out.Files[0].File
	}
	return out, errs
}

// loadFile reads one file of the directory: nil and an error when it cannot
// be used, else the file and an error per name left out.
func loadFile(dir, name string) (*model.CertFile, []error) {
	path := filepath.Join(dir, name)
	if err := model.ValidateCertFile(name); err != nil {
		return nil, []error{fmt.Errorf("%s: left out: %w", path, err)}
	}
	fi, err := os.Stat(path) // follows symbolic links, as certbot's live/ directory uses them
	if err != nil {
		return nil, []error{fmt.Errorf("%s: left out: %w", path, err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, []error{fmt.Errorf("%s: left out: not a regular file", path)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: left out: %w", path, err)}
	}
	pair, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: left out: want a certificate chain and its private key in one PEM file: %w", path, err)}
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, []error{fmt.Errorf("%s: left out: %w", path, err)}
		}
	}
	raw := leaf.DNSNames
	if len(raw) == 0 && leaf.Subject.CommonName != "" {
		raw = []string{leaf.Subject.CommonName}
	}
	sum := sha256.Sum256(leaf.Raw)
	f := &model.CertFile{File: name, SHA256: hex.EncodeToString(sum[:])}
	var errs []error
	for _, n := range raw {
		v, err := model.NormalizeCertName(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: name %q left out: %w", path, n, err))
			continue
		}
		f.Names = append(f.Names, v)
	}
	sort.Strings(f.Names)
	f.Names = compact(f.Names)
	return f, errs
}

// compact drops adjacent duplicates of a sorted list.
func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
