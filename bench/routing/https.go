package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/rproxy-gen/rproxy-gen/certs"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// runHTTPS measures 1 against n https routes through the built-in template
// (TLS terminated by HAProxy, keep-alive clients) as run measures http.
func runHTTPS(log *slog.Logger, routes int, d time.Duration, conns, rounds int) error {
	bport, stop, err := startBackend()
	if err != nil {
		return err
	}
	defer stop()

	certDir, err := os.MkdirTemp("", "rproxy-bench-certs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(certDir)
	if err := writeBenchCert(filepath.Join(certDir, "default.pem")); err != nil {
		return err
	}
	c, errs := certs.Load(certDir)
	if len(errs) > 0 {
		return fmt.Errorf("certificate: %v", errs)
	}
	tmpl, err := render.Load("haproxy")
	if err != nil {
		return err
	}
	rates, err := measure(log, []variant{{"https, 1 route", tmpl, 1}, {fmt.Sprintf("https, %d routes", routes), tmpl, routes}}, bport, c, d, conns, rounds)
	if err != nil {
		return err
	}
	fmt.Printf("https: %d routes serve %.1f%% of the 1-route rate\n", routes, 100*rates[1]/rates[0])
	return nil
}

// writeBenchCert writes a self-signed ECDSA certificate for *.bench.example
// and its key to path, as one file of a certificate directory.
func writeBenchCert(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "*.bench.example"},
		DNSNames:  []string{"*.bench.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	return os.WriteFile(path, data, 0o600)
}
