#!/usr/bin/env bash
# Bursts, under one rproxy-gen --watch and a real HAProxy:
#  - new routes: N containers (30, then 100), each with its own http host on
#    a port that serves one site already, started together (each needs a new
#    backend: a reload, paced by --wait MAX; with --haproxy-socket each is
#    served through a spare backend until then);
#  - replicas: N replicas of one existing route started together, with
#    --haproxy-socket (applied over the Runtime API, no reload).
# For each container the time from its start to the first request HAProxy
# routes to it (p50, p90), next to Docker's floor (the container answering on
# its own address), the time until all were served, and HAProxy reloads per
# burst.
# BURSTS sets the bursts per size (default 3), WAIT rproxy-gen's --wait,
# SPARES its --spare-backends (0: new routes wait for their reload).
# Usage: bash bench/burst.sh        (as root; needs haproxy and docker.io)
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in haproxy dockerd; do
	command -v "$bin" >/dev/null || { echo "$bin missing: apt-get install -y haproxy docker.io (make test installs them)" >&2; exit 1; }
done
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)   --wait ${WAIT:-default}   --spare-backends ${SPARES:-default}"
BURST_WAIT=${WAIT:-} BURST_SPARES=${SPARES:-} go test -count=1 -run '^$' -bench 'Burst' -benchtime "${BURSTS:-3}x" -timeout 60m ./e2e |
	awk '/^BenchmarkBurst/ {
		for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
		split($1, n, "="); sub(/-[0-9]+$/, "", n[2])
		kind = ($1 ~ /replicas=/) ? "replicas of one route" : "containers, new routes"
		printf "%4d %-22s: start to served p50 %6.0f ms  p90 %6.0f ms | floor p50 %6.0f ms  p90 %6.0f ms | behind floor p90 %6.0f ms | all served %6.0f ms (floor %6.0f) | reloads/burst %.1f\n",
			n[2], kind, v["ms-p50"], v["ms-p90"], v["ms-floor-p50"], v["ms-floor-p90"], v["ms-behind-floor-p90"], v["ms-all-served"], v["ms-all-floor"], v["reloads/burst"]
		found = 1
	}
	END { if (!found) exit 1 }'
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
