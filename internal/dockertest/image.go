package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// TestImage is the tag of the test backend image.
const TestImage = "rproxy-gen-testbackend:test"

const (
	backendPkg = "github.com/rproxy-gen/rproxy-gen/internal/testbackend"
	// hashLabel holds the sha256 of the testbackend binary inside the image,
	// so an image already in a daemon is reused only when it is current.
	hashLabel = "rproxy-gen.testbackend.sha256"
)

const dockerfile = `FROM scratch
COPY testbackend /testbackend
ENTRYPOINT ["/testbackend"]
`

// Once-per-process caches (unavoidable package state): the testbackend
// binary is compiled once per test process; buildMu serializes image builds
// so parallel tests do not build the same image twice. The image itself is
// cached per daemon by the daemon: its hash label tells if it is current.
var (
	binOnce sync.Once
	binData []byte
	binHash string
	binErr  error
	buildMu sync.Mutex
)

// BuildTestImage makes sure the daemon behind cli has the test backend image
// (see internal/testbackend) and returns its tag, TestImage. It compiles the
// backend statically (once per process) and builds a FROM scratch image with
// the classic builder, unless the daemon already has the same one. It works
// for any daemon, including a PrivateDaemon with an empty image store.
func BuildTestImage(t testing.TB, cli *client.Client) string {
	t.Helper()
	binOnce.Do(compileBackend)
	if binErr != nil {
		t.Fatalf("building the test backend: %v", binErr)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if current(ctx, cli) {
		return TestImage
	}
	start := time.Now()
	if err := buildImage(ctx, cli); err != nil {
		t.Fatalf("building image %s on %s: %v", TestImage, cli.DaemonHost(), err)
	}
	if !current(ctx, cli) {
		t.Fatalf("image %s on %s: built, but not found with label %s=%s", TestImage, cli.DaemonHost(), hashLabel, binHash)
	}
	t.Logf("dockertest: built image %s on %s in %v", TestImage, cli.DaemonHost(), time.Since(start).Round(time.Millisecond))
	return TestImage
}

func current(ctx context.Context, cli *client.Client) bool {
	img, err := cli.ImageInspect(ctx, TestImage)
	if err != nil {
		return false
	}
	return img.Config != nil && img.Config.Labels[hashLabel] == binHash
}

func compileBackend() {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir, err := os.MkdirTemp("", "rpg-testbackend-")
	if err != nil {
		binErr = err
		return
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testbackend")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, backendPkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		binErr = fmt.Errorf("go build %s: %v\n%s", backendPkg, err, msg)
		return
	}
	binData, binErr = os.ReadFile(out)
	sum := sha256.Sum256(binData)
	binHash = hex.EncodeToString(sum[:])
}

func buildImage(ctx context.Context, cli *client.Client) error {
	return BuildImage(ctx, cli, TestImage, map[string]string{hashLabel: binHash}, []File{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(dockerfile)},
		{Name: "testbackend", Mode: 0o755, Data: binData},
	})
}

// File is one regular file of a build context; directories are implied by
// the names ("dir/file").
type File struct {
	Name string
	Mode int64
	Data []byte
}

// BuildImage builds an image tagged tag from a context holding files (with
// a Dockerfile), using the classic builder so it runs offline on Debian's
// 20.10 daemon, and returns the first build error with the build's output.
func BuildImage(ctx context.Context, cli *client.Client, tag string, labels map[string]string, files []File) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.Dir(f.Name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0), Typeflag: tar.TypeDir})
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.Name, Mode: f.Mode, Size: int64(len(f.Data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
		tw.Write(f.Data)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Labels:      labels,
		Remove:      true,
		ForceRemove: true,
		// The classic builder: Debian's 20.10 daemon may lack BuildKit, and
		// it needs no session for a FROM scratch build.
		Version: build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := readBuildStream(resp.Body); err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	return nil
}

// readBuildStream reads the build's JSON messages to the end and returns
// the first error message, with the tail of the build output.
func readBuildStream(r io.Reader) error {
	type message struct {
		Stream      string `json:"stream"`
		Error       string `json:"error"`
		ErrorDetail *struct {
			Message string `json:"message"`
		} `json:"errorDetail"`
	}
	var out strings.Builder
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading build output: %w; output:\n%s", err, out.String())
		}
		out.WriteString(m.Stream)
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return fmt.Errorf("%s; output:\n%s", m.ErrorDetail.Message, out.String())
		}
		if m.Error != "" {
			return fmt.Errorf("%s; output:\n%s", m.Error, out.String())
		}
	}
}

// isNotFound reports a Docker "no such object" error.
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
