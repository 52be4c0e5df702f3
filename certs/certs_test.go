package certs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
	"github.com/rproxy-gen/rproxy-gen/model"
)

func TestLoad(t *testing.T) {
	ca := tlstest.NewCA(t)
	inter := ca.Intermediate(t)
	other := ca.Leaf(t, "other.example.com")
	write := func(dir, name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type file struct {
		name string
		data []byte
	}
	tests := []struct {
		name      string
		files     []file
		links     map[string]string // link name -> target name
		wantFiles []model.CertFile
		wantDef   string
		wantErrs  []string // substrings, one per error, in order
	}{
		{
			name: "default.pem answers the rest; key formats; wildcards; names lowercased and sorted",
			files: []file{
				{"b.pem", ca.Issue(t, tlstest.Spec{Names: []string{"WWW.Example.org", "example.org"}, Format: tlstest.SEC1}).PEM()},
				{"default.pem", ca.Leaf(t, "*.example.com", "example.com").PEM()},
				{"a.pem", ca.Issue(t, tlstest.Spec{Names: []string{"rsa.example.net"}, RSA: true, Format: tlstest.PKCS1}).PEM()},
				{"chain.pem", inter.Leaf(t, "chain.example.com").PEM()},
				{"README", []byte("not a pem")},
				{"notes.txt", []byte("x")},
			},
			wantFiles: []model.CertFile{
				{File: "a.pem", Names: []string{"rsa.example.net"}},
				{File: "b.pem", Names: []string{"example.org", "www.example.org"}},
				{File: "chain.pem", Names: []string{"chain.example.com"}},
				{File: "default.pem", Names: []string{"*.example.com", "example.com"}},
			},
			wantDef: "default.pem",
		},
		{
			name: "without default.pem the first usable file by name; bad files reported and left out",
			files: []file{
				{"0-key-only.pem", other.KeyPEM},
				{"1-cert-only.pem", other.ChainPEM},
				{"2-mismatch.pem", append(append([]byte(nil), other.ChainPEM...), ca.Leaf(t, "x.com").KeyPEM...)},
				{"3-garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")},
				{"4-empty.pem", nil},
				{"5-good.pem", other.PEM()},
				{"bad name.pem", other.PEM()},
				{".hidden.pem", other.PEM()},
			},
			wantFiles: []model.CertFile{{File: "5-good.pem", Names: []string{"other.example.com"}}},
			wantDef:   "5-good.pem",
			wantErrs: []string{
				".hidden.pem: left out: certificate file", "0-key-only.pem: left out: want a certificate chain",
				"1-cert-only.pem: left out: want a certificate chain", "2-mismatch.pem: left out: want a certificate chain",
				"3-garbage.pem: left out", "4-empty.pem: left out", `bad name.pem: left out: certificate file "bad name.pem"`,
			},
		},
		{
			name: "common name when there are no DNS names; bad names left out, file kept",
			files: []file{
				{"cn.pem", ca.Issue(t, tlstest.Spec{CommonName: "CN.Example.com"}).PEM()},
				{"ip.pem", ca.Issue(t, tlstest.Spec{Names: []string{"127.0.0.1"}, CommonName: "ip only"}).PEM()},
				{"odd.pem", ca.Leaf(t, "good.example.com", "bad_name.example.com", "*.com").PEM()},
			},
			wantFiles: []model.CertFile{
				{File: "cn.pem", Names: []string{"cn.example.com"}},
				{File: "ip.pem", Names: nil},
				{File: "odd.pem", Names: []string{"good.example.com"}},
			},
			wantDef: "cn.pem",
			wantErrs: []string{
				`ip.pem: name "ip only" left out`, `odd.pem: name "bad_name.example.com" left out`, `odd.pem: name "*.com" left out`,
			},
		},
		{
			name:      "symbolic links are followed; a directory named .pem is reported",
			files:     []file{{"real.pem.orig", other.PEM()}},
			links:     map[string]string{"link.pem": "real.pem.orig", "dangling.pem": "nope"},
			wantFiles: []model.CertFile{{File: "link.pem", Names: []string{"other.example.com"}}},
			wantDef:   "link.pem",
			wantErrs:  []string{"dangling.pem: left out", "dir.pem: left out: not a regular file"},
		},
		{name: "empty directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				write(dir, f.name, f.data)
			}
			for l, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.links != nil {
				os.Mkdir(filepath.Join(dir, "dir.pem"), 0o755)
			}
			got, errs := Load(dir)
			if got == nil {
				t.Fatalf("Load returned nil: %v", errs)
			}
			if got.Dir != dir {
				t.Errorf("Dir = %q, want %q", got.Dir, dir)
			}
			// Fingerprints are checked apart (TestLoadFingerprint); here
			// every loaded file must have one.
			var files []model.CertFile
			for _, f := range got.Files {
				if len(f.SHA256) != 64 {
					t.Errorf("%s: sha256 %q", f.File, f.SHA256)
				}
				f.SHA256 = ""
				files = append(files, f)
			}
			if !reflect.DeepEqual(files, tt.wantFiles) {
				t.Errorf("Files =\n%+v\nwant\n%+v", files, tt.wantFiles)
			}
			if got.Default != tt.wantDef {
				t.Errorf("Default = %q, want %q", got.Default, tt.wantDef)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("errors %q, want %d matching %q", errs, len(tt.wantErrs), tt.wantErrs)
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.wantErrs[i]) || !strings.Contains(err.Error(), dir) {
					t.Errorf("error %d = %q, want it to name the file and contain %q", i, err, tt.wantErrs[i])
				}
			}
			if err := got.Validate(); err != nil {
				t.Errorf("loaded certificates do not validate: %v", err)
			}
			for _, f := range got.Files {
				data, _ := os.ReadFile(filepath.Join(dir, f.File))
				if strings.Contains(strings.Join(f.Names, " "), "PRIVATE") || len(data) == 0 {
					t.Errorf("unexpected file content for %s", f.File)
				}
			}
		})
	}
}

