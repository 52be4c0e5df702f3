package watch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rproxy-gen/rproxy-gen/certs"
	"github.com/rproxy-gen/rproxy-gen/internal/tlstest"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/pipeline"
	"github.com/rproxy-gen/rproxy-gen/render"
)

func TestFileWatcherClassify(t *testing.T) {
	dir, certDir := t.TempDir(), t.TempDir()
	tmpl := filepath.Join(dir, "my.tmpl")
	fw, err := newFileWatcher([]string{tmpl}, []string{certDir})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.close()
	tests := []struct {
		name      string
		op        fsnotify.Op
		file, dir bool
	}{
		{tmpl, fsnotify.Write, true, false},
		{tmpl, fsnotify.Create, true, false},
		{tmpl, fsnotify.Rename, true, false},
		{tmpl, fsnotify.Remove, false, false}, // an editor's save removes, then creates
		{tmpl, fsnotify.Chmod, false, false},
		{filepath.Join(dir, "other.tmpl"), fsnotify.Write, false, false},
		{filepath.Join(certDir, "a.pem"), fsnotify.Create, false, true},
		{filepath.Join(certDir, "a.pem"), fsnotify.Write, false, true},
		{filepath.Join(certDir, "a.pem"), fsnotify.Remove, false, true},
		{filepath.Join(certDir, "a.pem"), fsnotify.Rename, false, true},
		{filepath.Join(certDir, "a.pem"), fsnotify.Chmod, false, false},
		{filepath.Join(certDir, "..data"), fsnotify.Create, false, true}, // a Kubernetes secret's swap
		{filepath.Join(certDir, "sub", "x.pem"), fsnotify.Create, false, false},
		{certDir, fsnotify.Remove, false, false},
	}
	for _, tt := range tests {
		file, d := fw.classify(fsnotify.Event{Name: tt.name, Op: tt.op})
		if file != tt.file || d != tt.dir {
			t.Errorf("%s %v: file=%v dir=%v, want %v %v", tt.name, tt.op, file, d, tt.file, tt.dir)
		}
	}
	if _, err := newFileWatcher(nil, []string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing directory is accepted")
	}
	none, err := newFileWatcher(nil, nil)
	if err != nil || none.events() != nil || none.errors() != nil {
		t.Errorf("watching nothing: %v", err)
	}
}

// stubSource is a Source with fixed containers and no events: this test is
// about the files on disk, so neither Docker nor its fake is needed.
type stubSource struct{ cs []model.Container }

func (s stubSource) Events(ctx context.Context, _ time.Time) (<-chan string, <-chan error) {
	ended := make(chan error, 1)
	go func() { <-ctx.Done(); ended <- ctx.Err() }()
	return make(chan string), ended
}
func (stubSource) Sync(context.Context) error              { return nil }
func (stubSource) Refresh(context.Context, []string) error { return nil }
func (s stubSource) Containers() []model.Container         { return s.cs }
func (stubSource) String() string                          { return "stub" }

// TestRunFollowsCertificateDirectory: a certificate added, renewed or
// removed in the watched directory is read again (DirsChanged) and the
// output re-rendered without a restart; SIGHUP reads it again too.
func TestRunFollowsCertificateDirectory(t *testing.T) {
	ca := tlstest.NewCA(t)
	certDir, outDir := t.TempDir(), t.TempDir()
	ca.Leaf(t, "a.example.com").WriteFile(t, certDir, "a.pem")
	log := slog.New(slog.DiscardHandler)
	cd := certs.NewDir(certDir, log)
	if _, err := cd.Reload(); err != nil {
		t.Fatal(err)
	}
	tmpl, err := render.Parse("t", `{{ range certFiles . }}{{ .File }} {{ join "," .Names }} {{ .SHA256 }}
{{ end }}{{ range .HTTPS }}{{ range .Routes }}route {{ .Host }}
{{ end }}{{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(outDir, "out.cfg")
	p := pipeline.New(pipeline.Config{Outputs: []*pipeline.Output{{Template: tmpl, Dest: out}}, Watch: true, Log: log})
	src := stubSource{cs: []model.Container{{ID: strings.Repeat("a", 64), Name: "web", Running: true,
		RProxy: "https://b.example.com?redirect=off", Networks: []model.Network{{Name: "bridge", IP: "10.0.0.2"}}}}}
	var reloads atomic.Int32
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			Source: src,
			Build: func(_ context.Context, cs []model.Container) *model.Model {
				return model.Build(cs, model.Options{Certs: cd.Current()})
			},
			Pipeline: p, Wait: Debounce{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
			Dirs: []string{certDir}, DirsChanged: func() { reloads.Add(1); cd.Reload() },
			Hangup: hup, Log: log,
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitOut := func(what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(out)
			if ok(string(b)) {
				return string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: output is\n%s", what, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	has := func(s string) func(string) bool { return func(o string) bool { return strings.Contains(o, s) } }

	waitOut("first render", has("a.pem a.example.com"))
	if reloads.Load() != 0 {
		t.Errorf("directory read again before any change: %d", reloads.Load())
	}
	ca.Leaf(t, "b.example.com").WriteFile(t, certDir, "b.pem")
	first := waitOut("certificate added", has("b.pem b.example.com"))
	ca.Leaf(t, "b.example.com").WriteFile(t, certDir, "b.pem") // renewed: same names
	waitOut("certificate renewed", func(o string) bool { return has("b.pem b.example.com")(o) && o != first })
	os.Remove(filepath.Join(certDir, "a.pem"))
	waitOut("certificate removed", func(o string) bool { return !strings.Contains(o, "a.pem") })
	if n := reloads.Load(); n < 3 {
		t.Errorf("DirsChanged ran %d times for 3 changes", n)
	}
	before := reloads.Load()
	hup <- os.Interrupt // any value: Run only receives
	deadline := time.Now().Add(5 * time.Second)
	for reloads.Load() == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if reloads.Load() == before {
		t.Error("SIGHUP did not read the directory again")
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "route b.example.com") {
		t.Errorf("the https route is gone:\n%s", b)
	}
}

// FuzzClassify: for any event name and operation, classify reports a file
// change only for a followed file, a directory change only for a direct
// entry of a followed directory, and nothing for a change of permissions
// alone.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/certs/a.pem", "/certs", "/certs/sub/a.pem", "/t/my.tmpl", "/t/../certs/x", "relative.pem", "", "/certs/"} {
		f.Add(s, uint32(fsnotify.Write))
	}
	fw := &fileWatcher{files: map[string]bool{"/t/my.tmpl": true}, dirs: map[string]bool{"/certs": true}}
	f.Fuzz(func(t *testing.T, name string, op uint32) {
		ev := fsnotify.Event{Name: name, Op: fsnotify.Op(op)}
		file, dir := fw.classify(ev)
		abs, err := filepath.Abs(name)
		if err != nil {
			if file || dir {
				t.Fatalf("%q: a change for a name that has no absolute form", name)
			}
			return
		}
		if file && !fw.files[abs] {
			t.Fatalf("%q: file change for a file not followed", name)
		}
		if dir && !fw.dirs[filepath.Dir(abs)] {
			t.Fatalf("%q: directory change outside the followed directories", name)
		}
		if ev.Op == fsnotify.Chmod && (file || dir) {
			t.Fatalf("%q: a change of permissions counts", name)
		}
	})
}
