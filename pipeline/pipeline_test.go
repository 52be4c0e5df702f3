package pipeline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/install"
	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/notify"
	"github.com/rproxy-gen/rproxy-gen/render"
	"github.com/rproxy-gen/rproxy-gen/shell"
)

// testModel builds a model from containers given as name → RPROXY.
func testModel(pairs ...string) *model.Model {
	var cs []model.Container
	for i := 0; i+1 < len(pairs); i += 2 {
		cs = append(cs, model.Container{ID: strings.Repeat(string(rune('a'+i/2)), 64), Name: pairs[i], Running: true,
			Created: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC), RProxy: pairs[i+1],
			Networks: []model.Network{{Name: "bridge", IP: "10.0.0." + string(rune('2'+i/2))}}})
	}
	return model.Build(cs, model.Options{})
}

func tmpl(t *testing.T, text string) *render.Template {
	t.Helper()
	tt, err := render.Parse("t", text)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

// routesTmpl prints one line per http route.
const routesTmpl = "{{range routes .}}{{.Host}}{{.Path}} {{len .Servers}}\n{{end}}"

func newLog() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func TestApply(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.cfg")
	log, logs := newLog()
	var stdout bytes.Buffer
	notified := filepath.Join(dir, "notified")
	cmd, _ := notify.ParseCommand("echo {{.File}} >> " + shell.Quote(notified))
	n := notify.New(notify.Config{Log: log})
	p := New(Config{
		Outputs: []*Output{
			{Template: tmpl(t, routesTmpl), Dest: dest, Notify: cmd},
			{Template: tmpl(t, "bind={{.Bind}}\n"), Bind: "127.0.0.9"},
		},
		Stdout: &stdout, Notifier: n, Log: log,
	})
	ctx := context.Background()
	m := testModel("a", "http://a.example.com", "bad", "htp://typo")
	rep, err := p.Apply(ctx, m, "test")
	if err != nil || rep.Failed() != 0 || rep.NotifyErr != nil {
		t.Fatalf("Apply: %v %+v", err, rep)
	}
	if got, _ := os.ReadFile(dest); string(got) != "a.example.com/ 1\n" {
		t.Errorf("dest = %q", got)
	}
	if stdout.String() != "bind=127.0.0.9\n" {
		t.Errorf("stdout output with its own bind = %q", stdout.String())
	}
	if got, _ := os.ReadFile(notified); string(got) != dest+"\n" {
		t.Errorf("notify ran %q", got)
	}
	if !strings.Contains(logs.String(), `msg="RPROXY entry skipped" container=bad entry=htp://typo`) {
		t.Errorf("skipped entry not logged:\n%s", logs)
	}
	if len(rep.Diff.RoutesAdded) != 1 {
		t.Errorf("diff %+v", rep.Diff)
	}

	// The same model again: nothing written, nothing notified, the
	// skipped entry is not logged a second time.
	logs.Reset()
	rep, err = p.Apply(ctx, testModel("a", "http://a.example.com", "bad", "htp://typo"), "again")
	if err != nil || rep.Results[0].Changed {
		t.Fatalf("unchanged model: %v %+v", err, rep.Results[0])
	}
	if got, _ := os.ReadFile(notified); string(got) != dest+"\n" {
		t.Errorf("notify ran again for an unchanged file: %q", got)
	}
	if strings.Contains(logs.String(), "RPROXY entry skipped") {
		t.Errorf("the same skipped entry was logged twice:\n%s", logs)
	}
}

func TestApplyRefuses(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.cfg")
	os.WriteFile(dest, []byte("last good\n"), 0o644)
	log, logs := newLog()
	p := New(Config{Outputs: []*Output{{Template: tmpl(t, routesTmpl), Dest: dest}}, Strict: true, Log: log})
	_, err := p.Apply(context.Background(), testModel("bad", "htp://typo"), "strict")
	if err == nil || !strings.Contains(err.Error(), "--strict: 1 RPROXY entries skipped") {
		t.Errorf("strict: err = %v", err)
	}
	if !strings.Contains(logs.String(), "container=bad") {
		t.Errorf("strict refused without logging the entry first:\n%s", logs)
	}
	invalid := &model.Model{Version: model.Version, Stats: model.Stats{Addr: "nonsense"}}
	if _, err := p.Apply(context.Background(), invalid, "invalid"); err == nil || !strings.Contains(err.Error(), "invalid model") {
		t.Errorf("invalid model: err = %v", err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "last good\n" {
		t.Errorf("a refused model touched the file: %q", got)
	}
}

// TestApplyOutputsFailAlone: a failing check (or template) fails its own
// output only; the others are written and notified.
func TestApplyOutputsFailAlone(t *testing.T) {
	dir := t.TempDir()
	good, bad, broken := filepath.Join(dir, "good.cfg"), filepath.Join(dir, "bad.cfg"), filepath.Join(dir, "broken.cfg")
	refuse := func(ctx context.Context, file, dir string) error {
		return &shell.Error{Command: "check", Err: os.ErrInvalid}
	}
	log, _ := newLog()
	p := New(Config{Outputs: []*Output{
		{Template: tmpl(t, routesTmpl), Dest: good},
		{Template: tmpl(t, routesTmpl), Dest: bad, Check: refuse},
		{Template: tmpl(t, "{{.Nope}}"), Dest: broken},
	}, Log: log})
	rep, err := p.Apply(context.Background(), testModel("a", "http://a.example.com"), "test")
	if err != nil || rep.Failed() != 2 {
		t.Fatalf("err %v, %d failed; want 2", err, rep.Failed())
	}
	if _, err := os.Stat(good); err != nil {
		t.Errorf("the good output was not written: %v", err)
	}
	for _, f := range []string{bad, broken} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s written", f)
		}
	}
	if !errors.Is(rep.Results[1].Err, install.ErrCheck) {
		t.Errorf("check failure: %v", rep.Results[1].Err)
	}
}

// TestReloadTemplates: an edited template file is adopted only when it
// renders the current model; a template that parses but fails on the model
// keeps the previous version (the bug: it replaced the good one and blocked
// every update until fixed).
func TestReloadTemplates(t *testing.T) {
	dir := t.TempDir()
	path, dest := filepath.Join(dir, "my.tmpl"), filepath.Join(dir, "out.cfg")
	os.WriteFile(path, []byte(routesTmpl), 0o644)
	tt, err := render.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLog()
	p := New(Config{Outputs: []*Output{{Template: tt, Dest: dest}}, Log: log})
	if got := p.TemplatePaths(); len(got) != 1 || got[0] != path {
		t.Fatalf("TemplatePaths = %v", got)
	}
	ctx := context.Background()
	if _, err := p.Apply(ctx, testModel("a", "http://a.example.com"), "start"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("{{range .HTTP}}{{.NoSuchField}}{{end}}"), 0o644) // parses, fails on this model
	if p.ReloadTemplates() {
		t.Fatal("a template that fails on the current model was adopted")
	}
	if !strings.Contains(logs.String(), "template not adopted") || !strings.Contains(logs.String(), "NoSuchField") {
		t.Errorf("refusal not logged with its reason:\n%s", logs)
	}
	rep, err := p.Apply(ctx, testModel("a", "http://a.example.com", "b", "http://b.example.com"), "event")
	if err != nil || rep.Failed() != 0 {
		t.Fatalf("the previous template stopped working: %v %+v", err, rep)
	}
	if got, _ := os.ReadFile(dest); !strings.Contains(string(got), "b.example.com/ 1") {
		t.Errorf("dest = %q", got)
	}
	os.WriteFile(path, []byte("routes={{len (routes .)}}\n"), 0o644)
	if !p.ReloadTemplates() {
		t.Fatal("a good template was not adopted")
	}
	if _, err := p.Apply(ctx, testModel("a", "http://a.example.com", "b", "http://b.example.com"), "templates"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "routes=2\n" {
		t.Errorf("dest = %q", got)
	}
}

// TestNewRemovesStaleStages: staging directories left by a killed run are
// removed when the pipeline is made.
func TestNewRemovesStaleStages(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "haproxy.cfg")
	stale := filepath.Join(dir, ".haproxy.cfg.stage-12345")
	os.MkdirAll(stale, 0o755)
	log, logs := newLog()
	New(Config{Outputs: []*Output{{Template: tmpl(t, "x"), Dest: dest}}, Log: log})
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale staging directory left")
	}
	if !strings.Contains(logs.String(), stale) {
		t.Errorf("removal not logged:\n%s", logs)
	}
}

func TestWarnStreamOnly(t *testing.T) {
	stream, err := render.Load("nginx-stream")
	if err != nil {
		t.Fatal(err)
	}
	hap, _ := render.Load("haproxy")
	m := testModel("a", "http://a.example.com")
	for _, tc := range []struct {
		outs []*Output
		warn bool
	}{
		{[]*Output{{Template: stream}}, true},
		{[]*Output{{Template: stream}, {Template: hap, Dest: filepath.Join(t.TempDir(), "h.cfg")}}, false},
	} {
		log, logs := newLog()
		p := New(Config{Outputs: tc.outs, Stdout: new(bytes.Buffer), Log: log})
		p.Apply(context.Background(), m, "x")
		p.Apply(context.Background(), m, "y")
		if got := strings.Count(logs.String(), "http routes are not rendered"); got != map[bool]int{true: 1, false: 0}[tc.warn] {
			t.Errorf("%d outputs: warned %d times", len(tc.outs), got)
		}
	}
}
