package model

import (
	"reflect"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	c := func(name, ip, rproxy string, age int) Container {
		return Container{ID: name + "0123456789abcdef", Name: name, Running: true, RProxy: rproxy,
			Created: time.Unix(int64(1000+age), 0), Networks: []Network{{Name: "bridge", IP: ip}}}
	}
	web1 := c("web1", "10.0.0.2", "http://app.example.com", 1)
	web2 := c("web2", "10.0.0.3", "http://app.example.com", 2)
	game := c("game", "10.0.0.4", "tcp://game:666", 3)
	bad := c("bad", "10.0.0.5", "ftp://x", 4)
	sick := web2
	sick.Health = "unhealthy"
	build := func(cs ...Container) *Model { return Build(cs, Options{}) }

	tests := []struct {
		name     string
		old, cur *Model
		want     Diff
	}{
		{"from nothing", nil, build(web1), Diff{
			RoutesAdded:  []string{"http://app.example.com:80/"},
			ServersAdded: []string{"http_80_app.example.com/web1@10.0.0.2:80"},
		}},
		{"same state", build(web1, game), build(game, web1), Diff{}},
		{"replica added", build(web1), build(web1, web2), Diff{
			ServersAdded: []string{"http_80_app.example.com/web2@10.0.0.3:80"},
		}},
		{"route and servers removed, tcp added", build(web1, web2), build(game), Diff{
			RoutesAdded:    []string{"tcp://:666"},
			RoutesRemoved:  []string{"http://app.example.com:80/"},
			ServersAdded:   []string{"tcp_666/game@10.0.0.4:666"},
			ServersRemoved: []string{"http_80_app.example.com/web1@10.0.0.2:80", "http_80_app.example.com/web2@10.0.0.3:80"},
		}},
		{"new warning reported once", build(web1), build(web1, bad), Diff{
			WarningsAdded: build(bad).Warnings,
		}},
		{"old warning not repeated", build(web1, bad), build(web1, bad), Diff{}},
		{"turned unhealthy: excluded once", build(web1, web2), build(web1, sick), Diff{
			ServersRemoved: []string{"http_80_app.example.com/web2@10.0.0.3:80"},
			ExcludedAdded:  []Exclusion{{Container: "web2", Reason: build(sick).Excluded[0].Reason}},
		}},
		{"still unhealthy: not repeated", build(web1, sick), build(web1, sick), Diff{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.old, tt.cur)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Compare =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.Empty() != (len(tt.want.RoutesAdded)+len(tt.want.RoutesRemoved)+len(tt.want.ServersAdded)+len(tt.want.ServersRemoved) == 0) {
				t.Error("Empty disagrees with the lists")
			}
		})
	}
}
