#!/usr/bin/env bash
# How fast rproxy-gen follows a real two-node Swarm (a manager and a worker
# dockerd in its own network namespace, both started by the test helpers):
#   scale/watch     docker service scale 2 → 4 with rproxy-gen --watch --swarm
#                   --haproxy-socket (new tasks applied over the Runtime API):
#                   served = a new task's container running → its first request
#                   through HAProxy; swarm = the scale call → the task running
#                   (Swarm's own scheduling); all = the scale call → every new
#                   task served
#   death/watch     a task's container killed on the worker (no event reaches
#                   the manager) → its server out of haproxy.cfg, with the
#                   default --resync
#   scale/poll=15s  the same scale with rproxy-gen run every 15s instead (the
#                   reference: Traefik polls Swarm every 15s by default)
# Medians over RUNS iterations each (default 5).
# Usage: bash bench/swarm.sh        (as root; needs haproxy, docker.io, iproute2, util-linux)
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in haproxy dockerd ip nsenter; do
	command -v "$bin" >/dev/null || { echo "$bin missing: apt-get install -y haproxy docker.io iproute2 util-linux" >&2; exit 1; }
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! go test -count=1 -timeout 40m -run '^$' -bench '^BenchmarkSwarm$' -benchtime "${RUNS:-5}x" ./e2e >"$out" 2>&1; then
	grep -E -e '--- FAIL|_test\.go:[0-9]+:' "$out" | grep -v 'built image' >&2
	echo "(full output: $out.log)" >&2
	cp "$out" "$out.log"
	exit 1
fi
awk '/^BenchmarkSwarm\/.*-[0-9]+[ \t]+[0-9]+[ \t]/ {
	name = $1; sub(/^BenchmarkSwarm\//, "", name); sub(/-[0-9]+$/, "", name)
	line = sprintf("%-15s", name)
	for (i = 3; i < NF; i += 2) if ($(i+1) != "ns/op") line = line sprintf("  %s %8.1f", $(i+1), $i)
	print line "   (" $2 " runs, medians)"
	found = 1
}
END { if (!found) exit 1 }' "$out"
