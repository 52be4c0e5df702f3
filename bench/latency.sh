#!/usr/bin/env bash
# Event-to-route latency: container start → first successful request through
# HAProxy reloaded by rproxy-gen --watch, against a real Docker daemon (the
# tests' helper reuses a reachable one or starts a private dockerd).
# Prints the median, p90 and minimum of SAMPLES starts (default 20) for the
# default debounce, for --wait 0, and the "direct" baseline (no proxy: how
# long the container itself takes to answer after its start).
# Usage: bash bench/latency.sh        (as root; needs haproxy and docker.io)
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in haproxy dockerd; do
	command -v "$bin" >/dev/null || { echo "$bin missing: apt-get install -y haproxy docker.io (make test installs them)" >&2; exit 1; }
done
go test -count=1 -run '^$' -bench 'EventToRoute' -benchtime "${SAMPLES:-20}x" ./e2e |
	awk '/^BenchmarkEventToRoute/ {
		split($1, n, "/"); sub(/-[0-9]+$/, "", n[2])
		printf "%-16s median %7.1f ms   p90 %7.1f ms   min %7.1f ms   (%d starts)\n", n[2], $3, $7, $5, $2
		found = 1
	}
	END { if (!found) exit 1 }'
