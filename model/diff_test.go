package model

import (
	"reflect"
	"strings"
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

func TestCompareHTTPSAndTLS(t *testing.T) {
	c := func(name, ip, rproxy string, age int) Container {
		return Container{ID: name + "0123456789abcdef", Name: name, Running: true, RProxy: rproxy,
			Created: time.Unix(int64(1000+age), 0), Networks: []Network{{Name: "bridge", IP: ip}}}
	}
	app := c("app", "10.0.0.2", "https://app.example.com?to=3000", 1)
	mail := c("mail", "10.0.0.3", "tls://mail.example.com:993", 2)
	other := c("other", "10.0.0.4", "https://other.org?redirect=off", 3)
	certs := testCerts()
	renewed := testCerts()
	renewed.Files[1].Names = append(renewed.Files[1].Names, "www.shop.example.org")
	fingerprinted := func(sum string) *Certificates {
		c := testCerts()
		c.Files[1].SHA256 = strings.Repeat(sum, 64)
		return c
	}
	build := func(cs ...Container) *Model { return Build(cs, Options{Certs: certs}) }

	tests := []struct {
		name     string
		old, cur *Model
		want     Diff
	}{
		{"https with its redirect, tls, certificates", nil, build(app, mail), Diff{
			RoutesAdded: []string{
				"http://app.example.com:80/ => https://app.example.com:443/",
				"https://app.example.com:443/",
				"tls://mail.example.com:993",
			},
			ServersAdded: []string{"https_443_app.example.com/app@10.0.0.2:3000", "tls_993_mail.example.com/mail@10.0.0.3:993"},
			CertificatesAdded: []string{
				"default.pem: *.example.com,example.com", "default: default.pem", "shop.pem: shop.example.org",
			},
		}},
		{"uncovered host noted once", build(app), build(app, other), Diff{
			RoutesAdded:    []string{"https://other.org:443/"},
			ServersAdded:   []string{"https_443_other.org/other@10.0.0.4:80"},
			UncoveredAdded: []string{"other.org"},
		}},
		{"still uncovered: not repeated", build(app, other), build(other, app), Diff{}},
		{"certificate renewed with a new name", build(app), Build([]Container{app}, Options{Certs: renewed}), Diff{
			CertificatesAdded:   []string{"shop.pem: shop.example.org,www.shop.example.org"},
			CertificatesRemoved: []string{"shop.pem: shop.example.org"},
		}},
		{"certificate renewed, same names: the fingerprint shows it",
			Build([]Container{app}, Options{Certs: fingerprinted("a")}), Build([]Container{app}, Options{Certs: fingerprinted("b")}), Diff{
				CertificatesAdded:   []string{"shop.pem: shop.example.org sha256:bbbbbbbbbbbbbbbb"},
				CertificatesRemoved: []string{"shop.pem: shop.example.org sha256:aaaaaaaaaaaaaaaa"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.old, tt.cur)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Compare =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.Empty() != (len(tt.want.RoutesAdded)+len(tt.want.ServersAdded)+len(tt.want.CertificatesAdded) == 0) {
				t.Error("Empty disagrees with the lists")
			}
		})
	}
}
