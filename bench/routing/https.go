package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rproxy-gen/rproxy-gen/certs"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// runHTTPS measures 1 against n https routes through the built-in template,
// each config in its own HAProxy, wrk runs interleaved, medians compared.
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
	names := []string{"https, 1 route", fmt.Sprintf("https, %d routes", routes)}
	var targets []target
	for i, n := range []int{1, routes} {
		t, err := startHTTPS(tmpl, n, bport, c)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		defer t.stop()
		targets = append(targets, t)
	}
	samples := make([][]float64, len(targets))
	for r := 0; r < max(rounds, 1); r++ {
		for i, t := range targets {
			log.Info("measuring", "config", names[i], "round", r+1, "duration", d)
			out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "-H", "Host: "+t.host, "https://"+t.addr+"/").CombinedOutput()
			if err != nil {
				return fmt.Errorf("wrk: %w: %s", err, out)
			}
			if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
				return fmt.Errorf("%s: wrk saw errors: %s", names[i], out)
			}
			rps, err := parseRPS(string(out))
			if err != nil {
				return err
			}
			samples[i] = append(samples[i], rps)
		}
	}
	var rates []float64
	for i := range targets {
		sort.Float64s(samples[i])
		rates = append(rates, samples[i][len(samples[i])/2])
		fmt.Printf("%-28s %10.0f req/s (median of %d; runs %.0f–%.0f)\n", names[i], rates[i], len(samples[i]), samples[i][0], samples[i][len(samples[i])-1])
	}
	fmt.Printf("https: %d routes serve %.1f%% of the 1-route rate\n", routes, 100*rates[1]/rates[0])
	return nil
}

// startHTTPS renders a model with n https routes on one port (the requested
// one in the middle), starts HAProxy on it and checks that the route
// answers over TLS.
func startHTTPS(tmpl *render.Template, n, backendPort int, c *model.Certificates) (target, error) {
	pc, err := prepare(tmpl, n, backendPort, c)
	if err != nil {
		return target{}, err
	}
	dir, cfg := pc.dir, pc.cfg
	hap := exec.Command("haproxy", "-db", "-f", cfg)
	hap.Dir = dir
	hap.Stderr = os.Stderr
	if err := hap.Start(); err != nil {
		os.RemoveAll(dir)
		return target{}, err
	}
	t := target{addr: pc.addr, host: pc.host,
		stop: func() { hap.Process.Kill(); hap.Wait(); os.RemoveAll(dir) }}
	if err := waitPort(t.addr, 90*time.Second); err != nil {
		t.stop()
		return target{}, err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{ServerName: t.host, InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", "https://"+t.addr+"/", nil)
	req.Host = t.host
	resp, err := client.Do(req)
	if err != nil {
		t.stop()
		return target{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.stop()
		return target{}, fmt.Errorf("route %s answered %d", t.host, resp.StatusCode)
	}
	return t, nil
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
