package render

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/source"
)

// serverLine is the only shape a server line of the built-in haproxy
// template may have: a validated name, an IP (bracketed when IPv6) and a
// port, then the template's own options.
var serverLine = regexp.MustCompile(`^    server [A-Za-z0-9][A-Za-z0-9._:-]* (\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}( [a-z0-9 -]+)?$`)

// handoffLine is the server line of the backend that hands a shared
// port's ClientHellos to the https frontend.
var handoffLine = regexp.MustCompile(`^    server https abns@rproxy-gen-https-\d{1,5}(-[A-Za-z0-9._-]+)? send-proxy-v2$`)

// FuzzSnapshotRender feeds arbitrary snapshots through the whole one-shot
// path: decode, FromInspect, Build (with a certificate directory, so https
// entries count). Whatever a container says, the model is valid, and the
// rendered haproxy config holds only text the template wrote and tokens the
// model validated: printable lines (in the auxiliary files too), one backend
// line per backend (routes, redirects, hand-overs of shared ports), one
// server line (of the strict shape) per server. Where haproxy is installed,
// the config also passes haproxy -c.
func FuzzSnapshotRender(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "testdata", "example.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	swarmSnap, err := os.ReadFile(filepath.Join("..", "testdata", "swarm.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(swarmSnap)
	for _, s := range []string{
		`[]`,
		`[{"Id":"a","Name":"/x\nserver EVIL 1.2.3.4:80","Created":"2026-01-01T00:00:00Z","State":{"Running":true},"Config":{"Env":["RPROXY=http://a.com/\nx"]},"NetworkSettings":{"Networks":{"n":{"IPAddress":"::1%lo]:80 x\n    server EVIL 1.2.3.4:80"}}}}]`,
		`[{"Id":"b","Name":"/y","State":{"Running":true},"Config":{"Env":["RPROXY=tcp://a:22,http://` + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61) + `"]},"NetworkSettings":{"Networks":{"n":{"IPAddress":"10.0.0.1"}}}}]`,
		`[{"Id":"c","Name":"/` + strings.Repeat("n", 250) + `","State":{"Running":true},"Config":{"Env":["RPROXY=http://a.com"]},"NetworkSettings":{"Networks":{"n":{"IPAddress":"10.0.0.1"}}}}]`,
		`[{"Id":"d"},{}]`, `{"a":1}`, `[1,2]`, `nope`,
		`[{"Id":"e","Name":"/s","State":{"Running":true},"Config":{"Env":["RPROXY=https://a.example.com?to=3000,tls://m.example.com,https://b.example.com:8443/x?redirect=8080&to=81,tcp://d:5432?to=1"]},"NetworkSettings":{"Networks":{"n":{"IPAddress":"10.0.0.2"}}}}]`,
		`[{"Id":"f","Name":"/i","State":{"Running":true},"Config":{"Env":["RPROXY=https://a.com?to=80%0A%20server%20x,https://a.com?redirect=80;x,tls://a.com?to=1&to=2,https://a.com?REDIRECT=OFF&To=0443"]},"NetworkSettings":{"Networks":{"n":{"IPAddress":"10.0.0.3"}}}}]`,
		`{"services":[{"ID":"s","Spec":{"Name":"w\nserver EVIL 1.2.3.4:80","Labels":{"rproxy":"http://a.com"}}}],"tasks":[{"ID":"t","ServiceID":"s","NodeID":"n\nx","DesiredState":"running","Status":{"State":"running"},"NetworksAttachments":[{"Network":{"Spec":{"Name":"n"}},"Addresses":["10.0.0.1/24\n    server EVIL 1.2.3.4:80"]},{"Network":{"Spec":{"Name":"m"}},"Addresses":["10.0.0.2/24"]}]}]}`,
	} {
		f.Add([]byte(s))
	}
	haproxy, _ := exec.LookPath("haproxy")
	if testing.Short() {
		haproxy = ""
	}
	tmpl, err := Load("haproxy")
	if err != nil {
		f.Fatal(err)
	}
	stream, err := Load("nginx-stream")
	if err != nil {
		f.Fatal(err)
	}
	// A certificate directory with real files, so haproxy -c can load them.
	certs := goldenCerts()
	certs.Dir = f.TempDir()
	ca := tlstest.NewCA(f)
	for _, c := range certs.Files {
		ca.Leaf(f, c.Names...).WriteFile(f, certs.Dir, c.File)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := source.ReadSnapshot(data)
		if err != nil {
			return
		}
		m := model.Build(cs, model.Options{Certs: certs})
		if err := m.Validate(); err != nil {
			t.Fatalf("Build made an invalid model: %v", err)
		}
		r, err := tmpl.Render(m, "haproxy")
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if _, err := stream.Render(m, "stream"); err != nil {
			t.Fatalf("render nginx-stream: %v", err)
		}
		backends, servers := len(RedirectBackends(m))+len(SharedTLSPorts(m)), len(SharedTLSPorts(m))
		for _, b := range Backends(m) {
			backends++
			servers += len(b.Servers)
		}
		for _, f := range r.Files {
			for _, c := range string(f.Data) {
				if (c < ' ' || c > '~') && c != '\n' {
					t.Fatalf("non-printable %q in %s", c, f.Name)
				}
			}
		}
		gotBackends, gotServers := 0, 0
		sc := bufio.NewScanner(bytes.NewReader(r.Main))
		for sc.Scan() {
			line := sc.Text()
			for _, c := range line {
				if c < ' ' || c > '~' {
					t.Fatalf("non-printable %q in line %q", c, line)
				}
			}
			switch {
			case strings.HasPrefix(line, "backend "):
				gotBackends++
			case strings.HasPrefix(line, "    server "):
				gotServers++
				if !serverLine.MatchString(line) && !handoffLine.MatchString(line) {
					t.Fatalf("server line of an unexpected shape: %q", line)
				}
			}
		}
		if gotBackends != backends || gotServers != servers {
			t.Fatalf("%d backend and %d server lines for %d backends and %d servers", gotBackends, gotServers, backends, servers)
		}
		if haproxy == "" {
			return
		}
		if err := installChecked(filepath.Join(t.TempDir(), "haproxy.cfg"), r, haproxy+" -c -q -f {{.File}}"); err != nil {
			t.Fatalf("haproxy -c refused the config of a valid model: %v", err)
		}
	})
}
