package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

// TestSidecarImage builds the repository's Dockerfile (offline, FROM
// scratch) and runs the image as the compose example does: unprivileged,
// with the Docker socket and a named volume for the output. It must render
// a container started afterwards into the volume.
func TestSidecarImage(t *testing.T) {
	cli := setup(t)
	ctx := context.Background()
	tag := "rproxy-gen:e2e-" + strconv.Itoa(os.Getpid())
	buildSidecarImage(t, cli, tag)
	img, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.User != "65534:65534" {
		t.Errorf("image runs as %q, want the unprivileged 65534:65534", img.Config.User)
	}

	// The socket of the daemon under test, and its group for read access.
	sock := strings.TrimPrefix(cli.DaemonHost(), "unix://")
	var st syscall.Stat_t
	if err := syscall.Stat(sock, &st); err != nil {
		t.Fatalf("the sidecar test needs a local unix socket: %v", err)
	}
	vol, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: dockertest.UniqueName("haproxy-config"),
		Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.VolumeRemove(context.Background(), vol.Name, true) }) // after the container's removal
	dockertest.StartContainer(t, cli, dockertest.UniqueName("sidecar"),
		&container.Config{Image: tag},
		&container.HostConfig{
			GroupAdd: []string{strconv.Itoa(int(st.Gid))},
			Mounts: []mount.Mount{
				{Type: mount.TypeBind, Source: sock, Target: "/var/run/docker.sock", ReadOnly: true},
				{Type: mount.TypeVolume, Source: vol.Name, Target: "/usr/local/etc/haproxy"},
			},
		})

	app := dockertest.Run(t, cli, dockertest.RunOptions{Name: "app", Env: []string{"RPROXY=http://sidecar.test"}})
	out := filepath.Join(vol.Mountpoint, "haproxy.cfg")
	dockertest.Poll(t, 60*time.Second, "the sidecar renders into the volume", func() error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "server "+app.Name+" ") {
			return fmt.Errorf("%s lacks %s", out, app.Name)
		}
		return nil
	})
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
		t.Errorf("output owned by uid %d, want the image's user 65534", uid)
	}
}
