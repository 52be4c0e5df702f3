package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-connections/nat"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

// captureInspect makes TestCaptureInspectFixture (re)write the fixture.
var captureInspect = flag.Bool("capture-inspect", false,
	"write ../testdata/inspect-real.json from a real container (TestCaptureInspectFixture)")

// inspectFixture is the committed docker-inspect object of one real
// container; benchmarks derive real-shaped snapshots from it.
const inspectFixture = "../testdata/inspect-real.json"

// TestCaptureInspectFixture captures what `docker inspect` prints for one
// realistic container of the test image — a health check, compose-style
// labels and an rproxy label, two networks, a bind mount, a volume and a
// tmpfs, a published loopback port, a restart policy, several environment
// variables — scrubs what is specific to this host and writes it to
// testdata/inspect-real.json. It only runs with -capture-inspect:
//
//	go test ./e2e -run TestCaptureInspectFixture -capture-inspect
func TestCaptureInspectFixture(t *testing.T) {
	if !*captureInspect {
		t.Skip("writes a fixture: run with -capture-inspect")
	}
	cli := dockertest.Connect(t)
	img := dockertest.BuildTestImage(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	second := dockertest.Network(t, cli)
	vol, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: dockertest.UniqueName("data"),
		Labels: map[string]string{dockertest.OwnerLabel: dockertest.Owner()}})
	if err != nil {
		t.Fatal(err)
	}
	bindDir := t.TempDir()
	name := dockertest.UniqueName("shop-web-1")
	stopTimeout := 10
	cfg := &container.Config{
		Image: img,
		Env: []string{
			"RPROXY=http://shop.example.com,http://shop.example.com:8080/api",
			"NAME=shop-web-1", "HTTP_PORTS=80,8080", "TZ=Europe/Berlin", "LANG=C.UTF-8",
			"APP_ENV=production", "APP_LOG_LEVEL=info", "DATABASE_URL=postgres://shop@db:5432/shop",
			"CACHE_URL=redis://cache:6379/0", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		},
		Labels: map[string]string{
			dockertest.OwnerLabel:                     dockertest.Owner(),
			"rproxy":                                  "tcp://shop-metrics:9100",
			"com.docker.compose.project":              "shop",
			"com.docker.compose.service":              "web",
			"com.docker.compose.container-number":     "1",
			"com.docker.compose.oneoff":               "False",
			"com.docker.compose.version":              "2.29.7",
			"com.docker.compose.config-hash":          "4f6a1c2e9b0d8e7f5a3c1b2d4e6f8a0c9b7d5e3f1a2c4e6b8d0f2a4c6e8b0d2f",
			"com.docker.compose.project.config_files": "/srv/shop/compose.yaml",
			"com.docker.compose.project.working_dir":  "/srv/shop",
			"com.docker.compose.depends_on":           "db:service_started:false,cache:service_started:false",
			"com.docker.compose.image":                "sha256:0c6b1f2e3d4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c",
			"org.opencontainers.image.source":         "https://git.example.com/shop/web",
			"org.opencontainers.image.version":        "1.42.0",
		},
		Healthcheck: &container.HealthConfig{
			Test:     []string{"CMD", "/testbackend", "-health"},
			Interval: 300 * time.Millisecond, Timeout: 2 * time.Second, Retries: 3,
		},
		ExposedPorts: nat.PortSet{"80/tcp": {}, "8080/tcp": {}},
		StopTimeout:  &stopTimeout,
	}
	hcfg := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		PortBindings:  nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: ""}}},
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: bindDir, Target: "/srv/app/config", ReadOnly: true},
			{Type: mount.TypeVolume, Source: vol.Name, Target: "/srv/app/data"},
			{Type: mount.TypeTmpfs, Target: "/tmp"},
		},
	}
	created, err := cli.ContainerCreate(ctx, cfg, hcfg, &network.NetworkingConfig{}, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		cli.VolumeRemove(context.Background(), vol.Name, true)
	})
	if err := cli.NetworkConnect(ctx, second, created.ID, &network.EndpointSettings{Aliases: []string{"web", "shop-web"}}); err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	dockertest.WaitHealth(t, cli, created.ID, "healthy")
	time.Sleep(time.Second) // a few more health log entries, as on a long-running container

	// What the docker CLI prints, if there is one; else the API's answer
	// indented the way the CLI indents it.
	var out []byte
	if _, err := exec.LookPath("docker"); err == nil {
		out, err = exec.Command("docker", "inspect", created.ID).Output()
		if err != nil {
			t.Fatalf("docker inspect: %v", err)
		}
	} else {
		_, raw, err := cli.ContainerInspectWithRaw(ctx, created.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, append(append([]byte("["), raw...), ']'), "", "    "); err != nil {
			t.Fatal(err)
		}
		out = append(buf.Bytes(), '\n')
	}
	out = scrubInspect(t, out, map[string]string{
		bindDir:              "/srv/shop/config",
		dockertest.Owner():   "host/1",
		name:                 "shop-web-1",
		second:               "shop_backend",
		vol.Name:             "shop_data",
		"/tmp/rpg-docker":    "/var/lib/docker",
		dockertest.TestImage: "registry.example.com/shop/web:1.42.0",
	})
	var check []container.InspectResponse
	if err := json.Unmarshal(out, &check); err != nil || len(check) != 1 {
		t.Fatalf("scrubbed fixture does not decode as one container: %v", err)
	}
	if h := check[0].State.Health; h == nil || h.Status != "healthy" || len(check[0].NetworkSettings.Networks) != 2 ||
		len(check[0].Mounts) != 3 || check[0].Config.Labels["rproxy"] == "" {
		t.Fatalf("fixture lacks health, two networks, three mounts or the rproxy label:\n%s", out)
	}
	if err := os.WriteFile(filepath.FromSlash(inspectFixture), out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", inspectFixture, len(out))
}

// scrubInspect replaces host-specific strings (temporary paths, random test
// names, the test owner) with stable, plausible ones.
func scrubInspect(t *testing.T, b []byte, repl map[string]string) []byte {
	t.Helper()
	s := string(b)
	// Longest first, so a name is replaced before a prefix of it.
	keys := make([]string, 0, len(repl))
	for k := range repl {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if len(keys[j]) > len(keys[i]) {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, repl[k])
	}
	// Any other random test name left (e.g. in a mount's source path).
	s = regexp.MustCompile(`rpg-[0-9a-f]{8}-`).ReplaceAllString(s, "")
	return []byte(s)
}
