package compile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func rendered(main string, files ...string) *Rendered {
	r := &Rendered{Main: []byte(main)}
	for i := 0; i+1 < len(files); i += 2 {
		r.Files = append(r.Files, AuxFile{Name: files[i], Data: []byte(files[i+1])})
	}
	return r
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		before  map[string]string // existing files
		r       *Rendered
		opts    WriteOptions
		changed bool
		errIs   error
		after   map[string]string
	}{
		{
			name:    "new set: config and maps",
			r:       rendered("cfg1\n", "out.a.map", "a1\n", "out.b.map", "b1\n"),
			changed: true,
			after:   map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n", "out.b.map": "b1\n"},
		},
		{
			name:    "same bytes: nothing written",
			before:  map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n"},
			r:       rendered("cfg1\n", "out.a.map", "a1\n"),
			changed: false,
			after:   map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n"},
		},
		{
			name:    "only a map changed: written",
			before:  map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n"},
			r:       rendered("cfg1\n", "out.a.map", "a2\n"),
			changed: true,
			after:   map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a2\n"},
		},
		{
			name:    "check sees the staged set and passes",
			before:  map[string]string{"out.cfg": "old\n"},
			r:       rendered("include out.a.map\n", "out.a.map", "new\n"),
			opts:    WriteOptions{Check: `grep -q new {{.Dir}}/out.a.map && grep -q include {{.File}}`},
			changed: true,
			after:   map[string]string{"out.cfg": "include out.a.map\n", "out.a.map": "new\n"},
		},
		{
			name:   "failed check keeps the old set",
			before: map[string]string{"out.cfg": "old\n", "out.a.map": "oldmap\n"},
			r:      rendered("bad\n", "out.a.map", "newmap\n"),
			opts:   WriteOptions{Check: `echo "line 3: bad directive" >&2; exit 1`},
			errIs:  ErrCheck,
			after:  map[string]string{"out.cfg": "old\n", "out.a.map": "oldmap\n"},
		},
		{
			name:    "inplace keeps the inode",
			before:  map[string]string{"out.cfg": "old\n"},
			r:       rendered("new\n"),
			opts:    WriteOptions{Mode: ModeInplace},
			changed: true,
			after:   map[string]string{"out.cfg": "new\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.before {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			dest := filepath.Join(dir, "out.cfg")
			var inode uint64
			if fi, err := os.Stat(dest); err == nil {
				inode = ino(fi)
			}
			changed, err := Write(ctx, dest, tt.r, tt.opts)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) {
					t.Fatalf("err = %v, want %v", err, tt.errIs)
				}
				if !strings.Contains(err.Error(), "bad directive") {
					t.Errorf("error does not carry the check's output: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			for name, want := range tt.after {
				if got := readFile(t, filepath.Join(dir, name)); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tt.after) {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v, want only %d files (no staging leftovers)", names, len(tt.after))
			}
			fi, err := os.Stat(dest)
			if err == nil && tt.before["out.cfg"] != "" {
				if fi.Mode().Perm() != 0o640 {
					t.Errorf("mode %v, want the old file's 0640", fi.Mode().Perm())
				}
				if tt.opts.Mode == ModeInplace && ino(fi) != inode {
					t.Errorf("inplace write changed the inode")
				}
				if tt.opts.Mode != ModeInplace && tt.changed && ino(fi) == inode {
					t.Errorf("rename write kept the inode")
				}
			}
		})
	}
}

func TestParseWriteMode(t *testing.T) {
	for in, want := range map[string]WriteMode{"": ModeRename, "rename": ModeRename, "inplace": ModeInplace} {
		if got, err := ParseWriteMode(in); err != nil || got != want {
			t.Errorf("ParseWriteMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseWriteMode("copy"); err == nil {
		t.Error("ParseWriteMode(copy) accepted")
	}
}

func TestExpandCommandQuotes(t *testing.T) {
	tests := []struct{ cmd, file, want string }{
		{"haproxy -c -f {{.File}}", "/etc/haproxy/h.cfg", "haproxy -c -f /etc/haproxy/h.cfg"},
		{"check {{.File}}", "/tmp/a b/x.cfg", "check '/tmp/a b/x.cfg'"},
		{"check {{.File}}", "/tmp/it's;rm", `check '/tmp/it'\''s;rm'`},
	}
	for _, tt := range tests {
		got, err := ExpandCommand(tt.cmd, map[string]string{"File": tt.file})
		if err != nil || got != tt.want {
			t.Errorf("ExpandCommand(%q, %q) = %q, %v; want %q", tt.cmd, tt.file, got, err, tt.want)
		}
	}
	if _, err := ExpandCommand("x {{.Nope}}", map[string]string{"File": "f"}); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestRunShell(t *testing.T) {
	out, err := RunShell(context.Background(), "echo hello; echo oops >&2", time.Second)
	if err != nil || !strings.Contains(string(out), "hello") || !strings.Contains(string(out), "oops") {
		t.Fatalf("out %q, err %v", out, err)
	}
	_, err = RunShell(context.Background(), "echo partial; exit 3", time.Second)
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "partial") {
		t.Fatalf("err = %v, want a CommandError with the output", err)
	}
	// A command that outlives its timeout is killed with its children.
	_, err = RunShell(context.Background(), "sleep 30 & sleep 30", 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a time-out", err)
	}
}
