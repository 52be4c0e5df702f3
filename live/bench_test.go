package live

import (
	"fmt"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/model"
	"github.com/rproxy-gen/rproxy-gen/render"
)

// bigModel has routes routes of one server each and one route with
// replicas servers.
func bigModel(tb testing.TB, routes, replicas int) *model.Model {
	m := &model.Model{Version: model.Version, Stats: model.Stats{Addr: ":1"}}
	p := model.HTTPPort{Port: 80}
	for i := range routes {
		p.Routes = append(p.Routes, model.HTTPRoute{Host: fmt.Sprintf("r%d.example.com", i), Path: "/",
			Servers: []model.Server{{Name: fmt.Sprintf("c%d", i), Container: fmt.Sprintf("c%d", i), Address: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), Port: 80}}})
	}
	app := model.HTTPRoute{Host: "app.example.com", Path: "/"}
	for i := range replicas {
		app.Servers = append(app.Servers, model.Server{Name: fmt.Sprintf("app%d", i), Container: fmt.Sprintf("app%d", i), Address: fmt.Sprintf("10.2.0.%d", i+1), Port: 80})
	}
	p.Routes = append(p.Routes, app)
	m.HTTP = []model.HTTPPort{p}
	m.Normalize()
	if err := m.Validate(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkDecide measures what a replica change costs rproxy-gen before
// any command is sent: parsing the new render and comparing it with the
// current one (Unchecked and decide), by number of routes.
func BenchmarkDecide(b *testing.B) {
	tmpl, err := render.Load("haproxy")
	if err != nil {
		b.Fatal(err)
	}
	for _, routes := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", routes), func(b *testing.B) {
			r0, err := tmpl.Render(bigModel(b, routes, 2), "haproxy")
			if err != nil {
				b.Fatal(err)
			}
			r1, _ := tmpl.Render(bigModel(b, routes, 3), "haproxy")
			cur := newFiles(r0)
			b.ResetTimer()
			for range b.N {
				next := newFiles(r1)
				if _, err := decide(cur, next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
