package live

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/render"
)

// route is a route backend of spareSite: its name, host and server lines
// ("NAME IP:PORT").
type route struct {
	name, host string
	servers    []string
}

// spareSite renders a config like the built-in template's with a socket:
// one backend per route, two spare backends configured like them, and the
// routes' map.
func spareSite(extra string, routes ...route) *render.Rendered {
	sections := []string{"frontend f\n    bind :80\n    use_backend %[req.hdr(host),map_beg(out.http.map)]"}
	m := "# routes\n"
	for _, r := range routes {
		lines := []string{"backend " + r.name, "    # http://" + r.host, "    mode http", "    balance roundrobin"}
		for _, s := range r.servers {
			lines = append(lines, "    server "+s+" check inter 5s"+extra)
		}
		sections = append(sections, strings.Join(lines, "\n"))
		m += r.host + ":80/ " + r.name + "\n"
	}
	for i := range 2 {
		sections = append(sections, fmt.Sprintf("backend _spare_%d\n    %s\n    mode http\n    balance roundrobin", i, SpareMarker))
	}
	return rendered(cfgText("", sections...), map[string]string{"out.http.map": m})
}

// startSpared starts an Applier on a world running spareSite with route
// a0 (ba, a.test).
func startSpared(t *testing.T, cfg Config) (*world, *Applier, route) {
	a0 := route{"ba", "a.test", []string{"a1 10.0.0.1:80"}}
	r0 := spareSite("", a0)
	w := &world{}
	w.load(r0)
	return w, newApplier(t, w, r0, cfg), a0
}

func TestAssignOnto(t *testing.T) {
	a := route{"ba", "a.test", []string{"a1 10.0.0.1:80"}}
	b := route{"bb", "b.test", []string{"b1 10.0.0.2:80"}}
	c := route{"bc", "c.test", []string{"c1 10.0.0.3:80"}}
	d := route{"bd", "d.test", []string{"d1 10.0.0.4:80"}}
	for _, tc := range []struct {
		name string
		// extra goes on every server line of base and next.
		extra string
		next  *render.Rendered
		prev  map[string]string
		// bridges as "ROUTE>SPARE" in fresh order, "ROUTE>" for none.
		want    string
		changes string // the plan from base
		mapped  string // what the effective map holds, sorted
	}{
		{"one new route", "", spareSite("", a, b), nil, "bb>_spare_0",
			"added _spare_0/b1; maps out.http.map", "a.test:80/ ba,b.test:80/ _spare_0"},
		{"more routes than spares", "", spareSite("", a, b, c, d), nil, "bb>_spare_0 bc>_spare_1 bd>",
			"added _spare_0/b1,_spare_1/c1; maps out.http.map", "a.test:80/ ba,b.test:80/ _spare_0,c.test:80/ _spare_1"},
		{"earlier bridges stay", "", spareSite("", a, b, c), map[string]string{"bc": "_spare_0"}, "bb>_spare_1 bc>_spare_0",
			"added _spare_0/c1,_spare_1/b1; maps out.http.map", "a.test:80/ ba,b.test:80/ _spare_1,c.test:80/ _spare_0"},
		{"a replica of an existing route too", "", spareSite("", route{"ba", "a.test", []string{"a1 10.0.0.1:80", "a2 10.0.0.9:80"}}, b), nil, "bb>_spare_0",
			"added ba/a2,_spare_0/b1; maps out.http.map", "a.test:80/ ba,b.test:80/ _spare_0"},
		{"settings runtime servers cannot have", " cookie x", spareSite(" cookie x", a, b), nil, "bb>",
			"nothing", "a.test:80/ ba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newFiles(spareSite(tc.extra, a))
			next := newFiles(tc.next)
			bridges, fresh := assign(base, next, tc.prev)
			var got []string
			for _, n := range fresh {
				got = append(got, n+">"+bridges[n])
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("bridges %q, want %q", g, tc.want)
			}
			eff := onto(base, next, bridges, fresh)
			p, err := decide(base, eff)
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tc.changes {
				t.Errorf("plan %q, want %q", p, tc.changes)
			}
			var entries []string
			for _, e := range parseMap(eff.aux["out.http.map"]).entries() {
				entries = append(entries, e.Key+" "+e.Value)
			}
			if g := strings.Join(entries, ","); g != tc.mapped {
				t.Errorf("map %q, want %q", g, tc.mapped)
			}
		})
	}
}

