package source

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/rproxy-gen/rproxy-gen/internal/fakedocker"
)

func TestParseFilters(t *testing.T) {
	f, err := ParseFilters([]string{"label=com.example.proxy=public", " Network=apps", "network=edge"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Get("label"); !slices.Equal(got, []string{"com.example.proxy=public"}) {
		t.Errorf("label = %v", got)
	}
	if got := f.Get("network"); len(got) != 2 {
		t.Errorf("network = %v", got)
	}
	for _, bad := range []string{"label", "=x", "label=", "colour=blue"} {
		if _, err := ParseFilters([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// cachedNames lists the names of the cached containers, sorted.
func cachedNames(d *Docker) []string {
	var out []string
	for _, c := range d.Containers() {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

// TestFilterFollowsEvents: with --filter, the listing and every refresh
// keep only matching containers, so two rproxy-gens on one host can serve
// two proxies. The fake Engine implements Docker's list filters (label,
// network, id), which is what this relies on; the daemon's own filtering
// is Docker's to test.
func TestFilterFollowsEvents(t *testing.T) {
	e := fakedocker.New(t)
	e.Add(fakedocker.ContainerSpec{Name: "public", Labels: map[string]string{"com.example.proxy": "public"}, Networks: map[string]string{"apps": ""}})
	e.Add(fakedocker.ContainerSpec{Name: "internal", Labels: map[string]string{"com.example.proxy": "internal"}, Networks: map[string]string{"apps": ""}})
	e.Add(fakedocker.ContainerSpec{Name: "elsewhere", Labels: map[string]string{"com.example.proxy": "public"}})
	ctx := context.Background()

	for _, tt := range []struct {
		filters []string
		want    string
	}{
		{nil, "elsewhere internal public"},
		{[]string{"label=com.example.proxy=public"}, "elsewhere public"},
		{[]string{"network=apps"}, "internal public"},
		{[]string{"label=com.example.proxy=public", "network=apps"}, "public"},
	} {
		d := NewDocker(e.Client(t), quietLog())
		f, err := ParseFilters(tt.filters)
		if err != nil {
			t.Fatal(err)
		}
		d.SetFilter(f)
		if err := d.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cachedNames(d), " "); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.filters, got, tt.want)
		}
	}

	// Refreshes: a container that leaves the network stops matching and
	// leaves the cache; one that joins starts matching.
	d := NewDocker(e.Client(t), quietLog())
	f, _ := ParseFilters([]string{"network=apps"})
	d.SetFilter(f)
	if err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	pub, other := e.Container("public"), e.Container("elsewhere")
	e.Disconnect("public", "apps")
	e.Connect("elsewhere", "apps", "")
	if err := d.Refresh(ctx, []string{pub.ID, other.ID}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cachedNames(d), " "); got != "elsewhere internal" {
		t.Errorf("after the network changes: %q", got)
	}
	e.Stop("internal")
	if err := d.Refresh(ctx, []string{e.Container("internal").ID}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cachedNames(d), " "); got != "elsewhere" {
		t.Errorf("after a stop: %q", got)
	}
}
