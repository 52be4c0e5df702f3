// Package model turns containers into the Model, the intermediate
// representation every proxy config is rendered from. It holds the RPROXY
// grammar, the routing model, its precedence and conflict rules, and the
// checks that keep container-controlled text out of configs. Pure
// functions: no I/O.
//
// # The RPROXY contract
//
// RPROXY holds one or more comma-separated entries
// scheme://host[:port][/path][?options] (see ParseEntry):
//
//	http://wiki.example.com?to=3000            plain HTTP on 80, container port 3000
//	https://app.example.com/api?to=8080        TLS terminated on 443, plain HTTP to 8080, 301 from http 80
//	https://shop.example.com:8443?redirect=8080  TLS on 8443, container port 80, 301 from http 8080
//	tls://mail.example.com:993                 TLS passed through by SNI to the container's 993
//	tcp://db:5432?to=15432                     raw TCP on 5432 to the container's 15432
//
// Schemes and hosts are case-insensitive. Default ports: 80 (http), 4
// (tcp), 443 (https, tls). Options: to=PORT is the container's port
// (default: the entry's port, 80 for https); redirect=PORT|off, https only,
// is the plain HTTP port answering 301 to the https URL (default 80 when the
// https port is 443, else off). An unknown, repeated, empty or malformed
// option, or redirect on another scheme, skips the entry. Values are ASCII
// digits (or "off") only.
//
// http and https route by host suffix on a label boundary and path prefix:
// the longest matching host wins, then the longest path. tls routes by SNI
// with the same host rule. tcp routes by port alone. Entries that agree on
// (scheme, port, host, path) share one backend, round robin.
//
// https needs certificates: Options.Certs (what package certs loads from
// --certs DIR) with at least one file, or its entries are skipped with a
// Warning saying to pass --certs DIR. An https host no certificate covers
// (Covers) is still routed, served with the default certificate, and listed
// in Certificates.Uncovered for reviewers.
//
// # Ports and conflicts
//
// A port is used for one kind: http, tcp, or https and tls together (an
// https redirect claims its port for http). Containers are taken oldest
// first; an entry that needs a port, an SNI host or a redirect already taken
// differently by an older container is skipped whole, with a Warning naming
// the container, the entry and the reason, so a newcomer cannot take over
// traffic. Containers that cannot serve right now (unhealthy, no address)
// keep their claims. The statistics port is reserved for all. On a plain
// http port, a route with the same host and path as a redirect replaces it;
// other routes and redirects share one lookup and its precedence.
//
// # Guarantees
//
// Build never fails and, given valid Options, never returns a model that
// Validate rejects: hosts, paths, names and addresses are validated tokens,
// backend names are at most MaxBackendName characters and server names at
// most MaxServerName (a readable prefix plus a hash when shortened), and
// names that would still collide drop the newer backend with a Warning. The
// same containers in any order give the same model. Marshal and Unmarshal
// round-trip a model without loss; Unmarshal reads version 1 models and
// upgrades them.
package model
