package live

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/certs"
	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// TestUncheckedPassesTheCheck holds Unchecked to HAProxy itself: renders
// of the built-in template (with a socket, so with spare backends) that
// add a route of every kind, a replica, a path, or change more, from a
// config HAProxy accepts. Each render Unchecked lets through without the
// check must pass `haproxy -c`, and the common changes must be let
// through.
func TestUncheckedPassesTheCheck(t *testing.T) {
	haproxy := proxytest.NeedHAProxy(t)
	dir := t.TempDir()
	leaf := tlstest.NewCA(t).Leaf(t, "*.example.com", "example.com")
	certDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	leaf.WriteFile(t, certDir, "default.pem")
	found, errs := certs.Load(certDir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// container is a docker inspect object with the given RPROXY and
	// address.
	container := func(name, rproxy, ip string) map[string]any {
		return map[string]any{"Id": fmt.Sprintf("%064x", len(name)*7919+int(ip[len(ip)-1])), "Name": "/" + name,
			"Created": "2026-01-01T00:00:00Z", "State": map[string]any{"Running": true},
			"Config":          map[string]any{"Env": []string{"RPROXY=" + rproxy}},
			"NetworkSettings": map[string]any{"Networks": map[string]any{"bridge": map[string]any{"IPAddress": ip}}}}
	}
	base := []map[string]any{
		container("www", "http://www.example.com", "172.17.0.2"),
		container("app", "https://app.example.com?to=3000", "172.17.0.3"),
		container("mail", "tls://mail.example.com:993", "172.17.0.4"),
		container("db", "tcp://db:5432", "172.17.0.5"),
	}
	tmpl, err := render.Load("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	settings := render.Settings{HAProxySocket: filepath.Join(dir, "admin.sock"), ServerStateFile: filepath.Join(dir, "haproxy.state"), SpareBackends: 2}
	renderOf := func(cs []map[string]any) *render.Rendered {
		t.Helper()
		data, err := json.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := source.ReadSnapshot(data)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tmpl.RenderWith(model.Build(snap, model.Options{Certs: found, StatsAddr: "127.0.0.1:8404"}), "haproxy", settings)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	check := func(r *render.Rendered) error {
		out := filepath.Join(t.TempDir(), "haproxy.cfg")
		aux := make([]install.File, len(r.Files))
		for i, f := range r.Files {
			aux[i] = install.File{Name: f.Name, Data: f.Data}
		}
		if _, err := install.Write(context.Background(), out, r.Main, aux, install.Options{}); err != nil {
			return err
		}
		if b, err := exec.Command(haproxy, "-c", "-q", "-f", out).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, b)
		}
		return nil
	}
	r0 := renderOf(base)
	if err := check(r0); err != nil {
		t.Fatalf("the base config: %v", err)
	}
	for _, tc := range []struct {
		name  string
		added map[string]any
		want  bool
	}{
		{"new http route", container("blog", "http://blog.example.com", "172.17.0.10"), true},
		{"new https route", container("shop", "https://shop.example.com", "172.17.0.11"), true},
		{"new tls route", container("imap", "tls://imap.example.com:993", "172.17.0.12"), true},
		{"new path on a host", container("api", "http://www.example.com/api/", "172.17.0.13"), true},
		{"replica", container("www-2", "http://www.example.com", "172.17.0.14"), true},
		{"https and http route at once", container("two", "https://two.example.com,http://two.example.com", "172.17.0.15"), true},
		{"host with more labels than any", container("deep", "http://a.b.c.www.example.com", "172.17.0.16"), false},
		{"new tcp port", container("cache", "tcp://cache:6379", "172.17.0.17"), false},
		{"new http port", container("alt", "http://alt.example.com:8080", "172.17.0.18"), false},
		{"redirect of a new https port", container("alt2", "https://alt2.example.com:8443", "172.17.0.19"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := renderOf(append(append([]map[string]any{}, base...), tc.added))
			w := &world{}
			w.load(r0)
			a := newApplier(t, w, r0, Config{})
			got := a.Unchecked(next)
			if got != tc.want {
				t.Errorf("Unchecked = %v, want %v", got, tc.want)
			}
			if err := check(next); err != nil {
				t.Errorf("the render does not pass haproxy -c (Unchecked %v): %v", got, err)
			}
		})
	}
}
