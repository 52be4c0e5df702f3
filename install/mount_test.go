package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
	"golang.org/x/sys/unix"
)

// needRoot skips a test that mounts filesystems unless it runs as root; on
// CI (CI=true, as root) it must run.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		proxytest.Missing(t, "this test mounts a tmpfs and a bind mount: run it as root")
	}
}

// mount mounts and unmounts at the test's end.
func mount(t *testing.T, source, target, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		t.Fatalf("mount %s on %s: %v", source, target, err)
	}
	t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })
}

// TestWriteFullDisk writes a bigger config onto a nearly full tmpfs, in both
// modes, with two amounts of free space: less than the new config (staging
// fails), and enough to stage it but not to hold it twice (before the fix,
// inplace then truncated the live file with O_TRUNC and the write failed,
// leaving it cut short). Either way the write fails and the live file keeps
// its old content, byte for byte; with room again the write goes through.
func TestWriteFullDisk(t *testing.T) {
	needRoot(t)
	old := bytes.Repeat([]byte("old config line\n"), 256)                              // 4 KiB
	newCfg := bytes.Repeat([]byte("new config line, longer than the old one\n"), 2000) // 82 KB
	for _, tt := range []struct {
		mode Mode
		free int64
	}{
		{ModeInplace, 40 << 10}, {ModeRename, 40 << 10}, {ModeInplace, int64(len(newCfg)) + 24<<10},
	} {
		t.Run(fmt.Sprintf("%s/free=%dK", tt.mode, tt.free>>10), func(t *testing.T) {
			dir := t.TempDir()
			mount(t, "tmpfs", dir, "tmpfs", 0, "size=512k")
			dest := filepath.Join(dir, "haproxy.cfg")
			if err := os.WriteFile(dest, old, 0o644); err != nil {
				t.Fatal(err)
			}
			fill(t, filepath.Join(dir, "filler"), tt.free)
			_, err := Write(context.Background(), dest, newCfg, nil, Options{Mode: tt.mode})
			if err == nil {
				t.Fatal("a write that does not fit succeeded")
			}
			if !strings.Contains(err.Error(), "no space") {
				t.Errorf("err = %v, want it to say the disk is full", err)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, old) {
				t.Errorf("the live file was damaged: %d bytes, want the old %d", len(got), len(old))
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 2 {
				t.Errorf("left behind: %v", entries)
			}
			os.Remove(filepath.Join(dir, "filler"))
			if _, err := Write(context.Background(), dest, newCfg, nil, Options{Mode: tt.mode}); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, newCfg) {
				t.Errorf("written %d bytes, want %d", len(got), len(newCfg))
			}
		})
	}
}

// fill writes a file that leaves about free bytes available.
func fill(t *testing.T, path string, free int64) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		t.Fatal(err)
	}
	size := int64(st.Bavail)*st.Bsize - free
	if size <= 0 {
		t.Fatalf("only %d bytes free", int64(st.Bavail)*st.Bsize)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWriteSingleFileBindMount: a destination that is a bind mount of one
// file takes a new config in place (rename fails with EBUSY there, so Write
// rewrites it), but a template with map files is refused before anything is
// written, because the maps would land beside the mount point in this mount
// namespace only, never beside the proxy's file.
func TestWriteSingleFileBindMount(t *testing.T) {
	needRoot(t)
	host, inside := t.TempDir(), t.TempDir()
	src := filepath.Join(host, "haproxy.cfg")
	dest := filepath.Join(inside, "haproxy.cfg")
	os.WriteFile(src, []byte("old\n"), 0o644)
	os.WriteFile(dest, nil, 0o644)
	mount(t, src, dest, "", unix.MS_BIND, "")

	if _, err := Write(context.Background(), dest, []byte("new\n"), nil, Options{}); err != nil {
		t.Fatalf("plain config on a single-file mount: %v", err)
	}
	if got := readFile(t, src); got != "new\n" {
		t.Errorf("the mounted file holds %q, want the new config", got)
	}

	_, err := Write(context.Background(), dest, []byte("newer\n"), []File{{Name: "haproxy.http.map", Data: []byte("m\n")}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "mount the directory") || !strings.Contains(err.Error(), "haproxy.http.map") {
		t.Fatalf("err = %v, want a refusal naming the map and saying to mount the directory", err)
	}
	if got := readFile(t, src); got != "new\n" {
		t.Errorf("a refused write changed the mounted file: %q", got)
	}
	if _, err := os.Stat(filepath.Join(inside, "haproxy.http.map")); err == nil {
		t.Error("the map file was written beside the mount point")
	}
}
