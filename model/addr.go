package model

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ParseAddr parses an IPv4 or IPv6 address, refusing IPv6 zones: a zone
// ("fe80::1%eth0") may hold any text, so an address carrying one could put
// that text into a config. It is the one address parser of the project;
// every address that enters a model (bind, stats, servers, container
// networks) goes through it.
func ParseAddr(s string) (netip.Addr, error) {
	if strings.IndexByte(s, '%') >= 0 {
		return netip.Addr{}, fmt.Errorf("address %q: IPv6 zones are not allowed", truncate(s))
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q is not an IP address", truncate(s))
	}
	if a.Zone() != "" { // cannot happen without '%', kept as a second lock
		return netip.Addr{}, fmt.Errorf("address %q: IPv6 zones are not allowed", truncate(s))
	}
	return a, nil
}

// ValidateListenAddr checks a listen address of the form [IP]:PORT (an empty
// IP means all addresses). The IP goes through ParseAddr, so zones are refused.
func ValidateListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want [IP]:PORT: %w", truncate(addr), err)
	}
	if host != "" {
		if _, err := ParseAddr(host); err != nil {
			return fmt.Errorf("%q: host must be an IP address without zone, or empty: %w", truncate(addr), err)
		}
	}
	if _, err := ParsePort(port); err != nil {
		return fmt.Errorf("%q: %w", truncate(addr), err)
	}
	return nil
}

// StatsAddrFor returns the statistics listen address Build uses: statsAddr
// when set, else port 1 on the bind address (all addresses when bind is
// empty), so that --bind 127.0.0.1 keeps the statistics page local too.
func StatsAddrFor(bind, statsAddr string) string {
	if statsAddr != "" {
		return statsAddr
	}
	if bind == "" {
		return DefaultStatsAddr
	}
	return net.JoinHostPort(bind, "1")
}

// addrPort returns the port of a host:port address, or 0.
func addrPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0
	}
	return n
}
