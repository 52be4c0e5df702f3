#!/usr/bin/env bash
# One-shot compile of real-shaped docker-inspect snapshots by the real
# binary: wall time and peak resident memory (GNU time's maximum RSS) of
# `rproxy-gen --from snap.json -o haproxy.cfg` for 1,000, 10,000 and 100,000
# containers, each the median of ROUNDS runs (default 5), next to the input
# size. The snapshots repeat testdata/inspect-real.json, one object a real
# daemon printed, with varied IDs, names, addresses and RPROXY values
# (bench/snapshot). Targets: 10,000 in under 0.3 s, peak memory under twice
# the input, linear beyond.
# Usage: bash bench/compile.sh [COUNTS...]      e.g. bash bench/compile.sh 10000
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install -y time" >&2; exit 1; }
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
rounds=${ROUNDS:-5}
dir=$(mktemp -d /tmp/rpg-compile-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$dir/rproxy-gen" ./cmd/rproxy-gen
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)"
printf '%9s %10s %9s %12s %12s %9s %s\n' containers input/MB per-obj/KB wall-median/s peak-RSS/MB RSS/input "(runs: wall s)"
for n in "${counts[@]}"; do
	go run ./bench/snapshot -n "$n" -o "$dir/snap.json"
	size=$(stat -c %s "$dir/snap.json")
	walls=() rss=()
	for ((r = 0; r < rounds; r++)); do
		rm -f "$dir"/haproxy*
		/usr/bin/time -f '%e %M' -o "$dir/time" "$dir/rproxy-gen" --from "$dir/snap.json" -o "$dir/haproxy.cfg" --log-level error
		read -r wall kb <"$dir/time"
		walls+=("$wall") rss+=("$kb")
	done
	median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
	w=$(median "${walls[@]}") m=$(median "${rss[@]}")
	awk -v n="$n" -v s="$size" -v w="$w" -v m="$m" -v runs="${walls[*]}" 'BEGIN {
		printf "%9d %10.1f %9.1f %12.3f %12.1f %9.2f (%s)\n", n, s / 1048576, s / n / 1024, w, m / 1024, m * 1024 / s, runs }'
	rm -f "$dir/snap.json"
done
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
