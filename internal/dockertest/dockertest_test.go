package dockertest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

func TestMain(m *testing.M) { os.Exit(dockertest.RunMain(m)) }

func TestContainers(t *testing.T) {
	t.Parallel()
	cli := dockertest.Connect(t)
	if h := os.Getenv("DOCKER_HOST"); h != cli.DaemonHost() {
		t.Errorf("DOCKER_HOST = %q, want the chosen daemon %q", h, cli.DaemonHost())
	}
	img := dockertest.BuildTestImage(t, cli)
	if again := dockertest.BuildTestImage(t, cli); again != img {
		t.Errorf("second BuildTestImage = %q, want %q", again, img)
	}

	a := dockertest.Run(t, cli, dockertest.RunOptions{
		Name: "alpha", Image: img,
		Env: []string{"NAME=alpha", "HTTP_PORTS=80,8080", "TCP_PORTS=4,6667"},
	})
	b := dockertest.Run(t, cli, dockertest.RunOptions{
		Name: "beta", Image: img,
		Env:    []string{"NAME=beta"},
		Labels: map[string]string{"test": "beta"},
	})
	if !strings.HasPrefix(a.Name, "rpg-") || !strings.HasSuffix(a.Name, "-alpha") {
		t.Errorf("container name %q, want rpg-<random>-alpha", a.Name)
	}
	ipA, ipB := dockertest.IP(t, cli, a.ID, ""), dockertest.IP(t, cli, b.ID, "bridge")

	if got, want := dockertest.WaitHTTP(t, "http://"+ipA+"/x"), "name=alpha host="+ipA+" path=/x\n"; got != want {
		t.Errorf("alpha :80 body %q, want %q", got, want)
	}
	if got, want := dockertest.WaitHTTP(t, "http://"+ipA+":8080/a/b"), "name=alpha host="+ipA+":8080 path=/a/b\n"; got != want {
		t.Errorf("alpha :8080 body %q, want %q", got, want)
	}
	if got, want := dockertest.WaitHTTP(t, "http://"+ipB+"/x"), "name=beta host="+ipB+" path=/x\n"; got != want {
		t.Errorf("beta body %q, want %q", got, want)
	}
	for _, port := range []string{"4", "6667"} {
		if got, want := dockertest.WaitTCP(t, ipA+":"+port), "name=alpha port="+port+"\n"; got != want {
			t.Errorf("alpha tcp %s: %q, want %q", port, got, want)
		}
	}

	// Signals are recorded and listed by /signals.
	ctx := context.Background()
	for _, sig := range []string{"HUP", "USR1"} {
		if err := cli.ContainerKill(ctx, b.ID, sig); err != nil {
			t.Fatalf("kill -%s: %v", sig, err)
		}
	}
	dockertest.Poll(t, 30*time.Second, "signals in /signals", func() error {
		_, body, err := dockertest.Get("http://" + ipB + "/signals")
		if err == nil && body != "SIGHUP\nSIGUSR1\n" {
			err = fmt.Errorf("/signals: %q", body)
		}
		return err
	})
	if logs := dockertest.Logs(t, cli, b.ID); !strings.Contains(logs, "signal SIGHUP\n") {
		t.Errorf("logs lack 'signal SIGHUP':\n%s", logs)
	}

	// Stop is quick: SIGTERM ends the backend at once.
	start := time.Now()
	dockertest.Stop(t, cli, b.ID)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("stopping took %v; SIGTERM should end the backend at once", d)
	}
	st, err := cli.ContainerInspect(ctx, b.ID)
	if err != nil || st.State.Running || st.State.ExitCode != 0 {
		t.Errorf("after Stop: running=%v exit=%d err=%v", st.State.Running, st.State.ExitCode, err)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	cli := dockertest.Connect(t)
	img := dockertest.BuildTestImage(t, cli)
	c := dockertest.Run(t, cli, dockertest.RunOptions{
		Name: "health", Image: img,
		Env: []string{"NAME=health"},
		Healthcheck: &container.HealthConfig{
			Test:     []string{"CMD", "/testbackend", "-health"},
			Interval: 500 * time.Millisecond,
			Timeout:  3 * time.Second,
			Retries:  1,
		},
	})
	ip := dockertest.IP(t, cli, c.ID, "")
	dockertest.WaitHealth(t, cli, c.ID, "healthy")
	if got := dockertest.WaitHTTP(t, "http://"+ip+"/sick"); got != "sick\n" {
		t.Errorf("/sick: %q", got)
	}
	dockertest.WaitHealth(t, cli, c.ID, "unhealthy")
	dockertest.WaitHTTP(t, "http://"+ip+"/well")
	dockertest.WaitHealth(t, cli, c.ID, "healthy")
}

func TestNetwork(t *testing.T) {
	t.Parallel()
	cli := dockertest.Connect(t)
	img := dockertest.BuildTestImage(t, cli)
	net := dockertest.Network(t, cli)
	c := dockertest.Run(t, cli, dockertest.RunOptions{Name: "onnet", Image: img, Network: net, Cmd: []string{"-name", "onnet"}})
	ip := dockertest.IP(t, cli, c.ID, net)
	if got, want := dockertest.WaitHTTP(t, "http://"+ip+"/"), "name=onnet host="+ip+" path=/\n"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
}

func TestPrivateDaemon(t *testing.T) {
	t.Parallel()
	d := dockertest.PrivateDaemon(t)
	if !strings.HasPrefix(d.Host(), "unix:///tmp/rpg-pd-") {
		t.Errorf("Host() = %q", d.Host())
	}
	cli := d.Client(t)
	img := dockertest.BuildTestImage(t, cli)
	c := dockertest.Run(t, cli, dockertest.RunOptions{Name: "pd", Image: img, Env: []string{"NAME=pd"}})
	ip := dockertest.IP(t, cli, c.ID, "")
	if !strings.HasPrefix(ip, strings.TrimSuffix(d.Subnet(), "0/24")) {
		t.Errorf("container IP %s not on the daemon's bridge %s (%s)", ip, d.Bridge(), d.Subnet())
	}
	if got, want := dockertest.WaitHTTP(t, "http://"+ip+"/x"), "name=pd host="+ip+" path=/x\n"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}

	start := time.Now()
	d.Stop()
	t.Logf("Stop took %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := cli.Ping(ctx)
	cancel()
	if err == nil {
		t.Fatal("ping answered after Stop")
	}
	start = time.Now()
	d.Start()
	t.Logf("Start took %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
	// The image survives the restart; containers run and are reachable again.
	c2 := dockertest.Run(t, cli, dockertest.RunOptions{Name: "pd2", Image: dockertest.BuildTestImage(t, cli), Env: []string{"NAME=pd2"}})
	ip2 := dockertest.IP(t, cli, c2.ID, "")
	if got, want := dockertest.WaitHTTP(t, "http://"+ip2+"/y"), "name=pd2 host="+ip2+" path=/y\n"; got != want {
		t.Errorf("after restart: body %q, want %q", got, want)
	}
}
