#!/usr/bin/env bash
# Watch mode at scale, against the fake Docker Engine API: 1,000 and 10,000
# running containers, then one health event at a time. Prints, for the
# rproxy-gen process alone, event → output written (median, p90), CPU per
# event, inspections per event and resident memory after the events.
# Usage: bash bench/watch-scale.sh            (EVENTS_1K, EVENTS_10K to change the counts)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/rproxy-gen
trap 'rm -rf "$(dirname "$bin")"' EXIT
CGO_ENABLED=0 go build -o "$bin" ./cmd/rproxy-gen
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./bench/watchscale -bin "$bin" -n 1000 -events "${EVENTS_1K:-10000}" | tail -1
go run ./bench/watchscale -bin "$bin" -n 10000 -events "${EVENTS_10K:-1000}" | tail -1