func TestLoadDirErrors(t *testing.T) {
	base := t.TempDir()
	spaced := filepath.Join(base, "with space")
	if err := os.Mkdir(spaced, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		"missing":       filepath.Join(base, "missing"),
		"unsafe path":   spaced,
		"not directory": "/dev/null",
	} {
		got, errs := Load(dir)
		if got != nil || len(errs) != 1 {
			t.Errorf("%s: Load = %+v, %v; want nil and one error", name, got, errs)
		}
	}
	// A relative directory is made absolute.
	wd, _ := os.Getwd()
	got, errs := Load(".")
	if got == nil || got.Dir != wd || len(errs) != 0 {
		t.Errorf("Load(.) = %+v, %v", got, errs)
	}
}

// TestLoadFeedsBuild: certificates loaded from disk go through Build: https
// routes, covered by exact name or wildcard, the rest listed as uncovered.
func TestLoadFeedsBuild(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.Leaf(t, "*.example.com", "example.com").WriteFile(t, dir, "site.pem")
	c, errs := Load(dir)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	m := model.Build([]model.Container{{
		ID: "0123456789abcdef", Name: "app", Running: true,
		RProxy:   "https://a.example.com?to=3000,https://a.b.example.com,https://example.com/x",
		Networks: []model.Network{{Name: "bridge", IP: "172.17.0.2"}},
	}}, model.Options{Certs: c})
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(m.HTTPS) != 1 || len(m.HTTPS[0].Routes) != 3 || len(m.Warnings) != 0 {
		t.Fatalf("https routes: %+v, warnings %+v", m.HTTPS, m.Warnings)
	}
	if got := m.Certificates.Uncovered; !reflect.DeepEqual(got, []string{"a.b.example.com"}) {
		t.Errorf("uncovered = %q", got)
	}
	if m.Certificates.Default != "site.pem" || m.Certificates.Dir != dir {
		t.Errorf("certificates = %+v", m.Certificates)
	}
}
