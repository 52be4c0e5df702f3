#!/usr/bin/env bash
# Watch-mode memory: one rproxy-gen --watch follows ITER container start/remove
# cycles (default 200) on a real Docker daemon; prints its resident memory
# after 20 cycles and at the end. Flat memory: the two figures agree.
# Usage: bash bench/watch-memory.sh     (as root; needs docker.io)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dockerd >/dev/null || { echo "dockerd missing: apt-get install -y docker.io (make test installs it)" >&2; exit 1; }
go test -count=1 -run '^$' -bench 'WatchMemory' -benchtime "${ITER:-200}x" -timeout 30m ./e2e |
	awk '/^BenchmarkWatchMemory/ {
		for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
		printf "watch memory over %d container cycles: RSS %d kB after 20, %d kB at the end\n", $2, v["kB-rss-warm"], v["kB-rss-end"]
		found = 1
	}
	END { if (!found) exit 1 }'
