package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// helperModel is a small model for the helper tests. Its lists are out of
// order on purpose: the helpers must not rely on Normalize having run.
func helperModel() *model.Model {
	web := []model.Server{{Name: "web-1", Address: "10.0.0.2", Port: 80}, {Name: "web-2", Address: "10.0.0.3", Port: 80}}
	return &model.Model{
		Version: 1, Bind: "127.0.0.1", Stats: model.Stats{Addr: ":1"},
		HTTP: []model.HTTPPort{
			{Port: 8080, Routes: []model.HTTPRoute{{Host: "wiki.example.com", Path: "/", Backend: "b_wiki",
				Servers: []model.Server{{Name: "wiki", Address: "10.0.0.4", Port: 8080}}}}},
			{Port: 80, Routes: []model.HTTPRoute{
				{Host: "api.example.com", Path: "/v2", Backend: "b_api"},
				{Host: "example.com", Path: "/", Backend: "a_web", Servers: web},
			}},
		},
		TCP: []model.TCPPort{
			{Port: 666, Backend: "tcp_666", Names: []string{"doom"}, Servers: []model.Server{{Name: "doom", Address: "fd00::5", Port: 666}}},
			{Port: 22, Backend: "tcp_22", Names: []string{"ssh"}, Servers: []model.Server{{Name: "sshd", Address: "10.5.0.2", Port: 22}}},
		},
	}
}

// tlsHelperModel has https, tls (one port shared with https), redirects and
// certificates, out of order like helperModel.
func tlsHelperModel() *model.Model {
	srv := func(name string) []model.Server {
		return []model.Server{{Name: name, Address: "10.0.1.2", Port: 8443}}
	}
	return &model.Model{
		Version: model.Version, Stats: model.Stats{Addr: ":1"},
		HTTP: []model.HTTPPort{{Port: 80, Redirects: []model.Redirect{
			{Host: "shop.example.org", Path: "/", Backend: "https_redirect_8443", To: 8443},
			{Host: "app.example.com", Path: "/", Backend: "https_redirect_443", To: 443},
			{Host: "www.app.example.com", Path: "/x", Backend: "https_redirect_443", To: 443},
		}}},
		HTTPS: []model.HTTPPort{
			{Port: 8443, Routes: []model.HTTPRoute{{Host: "shop.example.org", Path: "/", Backend: "https_8443_shop.example.org", Servers: srv("shop")}}},
			{Port: 443, Routes: []model.HTTPRoute{
				{Host: "app.example.com", Path: "/api", Backend: "https_443_app.example.com_api"},
				{Host: "app.example.com", Path: "/", Backend: "https_443_app.example.com", Servers: srv("app")},
				{Host: "example.com", Path: "/", Backend: "https_443_example.com"},
			}},
		},
		TLS: []model.TLSPort{
			{Port: 993, Routes: []model.TLSRoute{{Host: "mail.example.com", Backend: "tls_993_mail.example.com", Servers: srv("imap")}}},
			{Port: 443, Routes: []model.TLSRoute{
				{Host: "git.example.com", Backend: "tls_443_git.example.com", Servers: srv("git")},
				{Host: "a.b.c.example.com", Backend: "tls_443_a.b.c.example.com"},
			}},
		},
		Certificates: &model.Certificates{Dir: "/certs", Default: "default.pem", Files: []model.CertFile{
			{File: "a.pem", Names: []string{"app.example.com"}},
			{File: "default.pem", Names: []string{"*.example.com"}},
			{File: "z.pem", Names: []string{"shop.example.org"}},
		}},
	}
}

// render runs text through the template machinery (sprig, helpers,
// missingkey=error) on m and returns the main output and auxiliary files as
// rproxy-gen prints them on stdout.
func render(name, text string, m *model.Model) (string, error) {
	tmpl, err := Parse(name, text)
	if err != nil {
		return "", err
	}
	r, err := tmpl.Render(m, "out")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	r.WriteTo(&buf)
	return buf.String(), nil
}

