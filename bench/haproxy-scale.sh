#!/usr/bin/env bash
# HAProxy at 1,000, 10,000 and 100,000 routes with the built-in template:
# `haproxy -c` time and peak memory, time from start to the first request
# routed, resident memory once started, and reload time (new process with
# -sf until a route only the new config has answers); medians of ROUNDS
# runs (default 3). HAProxy runs under this shell's open-files limit
# (`ulimit -n`): the config must start within it.
# Usage: bash bench/haproxy-scale.sh [-routes 1000,10000] [-rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null || { echo "haproxy missing: apt-get install -y haproxy" >&2; exit 1; }
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)   $(haproxy -v | head -1)"
go run ./bench/haproxy-scale "$@"
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
