package dockertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/rproxy-gen/rproxy-gen/internal/proxytest"
)

// haproxyDockerfile builds a stand-in for the official haproxy:2.6 image,
// which cannot be pulled here: Debian's haproxy binary and the libraries it
// links, at the official image's paths, with its command and stop signal.
const haproxyDockerfile = `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
`

// BuildHAProxyImage builds, on the daemon behind cli, a stand-in for the
// official haproxy:2.6 image tagged tag: FROM scratch, with Debian's
// /usr/sbin/haproxy as /usr/local/sbin/haproxy and every library `ldd`
// lists at its path, the official image's config path
// /usr/local/etc/haproxy/haproxy.cfg, its command (haproxy -W -db -f that
// file) and its stop signal (SIGUSR1). The image has no shell. It is
// removed when the test ends. Without haproxy the test is skipped, or fails
// under CI.
func BuildHAProxyImage(t testing.TB, cli *client.Client, tag string) {
	t.Helper()
	bin := proxytest.NeedHAProxy(t)
	bin, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := linkedLibraries(bin)
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	files := []File{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(haproxyDockerfile)},
		{Name: "rootfs/usr/local/etc/haproxy/.keep", Mode: 0o644},
		// The official image's users: root, and haproxy (99) it runs as.
		{Name: "rootfs/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nhaproxy:x:99:99::/var/lib/haproxy:/usr/sbin/nologin\n")},
		{Name: "rootfs/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nhaproxy:x:99:\n")},
	}
	add := func(from, to string, mode int64) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatalf("stand-in haproxy image: %v", err)
		}
		files = append(files, File{Name: "rootfs" + to, Mode: mode, Data: data})
	}
	add(bin, "/usr/local/sbin/haproxy", 0o755)
	for _, l := range libs {
		add(l, l, 0o755)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := BuildImage(ctx, cli, tag, map[string]string{OwnerLabel: owner()}, files); err != nil {
		t.Fatalf("stand-in haproxy image: %v", err)
	}
	t.Cleanup(func() { RemoveImage(t, cli, tag) })
	t.Logf("dockertest: built the haproxy stand-in %s (%d libraries) in %v", tag, len(libs), time.Since(start).Round(time.Millisecond))
}

// RemoveImage removes the image tag from the daemon behind cli (forced),
// logging failures.
func RemoveImage(t testing.TB, cli *client.Client, tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !isNotFound(err) {
		t.Logf("dockertest: removing image %s: %v", tag, err)
	}
}

// linkedLibraries lists the shared libraries (and the loader) that ldd
// says bin needs, as absolute paths.
func linkedLibraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, err
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)"; vdso has no file.
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		case len(f) >= 2 && f[1] == "=>" && !strings.HasPrefix(f[0], "linux-vdso"):
			return nil, fmt.Errorf("library %s not found", f[0])
		}
	}
	return libs, sc.Err()
}

// TestBackendBinary returns the static test backend binary (see
// internal/testbackend) that TestImage holds, compiled once per process,
// for images built by other means (podman build).
func TestBackendBinary(t testing.TB) []byte {
	t.Helper()
	binOnce.Do(compileBackend)
	if binErr != nil {
		t.Fatalf("building the test backend: %v", binErr)
	}
	return binData
}
