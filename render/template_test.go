package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "my.tmpl")
	os.WriteFile(path, []byte("ports={{len .HTTP}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.tmpl"), []byte("{{ if }}"), 0o644)
	tests := []struct {
		arg, wantErr string
		builtin      bool
	}{
		{arg: "haproxy", builtin: true},
		{arg: path},
		{arg: "nope", wantErr: "not built in"},
		{arg: filepath.Join(dir, "broken.tmpl"), wantErr: "parse template"},
	}
	for _, tt := range tests {
		tmpl, err := Load(tt.arg)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load(%q) err = %v, want %q", tt.arg, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Load(%q): %v", tt.arg, err)
		}
		if (tmpl.Path == "") != tt.builtin {
			t.Errorf("Load(%q): Path = %q", tt.arg, tmpl.Path)
		}
	}
}

func TestRenderAuxFilesAndErrors(t *testing.T) {
	m := &model.Model{Version: 1, Stats: model.Stats{Addr: ":1"},
		TCP: []model.TCPPort{{Port: 22, Backend: "tcp_22", Names: []string{"ssh"}}}}
	tests := []struct {
		name, text, wantErr string
		wantMain            string
		wantFiles           []string
	}{
		{
			name:      "file blocks become auxiliary files named after the stem",
			text:      `map={{file "ports.map"}}{{define "file:ports.map"}}{{range .TCP}}{{.Port}} {{.Backend}}{{end}}{{end}}`,
			wantMain:  "map=out.ports.map",
			wantFiles: []string{"out.ports.map=22 tcp_22"},
		},
		{
			name:      "a file block that renders nothing is left out; a line end is content",
			text:      `{{define "file:none.map"}}{{if .HTTPS}}x{{end}}{{end}}{{define "file:nl.map"}}{{"\n"}}{{end}}main`,
			wantMain:  "main",
			wantFiles: []string{"out.nl.map=\n"},
		},
		{name: "missing keys are errors", text: "{{.Nope}}", wantErr: "Nope"},
		{name: "missing map keys are errors", text: `{{ $m := dict "a" 1 }}{{ $m.b }}`, wantErr: "map has no entry"},
		{name: "aux file names are plain", text: `{{define "file:../x"}}x{{end}}`, wantErr: "plain file name"},
		{name: "sprig and helpers", text: `{{ upper "a" }} {{ ident "a b/c" }} {{ listen "::1" 80 }} {{ listen "" 81 }}`, wantMain: "A a_b_c [::1]:80 :81"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse(tt.name, tt.text)
			var r *Rendered
			if err == nil {
				r, err = tmpl.Render(m, "out")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Main) != tt.wantMain {
				t.Errorf("main = %q, want %q", r.Main, tt.wantMain)
			}
			var files []string
			for _, f := range r.Files {
				files = append(files, f.Name+"="+string(f.Data))
			}
			if strings.Join(files, "|") != strings.Join(tt.wantFiles, "|") {
				t.Errorf("files = %q, want %q", files, tt.wantFiles)
			}
		})
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{"/etc/haproxy/haproxy.cfg": "haproxy", "x": "x", "/a/b.c.d": "b.c", "/a/.cfg": ".cfg"} {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}