// A spare stands in only for a backend configured exactly like it, and a
// map entry that moves to an unbridged new backend stays as the worker has
// it.
func TestOntoKeepsWhatCannotBridge(t *testing.T) {
	a := route{"ba", "a.test", []string{"a1 10.0.0.1:80"}}
	base := newFiles(spareSite("", a))
	next := spareSite("", route{"bz", "a.test", []string{"z1 10.0.0.5:80"}})
	next.Main = []byte(strings.Replace(string(next.Main), "backend bz\n    # http://a.test\n    mode http\n",
		"backend bz\n    # http://a.test\n    mode http\n    http-request set-header X-A 1\n", 1))
	nf := newFiles(next)
	bridges, fresh := assign(base, nf, nil)
	if len(bridges) != 0 || strings.Join(fresh, ",") != "bz" {
		t.Fatalf("bridges %v fresh %v", bridges, fresh)
	}
	// ba is gone from next: a reload, whatever the bridges.
	if _, err := decide(base, onto(base, nf, bridges, fresh)); err == nil {
		t.Fatal("a removed backend applied live")
	}
	// With ba still there, its entry keeps pointing at it.
	next = spareSite("", a, route{"bz", "z.test", []string{"z1 10.0.0.5:80"}})
	next.Files[0].Data = []byte("a.test:80/ bz\nz.test:80/ bz\n")
	nf = newFiles(next)
	nf.cfg.backends["bz"].dynamic = false // as with a static balance
	bridges, fresh = assign(base, nf, nil)
	eff := onto(base, nf, bridges, fresh)
	if got := string(eff.aux["out.http.map"]); got != "a.test:80/ ba\n" {
		t.Errorf("map %q", got)
	}
}

