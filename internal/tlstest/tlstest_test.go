package tlstest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"testing"
)

// handshake serves leaf on a loopback listener and connects with a client
// trusting ca and sending sni; it returns the client's handshake error.
func handshake(t *testing.T, ca *CA, leaf *Leaf, sni string) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", leaf.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		io.WriteString(c, "hi")
		c.Close()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), ca.ClientConfig(sni))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = io.ReadAll(c)
	return err
}

func TestLeafHandshake(t *testing.T) {
	ca := NewCA(t)
	inter := ca.Intermediate(t)
	tests := []struct {
		name   string
		ca     *CA
		names  []string
		sni    string
		wantOK bool
	}{
		{"exact", ca, []string{"example.com"}, "example.com", true},
		{"wildcard", ca, []string{"*.example.com"}, "a.example.com", true},
		{"wildcard is one label", ca, []string{"*.example.com"}, "a.b.example.com", false},
		{"wildcard not the apex", ca, []string{"*.example.com"}, "example.com", false},
		{"other name", ca, []string{"example.com"}, "example.org", false},
		{"through an intermediate", inter, []string{"example.com"}, "example.com", true},
		{"IP SAN", ca, []string{"127.0.0.1"}, "127.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := handshake(t, ca, tt.ca.Leaf(t, tt.names...), tt.sni)
			if (err == nil) != tt.wantOK {
				t.Fatalf("handshake err = %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
	other := NewCA(t)
	if err := handshake(t, other, ca.Leaf(t, "example.com"), "example.com"); err == nil {
		t.Fatal("a client of another CA trusted the certificate")
	}
}

func TestPEMFiles(t *testing.T) {
	ca := NewCA(t)
	inter := ca.Intermediate(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		leaf    *Leaf
		keyType string
		certs   int
	}{
		{"ecdsa pkcs8", ca.Leaf(t, "a.example.com"), "PRIVATE KEY", 1},
		{"ecdsa sec1", ca.Issue(t, Spec{Names: []string{"b.example.com"}, Format: SEC1}), "EC PRIVATE KEY", 1},
		{"rsa pkcs1", ca.Issue(t, Spec{Names: []string{"c.example.com"}, RSA: true, Format: PKCS1}), "RSA PRIVATE KEY", 1},
		{"intermediate chain", inter.Leaf(t, "d.example.com"), "PRIVATE KEY", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.leaf.WriteFile(t, dir, tt.name+".pem")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for rest := data; ; {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				types = append(types, b.Type)
			}
			if len(types) != tt.certs+1 || types[len(types)-1] != tt.keyType {
				t.Fatalf("blocks %q, want %d certificates then %s", types, tt.certs, tt.keyType)
			}
			pair, err := tls.X509KeyPair(data, data)
			if err != nil {
				t.Fatalf("the file is not a chain and its key: %v", err)
			}
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			inters := x509.NewCertPool()
			for _, der := range pair.Certificate[1:] {
				c, _ := x509.ParseCertificate(der)
				inters.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), Intermediates: inters, DNSName: tt.leaf.Cert.DNSNames[0]}); err != nil {
				t.Fatalf("chain does not verify: %v", err)
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
		})
	}
	if !bytes.Equal(ca.RootPEM(), ca.CertPEM) || bytes.Equal(inter.CertPEM, ca.RootPEM()) {
		t.Error("RootPEM is not the root")
	}
}
