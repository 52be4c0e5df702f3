// Package tlstest makes certificate authorities and certificates for tests:
// a CA (optionally with intermediates), leaf certificates for any names
// (wildcards and IP addresses included) with ECDSA P-256 keys by default,
// PEM files in the layout of a certificate directory (chain then key, one
// file per certificate), and TLS configurations for clients and servers
// that trust only the test CA.
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority for tests. A root CA signs its own
// certificate; an intermediate (see Intermediate) is signed by its parent.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// CertPEM is Cert in PEM form.
	CertPEM []byte
	key     crypto.Signer
	// chain lists the intermediates from this CA up to, not including, the
	// root (empty for a root).
	chain []*x509.Certificate
	root  *x509.Certificate
}

// NewCA makes a root CA with an ECDSA P-256 key, valid from an hour ago for
// a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "rproxy-gen test CA", Organization: []string{"rproxy-gen tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert := sign(t, tmpl, tmpl, key.Public(), key)
	return &CA{Cert: cert, CertPEM: certPEM(cert), key: key, root: cert}
}

// Intermediate makes a CA signed by ca; leaves it issues carry it in their
// chain.
func (ca *CA) Intermediate(t testing.TB) *CA {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "rproxy-gen test intermediate CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert := sign(t, tmpl, ca.Cert, key.Public(), ca.key)
	return &CA{Cert: cert, CertPEM: certPEM(cert), key: key, root: ca.root,
		chain: append([]*x509.Certificate{cert}, ca.chain...)}
}

// KeyFormat is the PEM encoding of a leaf's private key.
type KeyFormat int

// The key encodings a certificate directory may hold.
const (
	// PKCS8 is "PRIVATE KEY", for any key type.
	PKCS8 KeyFormat = iota
	// SEC1 is "EC PRIVATE KEY", for ECDSA keys.
	SEC1
	// PKCS1 is "RSA PRIVATE KEY", for RSA keys.
	PKCS1
)

// Spec describes a leaf certificate.
type Spec struct {
	// Names are DNS names (wildcards such as "*.example.com" included) or IP
	// addresses, all put in the certificate's SANs.
	Names []string
	// CommonName is the subject's common name; the first name when empty.
	CommonName string
	// RSA makes a 2048-bit RSA key instead of ECDSA P-256 (slower).
	RSA bool
	// Format is the key's PEM encoding (PKCS8 by default).
	Format KeyFormat
	// NotBefore and NotAfter default to an hour ago and a day from now.
	NotBefore, NotAfter time.Time
}

// Leaf is a certificate issued by a CA, with its key.
type Leaf struct {
	// Cert is the leaf certificate.
	Cert *x509.Certificate
	// ChainPEM is the leaf then the intermediates, in PEM form (no root).
	ChainPEM []byte
	// KeyPEM is the private key in PEM form, encoded as the Spec said.
	KeyPEM []byte
	// TLS is the certificate and key for a tls.Config.
	TLS tls.Certificate
}

// Leaf issues an ECDSA P-256 leaf certificate for names.
func (ca *CA) Leaf(t testing.TB, names ...string) *Leaf {
	t.Helper()
	return ca.Issue(t, Spec{Names: names})
}

// Issue issues a leaf certificate as spec says.
func (ca *CA) Issue(t testing.TB, spec Spec) *Leaf {
	t.Helper()
	var key crypto.Signer
	if spec.RSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("tlstest: RSA key: %v", err)
		}
		key = k
	} else {
		key = ecKey(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: spec.CommonName},
		NotBefore:    spec.NotBefore,
		NotAfter:     spec.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if spec.RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if tmpl.Subject.CommonName == "" && len(spec.Names) > 0 {
		tmpl.Subject.CommonName = spec.Names[0]
	}
	for _, n := range spec.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	cert := sign(t, tmpl, ca.Cert, key.Public(), ca.key)
	chain := certPEM(cert)
	tc := tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	for _, c := range ca.chain {
		chain = append(chain, certPEM(c)...)
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return &Leaf{Cert: cert, ChainPEM: chain, KeyPEM: keyPEM(t, key, spec.Format), TLS: tc}
}

// PEM is the leaf's chain followed by its key: the content of one file of a
// certificate directory (and of HAProxy's crt files).
func (l *Leaf) PEM() []byte {
	return append(append([]byte(nil), l.ChainPEM...), l.KeyPEM...)
}

// WriteFile writes PEM() to dir/name (mode 0600) and returns the path.
func (l *Leaf) WriteFile(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, l.PEM(), 0o600); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	return p
}

// ServerConfig is a tls.Config serving the leaf, for a TLS backend (e.g. one
// reached through SNI passthrough).
func (l *Leaf) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{l.TLS}, MinVersion: tls.VersionTLS12}
}

// Pool is a certificate pool holding only the root of ca.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

// RootPEM is the root certificate in PEM form, e.g. for curl --cacert.
func (ca *CA) RootPEM() []byte { return certPEM(ca.root) }

// ClientConfig is a tls.Config for a client that trusts only ca's root and
// sends serverName as SNI (and checks the certificate against it).
func (ca *CA) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, MinVersion: tls.VersionTLS12}
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("tlstest: ECDSA key: %v", err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatalf("tlstest: serial: %v", err)
	}
	return n
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatalf("tlstest: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse certificate: %v", err)
	}
	return cert
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(t testing.TB, key crypto.Signer, f KeyFormat) []byte {
	t.Helper()
	var block *pem.Block
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if f == SEC1 {
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				t.Fatalf("tlstest: %v", err)
			}
			block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		} else if f == PKCS1 {
			t.Fatalf("tlstest: PKCS1 needs an RSA key (Spec.RSA)")
		}
	case *rsa.PrivateKey:
		if f == PKCS1 {
			block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		} else if f == SEC1 {
			t.Fatalf("tlstest: SEC1 needs an ECDSA key")
		}
	}
	if block == nil {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("tlstest: %v", err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return pem.EncodeToMemory(block)
}