// Through the Applier: new routes are served by spares at once, the render
// still asks for a reload, and the reload's new worker is brought to the
// files: the routes in their own backends, the spares empty again, also
// when the new worker loaded an earlier render.
func TestBridgeUntilReload(t *testing.T) {
	ctx := context.Background()
	var reloads atomic.Int32
	w, ap, a0 := startSpared(t, Config{Reload: func() { reloads.Add(1) }})

	b1 := route{"bb", "b.test", []string{"b1 10.0.0.2:80"}}
	r1 := spareSite("", a0, b1)
	res, err := ap.Apply(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reload == "" || res.Bridged != 1 {
		t.Fatalf("result %+v: want a bridge and a reload", res)
	}
	old := w.current()
	if v, _ := old.Lookup("out.http.map", "b.test:80/"); v != "_spare_0" {
		t.Errorf("b.test goes to %q", v)
	}
	if got := servers(t, old, "_spare_0"); got != "b1=up@10.0.0.2:80" {
		t.Errorf("spare holds %s", got)
	}
	ap.Reload(ctx, r1)

	// Before the reload: a replica of b and a new route c.
	b2 := route{"bb", "b.test", []string{"b1 10.0.0.2:80", "b2 10.0.0.3:80"}}
	c1 := route{"bc", "c.test", []string{"c1 10.0.0.4:80"}}
	r2 := spareSite("", a0, b2, c1)
	if res, err = ap.Apply(ctx, r2); err != nil || res.Reload == "" || res.Bridged != 1 {
		t.Fatalf("second render: %+v, %v", res, err)
	}
	if got := servers(t, old, "_spare_0"); got != "b1=up@10.0.0.2:80 b2=up@10.0.0.3:80" {
		t.Errorf("spare 0 holds %s", got)
	}
	if got := servers(t, old, "_spare_1"); got != "c1=up@10.0.0.4:80" {
		t.Errorf("spare 1 holds %s", got)
	}
	ap.Reload(ctx, r2)

	// The reload loaded r1 (r2 came after its signal): c goes into a spare
	// of the new worker, b's replica into its own backend, and another
	// reload is asked.
	before := reloads.Load()
	nw := w.load(r1)
	eventually(t, "new worker on r1 brought to r2", func() error {
		if v, _ := nw.Lookup("out.http.map", "c.test:80/"); v != "_spare_0" {
			return fmt.Errorf("c.test goes to %q", v)
		}
		if got := servers(t, nw, "bb"); got != "b1=up@10.0.0.2:80 b2=up@10.0.0.3:80" {
			return fmt.Errorf("bb holds %s", got)
		}
		return nil
	})
	if v, _ := nw.Lookup("out.http.map", "b.test:80/"); v != "bb" {
		t.Errorf("b.test goes to %q", v)
	}
	if reloads.Load() == before {
		t.Error("no reload asked for the render the new worker lacks")
	}

	// The next reload loads r2: nothing bridged, spares empty.
	nw2 := w.load(r2)
	eventually(t, "new worker on r2", func() error {
		ap.mu.Lock()
		defer ap.mu.Unlock()
		if ap.verified != w.pid {
			return fmt.Errorf("worker %d not verified", w.pid)
		}
		return nil
	})
	for _, s := range []string{"_spare_0", "_spare_1"} {
		if got := servers(t, nw2, s); got != "" {
			t.Errorf("%s holds %s", s, got)
		}
	}
	if v, _ := nw2.Lookup("out.http.map", "c.test:80/"); v != "bc" {
		t.Errorf("c.test goes to %q", v)
	}
	// And a replica is live again, without a reload.
	r3 := spareSite("", a0, b2, route{"bc", "c.test", []string{"c1 10.0.0.4:80", "c2 10.0.0.5:80"}})
	if res, err := ap.Apply(ctx, r3); err != nil || res.Reload != "" {
		t.Fatalf("replica after the reload: %+v, %v", res, err)
	}
	if got := servers(t, nw2, "bc"); got != "c1=up@10.0.0.4:80 c2=up@10.0.0.5:80" {
		t.Errorf("bc holds %s", got)
	}
}

// A bridged route removed before its reload gives its spare back: its
// servers drain out of the spare, its entry goes, and nothing of it needs
// the reload any more.
func TestBridgedRouteRemovedBeforeReload(t *testing.T) {
	ctx := context.Background()
	w, ap, a0 := startSpared(t, Config{})
	f := w.current()
	r1 := spareSite("", a0, route{"bb", "b.test", []string{"b1 10.0.0.2:80"}})
	if res, err := ap.Apply(ctx, r1); err != nil || res.Bridged != 1 {
		t.Fatalf("bridge: %+v, %v", res, err)
	}
	ap.Reload(ctx, r1)
	res, err := ap.Apply(ctx, spareSite("", a0))
	if err != nil || res.Reload != "" {
		t.Fatalf("route removed: %+v, %v; want it applied live", res, err)
	}
	eventually(t, "spare drained", func() error {
		if got := servers(t, f, "_spare_0"); got != "" {
			return fmt.Errorf("spare holds %s", got)
		}
		return nil
	})
	if v, ok := f.Lookup("out.http.map", "b.test:80/"); ok {
		t.Errorf("b.test still goes to %q", v)
	}
	// The spare serves the next new route.
	if res, err := ap.Apply(ctx, spareSite("", a0, route{"bc", "c.test", []string{"c1 10.0.0.3:80"}})); err != nil || res.Bridged != 1 {
		t.Fatalf("next route: %+v, %v", res, err)
	}
	if v, _ := f.Lookup("out.http.map", "c.test:80/"); v != "_spare_0" {
		t.Errorf("c.test goes to %q", v)
	}
}
