package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/dockertest"
)

// TestRuntimeNewRouteBridged: a route new since HAProxy's last reload is
// served at once through a spare backend, while --wait's MAX holds the
// reload back; a replica of it joins it there. The reload then gives the
// route its own backend, and HAProxy's servers and map entries equal the
// files again, spares empty, without a failed request on the way.
func TestRuntimeNewRouteBridged(t *testing.T) {
	// Reloads at least 12 s apart: the new route must be served well
	// before the next may happen, however slow the machine.
	e := startLive(t, "--wait", "100ms:12s")
	// A first route: the http frontend, a reload.
	e.run("brfirst", "http://first.test:"+e.hp)
	waitServed(t, "the first route", e.front, "first.test", map[string]int{"brfirst": 1})
	dockertest.Poll(t, routeWait, "first reload done", func() error {
		if _, old := e.worker(); old != 0 {
			return fmt.Errorf("%d old workers", old)
		}
		return nil
	})
	pid, _ := e.worker()
	reloads := e.notifies()
	host := "bridged.test"
	rp := "http://" + host + ":" + e.hp

	a1 := e.run("bra1", rp)
	waitServed(t, "a new route", e.front, host, map[string]int{"bra1": 1})
	l := startLoad(e.front, host) // requests all along: none may fail from here on
	defer l.end()
	if now, _ := e.worker(); now != pid {
		t.Fatalf("the new route was served only after a reload (worker %d, was %d)", now, pid)
	}
	spare := func(name string) string {
		for _, s := range e.servers() {
			if strings.HasPrefix(s, "_spare_http_") && strings.Contains(s, "/"+name+"@") {
				return s[:strings.Index(s, "/")]
			}
		}
		return ""
	}
	sp := spare(a1.Name)
	if sp == "" {
		t.Fatalf("no spare backend holds %s: %v", a1.Name, e.servers())
	}

	a2 := e.run("bra2", rp)
	waitServed(t, "a replica of the new route", e.front, host, map[string]int{"bra1": 2, "bra2": 2})
	if now, _ := e.worker(); now != pid {
		t.Fatalf("HAProxy reloaded before --wait's MAX (worker %d, was %d)", now, pid)
	}
	if got := spare(a2.Name); got != sp {
		t.Errorf("the replica went to %q, the route is in %q", got, sp)
	}
	e.w.waitLog("bridge logged", "reloading; applied live until then", "served through spare backends")

	// The paced reload: the route in its own backend, the files and
	// HAProxy agree.
	dockertest.Poll(t, routeWait, "the paced reload", func() error {
		if now, old := e.worker(); now == pid || old != 0 {
			return fmt.Errorf("worker %d (%d old)", now, old)
		}
		return nil
	})
	if n := e.notifies(); n != reloads+1 {
		t.Errorf("%d reloads asked, want 1", n-reloads)
	}
	e.settled()
	dockertest.Poll(t, routeWait, "HAProxy as the files say", func() error {
		want, got := fileServers(t, e.cfg), e.servers()
		if !slices.Equal(want, got) {
			return fmt.Errorf("servers in the file:\n%v\nin HAProxy:\n%v", want, got)
		}
		return e.mapsAgree()
	})
	waitServed(t, "after the reload", e.front, host, map[string]int{"bra1": 2, "bra2": 2})
	if spare(a1.Name) != "" {
		t.Errorf("a spare still holds %s", a1.Name)
	}
	ok, failed, errs := l.end()
	if failed != 0 || ok == 0 {
		t.Errorf("%d of %d requests failed: %v", failed, ok+failed, errs)
	}
}

// fileServers lists the servers of a HAProxy config as
// "BACKEND/NAME@ADDR:PORT", sorted, like live.servers.
func fileServers(t *testing.T, cfg string) []string {
	t.Helper()
	f, err := os.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	backend := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 2 && (fields[0] == "backend" || fields[0] == "listen"):
			backend = fields[1]
		case len(fields) >= 2 && (fields[0] == "frontend" || fields[0] == "defaults" || fields[0] == "global"):
			backend = ""
		case len(fields) >= 3 && fields[0] == "server" && backend != "" && !strings.Contains(fields[2], "@"):
			out = append(out, backend+"/"+fields[1]+"@"+fields[2])
		}
	}
	slices.Sort(out)
	return out
}

// mapsAgree compares every map HAProxy has with its file beside the config.
func (e *live) mapsAgree() error {
	ctx := context.Background()
	maps, err := e.api.ShowMaps(ctx)
	if err != nil {
		return err
	}
	for _, m := range maps {
		data, err := os.ReadFile(filepath.Join(e.dir, filepath.Base(m.File)))
		if err != nil {
			return err
		}
		var want []string
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(f[0], "#") {
				want = append(want, f[0]+" "+f[1])
			}
		}
		entries, err := e.api.ShowMap(ctx, m.File)
		if err != nil {
			return err
		}
		var got []string
		for _, en := range entries {
			got = append(got, en.Key+" "+en.Value)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			return fmt.Errorf("map %s: file %v, HAProxy %v", m.File, want, got)
		}
	}
	return nil
}
