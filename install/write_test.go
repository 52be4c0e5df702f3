package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type set struct {
	main string
	aux  []File
}

func files(main string, aux ...string) set {
	s := set{main: main}
	for i := 0; i+1 < len(aux); i += 2 {
		s.aux = append(s.aux, File{Name: aux[i], Data: []byte(aux[i+1])})
	}
	return s
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func check(t *testing.T, text string) Checker {
	t.Helper()
	c, err := ParseCheck(text)
	if err != nil {
		t.Fatal(err)
	}
	return CommandCheck(c, 10*time.Second)
}

func TestWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		before  map[string]string // existing files
		set     set
		check   string
		mode    Mode
		changed bool
		errIs   error
		after   map[string]string
	}{
		{
			name:    "new set: config and maps",
			set:     files("cfg1\n", "out.a.map", "a1\n", "out.b.map", "b1\n"),
			changed: true,
			after:   map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n", "out.b.map": "b1\n"},
		},
		{
			name:    "same bytes: nothing written",
			before:  map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n"},
			set:     files("cfg1\n", "out.a.map", "a1\n"),
			changed: false,
			after:   map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n"},
		},
		{
			name:    "only a map changed: written",
			before:  map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a1\n"},
			set:     files("cfg1\n", "out.a.map", "a2\n"),
			changed: true,
			after:   map[string]string{"out.cfg": "cfg1\n", "out.a.map": "a2\n"},
		},
		{
			name:    "check sees the staged set and passes",
			before:  map[string]string{"out.cfg": "old\n"},
			set:     files("include out.a.map\n", "out.a.map", "new\n"),
			check:   `grep -q new {{.Dir}}/out.a.map && grep -q include {{.File}}`,
			changed: true,
			after:   map[string]string{"out.cfg": "include out.a.map\n", "out.a.map": "new\n"},
		},
		{
			name:   "failed check keeps the old set",
			before: map[string]string{"out.cfg": "old\n", "out.a.map": "oldmap\n"},
			set:    files("bad\n", "out.a.map", "newmap\n"),
			check:  `echo "line 3: bad directive" >&2; exit 1`,
			errIs:  ErrCheck,
			after:  map[string]string{"out.cfg": "old\n", "out.a.map": "oldmap\n"},
		},
		{
			name:    "inplace keeps the inode",
			before:  map[string]string{"out.cfg": "old content that is longer\n"},
			set:     files("new\n"),
			mode:    ModeInplace,
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
			opts := Options{Mode: tt.mode}
			if tt.check != "" {
				opts.Check = check(t, tt.check)
			}
			changed, err := Write(ctx, dest, []byte(tt.set.main), tt.set.aux, opts)
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
				if tt.mode == ModeInplace && ino(fi) != inode {
					t.Errorf("inplace write changed the inode")
				}
				cfgChanged := tt.before["out.cfg"] != tt.after["out.cfg"]
				if tt.mode != ModeInplace && cfgChanged && ino(fi) == inode {
					t.Errorf("rename write kept the inode")
				}
				if !cfgChanged && ino(fi) != inode {
					t.Errorf("an unchanged config was written again (new inode) beside a changed map")
				}
			}
		})
	}
}

// TestWriteToADirectory: -o somedir and -o somedir/ both say "is a
// directory" and write nothing, even when somedir/somedir already holds the
// bytes (the unchanged shortcut must not hide the mistake), and -o newdir/
// (no such directory yet) too.
func TestWriteToADirectory(t *testing.T) {
	dir := t.TempDir()
	somedir := filepath.Join(dir, "somedir")
	os.Mkdir(somedir, 0o755)
	os.WriteFile(filepath.Join(somedir, "somedir"), []byte("x"), 0o644)
	for _, dest := range []string{somedir, somedir + "/", filepath.Join(dir, "newdir") + "/"} {
		changed, err := Write(context.Background(), dest, []byte("x"), []File{{Name: "somedir.a.map", Data: []byte("m")}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "is a directory") || changed {
			t.Errorf("Write(%q) = %v, %v; want 'is a directory'", dest, changed, err)
		}
	}
	entries, _ := os.ReadDir(somedir)
	if len(entries) != 1 {
		t.Errorf("somedir holds %d entries, want only the old file", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "newdir")); err == nil {
		t.Error("newdir/ was created")
	}
}

// TestStageReadableByOthers: a check in another container may run as
// another user; the staging directory must let it in.
func TestStageReadableByOthers(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "haproxy.cfg")
	var mode os.FileMode
	check := func(_ context.Context, file, dir string) error {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		mode = fi.Mode().Perm()
		return nil
	}
	if _, err := Write(context.Background(), dest, []byte("x"), nil, Options{Check: check}); err != nil {
		t.Fatal(err)
	}
	if mode&0o005 != 0o005 {
		t.Errorf("staging directory mode %v: others cannot enter and list it", mode)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeRename, "rename": ModeRename, "inplace": ModeInplace} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("copy"); err == nil {
		t.Error("ParseMode(copy) accepted")
	}
}

func TestParseCheck(t *testing.T) {
	if _, err := ParseCheck("haproxy -c -f {{.File}} && ls {{.Dir}}"); err != nil {
		t.Error(err)
	}
	if _, err := ParseCheck("haproxy -c -f {{.Staged}}"); err == nil {
		t.Error("unknown variable accepted")
	}
}

// TestRemoveStale: staging directories of a killed run are removed; other
// files, and other outputs' staging directories, are left alone.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "haproxy.cfg")
	for _, d := range []string{".haproxy.cfg.stage-123", ".haproxy.cfg.stage-abc", ".other.cfg.stage-1"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
		os.WriteFile(filepath.Join(dir, d, "haproxy.cfg"), []byte("x"), 0o644)
	}
	os.WriteFile(dest, []byte("live"), 0o644)
	removed, err := RemoveStale(dest)
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v, err %v; want the 2 stage dirs of haproxy.cfg", removed, err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != ".other.cfg.stage-1 haproxy.cfg" {
		t.Errorf("left %v", left)
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing", "x.cfg")); err != nil || removed != nil {
		t.Errorf("missing dir: %v, %v", removed, err)
	}
}

func TestMountedAt(t *testing.T) {
	info := []byte("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
		"35 22 8:1 /srv/haproxy.cfg /etc/haproxy/haproxy.cfg rw - ext4 /dev/sda1 rw\n" +
		"36 22 8:1 /x /mnt/with\\040space rw - ext4 /dev/sda1 rw\n")
	for path, want := range map[string]bool{
		"/etc/haproxy/haproxy.cfg": true, "/mnt/with space": true, "/etc/haproxy": false, "/": true, "/etc": false,
	} {
		if got := mountedAt(info, path); got != want {
			t.Errorf("mountedAt(%q) = %v, want %v", path, got, want)
		}
	}
}