func TestHelpers(t *testing.T) {
	full, empty, tls := helperModel(), &model.Model{Version: 1}, tlsHelperModel()
	tests := []struct {
		name string
		m    *model.Model
		text string
		want string
	}{
		{"file", full, `{{ file "http.map" }}`, "out.http.map"},
		{"listen IPv4", full, `{{ listen .Bind 80 }}`, "127.0.0.1:80"},
		{"listen IPv6", full, `{{ listen "fd00::5" 666 }}`, "[fd00::5]:666"},
		{"listen all", empty, `{{ listen .Bind 80 }}`, ":80"},
		{"ident", full, `{{ ident "a b/c:d.e-f_g" }} {{ ident "" }} {{ ident "é" }}`, "a_b_c_d.e-f_g _ _"},
		{"maxLabels", full, `{{ maxLabels .HTTP }}`, "3"},
		{"maxLabels empty", empty, `{{ maxLabels .HTTP }}`, "0"},
		{"seq1", full, `{{ seq1 3 }} {{ seq1 0 }} {{ seq1 -2 }}`, "[1 2 3] [] []"},
		{"httpPorts sorted", full, `{{ httpPorts . }}`, "[80 8080]"},
		{"httpPorts empty", empty, `{{ httpPorts . }} {{ len (httpPorts .) }}`, "[] 0"},
		{"tcpPorts sorted", full, `{{ tcpPorts . }}`, "[22 666]"},
		{"tcpPorts empty", empty, `{{ tcpPorts . }}`, "[]"},
		{"routes by port, precedence kept", full,
			`{{ range routes . }}{{ .Port }}:{{ .Host }}{{ .Path }}={{ .Backend }}/{{ len .Servers }} {{ end }}`,
			"80:api.example.com/v2=b_api/0 80:example.com/=a_web/2 8080:wiki.example.com/=b_wiki/1 "},
		{"routes empty", empty, `{{ len (routes .) }}`, "0"},
		{"routesOnPort", full, `{{ range routesOnPort 80 . }}{{ .Host }}{{ .Path }} {{ end }}`, "api.example.com/v2 example.com/ "},
		{"routesOnPort unknown port", full, `{{ len (routesOnPort 81 .) }}`, "0"},
		{"routesOnPort empty", empty, `{{ len (routesOnPort 80 .) }}`, "0"},
		{"backends sorted by name", full,
			`{{ range backends . }}{{ .Name }}:{{ .Scheme }}:{{ .Port }}:{{ len .Servers }} {{ end }}`,
			"a_web:http:80:2 b_api:http:80:0 b_wiki:http:8080:1 tcp_22:tcp:22:1 tcp_666:tcp:666:1 "},
		{"backends empty", empty, `{{ len (backends .) }}`, "0"},
		{"servers http", full, `{{ range servers "a_web" . }}{{ .Name }}={{ listen .Address .Port }} {{ end }}`, "web-1=10.0.0.2:80 web-2=10.0.0.3:80 "},
		{"servers tcp", full, `{{ range servers "tcp_666" . }}{{ .Name }}={{ listen .Address .Port }}{{ end }}`, "doom=[fd00::5]:666"},
		{"servers of a backend without servers", full, `{{ servers "b_api" . }}`, "[]"},
		{"servers unknown backend", full, `{{ len (servers "nope" .) }}`, "0"},
		{"maxLabels counts redirects", tls, `{{ maxLabels .HTTP }} {{ maxLabels .HTTPS }}`, "4 3"},
		{"maxLabels tls and sni", tls, `{{ maxLabels .TLS }} {{ maxLabels (sniRoutes .) }}`, "5 5"},
		{"maxLabels rejects other lists", tls, `{{ maxLabels .TCP }}`, "error: want .HTTP, .HTTPS, .TLS or sniRoutes"},
		{"httpsPorts", tls, `{{ httpsPorts . }}`, "[443 8443]"},
		{"tlsPorts", tls, `{{ tlsPorts . }}`, "[443 993]"},
		{"sharedTLSPorts", tls, `{{ sharedTLSPorts . }}`, "[443]"},
		{"sharedTLSPorts without https", full, `{{ sharedTLSPorts . }}`, "[]"},
		{"sniRoutes: by port, longest host first, https hosts once", tls,
			`{{ range sniRoutes . }}{{ .Port }}:{{ .Host }}={{ if .Terminate }}terminate{{ else }}{{ .Backend }}/{{ len .Servers }}{{ end }} {{ end }}`,
			"443:a.b.c.example.com=tls_443_a.b.c.example.com/0 443:app.example.com=terminate 443:git.example.com=tls_443_git.example.com/1 443:example.com=terminate 993:mail.example.com=tls_993_mail.example.com/1 "},
		{"sniRoutes empty", full, `{{ len (sniRoutes .) }}`, "0"},
		{"redirectBackends once each, by name", tls, `{{ range redirectBackends . }}{{ .Name }}>{{ .To }} {{ end }}`, "https_redirect_443>443 https_redirect_8443>8443 "},
		{"redirectBackends empty", full, `{{ len (redirectBackends .) }}`, "0"},
		{"certFiles: default first", tls, `{{ range certFiles . }}{{ .File }} {{ end }}`, "default.pem a.pem z.pem "},
		{"certFiles without certificates", full, `{{ len (certFiles .) }}`, "0"},
		{"backends of every scheme", tls, `{{ range backends . }}{{ .Scheme }}:{{ .Port }}:{{ .Name }} {{ end }}`,
			"https:443:https_443_app.example.com https:443:https_443_app.example.com_api https:443:https_443_example.com https:8443:https_8443_shop.example.org tls:443:tls_443_a.b.c.example.com tls:443:tls_443_git.example.com tls:993:tls_993_mail.example.com "},
		{"servers of https and tls backends", tls, `{{ range servers "https_8443_shop.example.org" . }}{{ .Name }}{{ end }} {{ range servers "tls_443_git.example.com" . }}{{ .Name }}{{ end }}`, "shop git"},
		{"servers inside range use $", full, `{{ range .TCP }}{{ .Port }}={{ len (servers .Backend $) }} {{ end }}`, "666=1 22=1 "}, // model order
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(tt.name, tt.text, tt.m)
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s\ngot  %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

// TestHelpersNilModel calls every model helper with a nil model and an empty
// one, directly: none may panic, and all return an empty, non-nil list.
func TestHelpersNilModel(t *testing.T) {
	for _, m := range []*model.Model{nil, {}} {
		lists := map[string]any{
			"httpsPorts":       HTTPSPorts(m),
			"tlsPorts":         TLSPorts(m),
			"sharedTLSPorts":   SharedTLSPorts(m),
			"sniRoutes":        SNIRoutes(m),
			"redirectBackends": RedirectBackends(m),
			"certFiles":        CertFiles(m),
			"httpPorts":        HTTPPorts(m),
			"tcpPorts":         TCPPorts(m),
			"routes":           Routes(m),
			"routesOnPort":     RoutesOnPort(80, m),
			"backends":         Backends(m),
			"servers":          Servers("x", m),
			"seq1":             Seq1(0),
		}
		for name, l := range lists {
			v := reflect.ValueOf(l)
			if v.IsNil() || v.Len() != 0 {
				t.Errorf("%s(%v) = %#v, want an empty list", name, m, l)
			}
		}
		if n, err := MaxLabels(nil); n != 0 || err != nil {
			t.Errorf("MaxLabels(nil) = %d, %v", n, err)
		}
	}
}

// TestHelpersDocumented: every helper Funcs adds has a doc example.
func TestHelpersDocumented(t *testing.T) {
	doc := readTemplatesDoc(t)
	var examples strings.Builder
	for _, ex := range docExamples(t, doc) {
		examples.WriteString(ex.tmpl)
	}
	var names []string
	for name := range Funcs("") {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.Contains(doc, "### `"+name+"`") {
			t.Errorf("docs/templates.md has no section ### `%s`", name)
		}
		if !strings.Contains(examples.String(), name+" ") {
			t.Errorf("docs/templates.md has no example using %s", name)
		}
	}
}

// TestDocExamples renders every ```gotemplate block of docs/templates.md
// against the example model given in the doc's first ```yaml block and
// compares the result with the ```text block that follows it (leading and
// trailing newlines aside), so the docs cannot drift from the code. An expected output starting with "error: " is
// the error the template must fail with.
func TestDocExamples(t *testing.T) {
	doc := readTemplatesDoc(t)
	blocks := fencedBlocks(doc)
	var yamlModel string
	for _, b := range blocks {
		if b.lang == "yaml" {
			yamlModel = b.body
			break
		}
	}
	m, err := model.Unmarshal([]byte(yamlModel))
	if err != nil {
		t.Fatalf("the example model of docs/templates.md: %v", err)
	}
	examples := docExamples(t, doc)
	if len(examples) < 10 {
		t.Fatalf("found only %d examples in docs/templates.md", len(examples))
	}
	for _, ex := range examples {
		t.Run(fmt.Sprintf("line %d", ex.line), func(t *testing.T) {
			got, err := render("my.tmpl", ex.tmpl, m)
			if want, ok := strings.CutPrefix(ex.want, "error: "); ok {
				if err == nil || err.Error() != strings.TrimSpace(want) {
					t.Errorf("docs/templates.md:%d: error = %v\nwant error: %s", ex.line, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("docs/templates.md:%d: %v", ex.line, err)
			}
			if strings.Trim(got, "\n") != strings.Trim(ex.want, "\n") {
				t.Errorf("docs/templates.md:%d: the example renders\n%s\nbut the doc says\n%s", ex.line, got, ex.want)
			}
		})
	}
}

func readTemplatesDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "templates.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type fenced struct {
	lang, body string
	line       int // of the opening fence, 1-based
}

// fencedBlocks returns the ``` code blocks of a markdown text in order.
func fencedBlocks(doc string) []fenced {
	var out []fenced
	var cur *fenced
	var body strings.Builder
	for i, line := range strings.Split(doc, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &fenced{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 1}
			body.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.body = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	return out
}

type docExample struct {
	tmpl, want string
	line       int
}

// docExamples pairs each ```gotemplate block with the ```text block right
// after it; a template block without one is an error.
func docExamples(t *testing.T, doc string) []docExample {
	t.Helper()
	blocks := fencedBlocks(doc)
	var out []docExample
	for i, b := range blocks {
		if b.lang != "gotemplate" {
			continue
		}
		if i+1 >= len(blocks) || blocks[i+1].lang != "text" {
			t.Errorf("docs/templates.md:%d: a gotemplate block must be followed by a text block with its output", b.line)
			continue
		}
		out = append(out, docExample{tmpl: strings.TrimSuffix(b.body, "\n"), want: blocks[i+1].body, line: b.line})
	}
	return out
}
