#!/usr/bin/env bash
# Routing cost vs route count with real HAProxy and wrk (loopback only), with
# the built-in template as shipped (every server actively health-checked, the
# worst case). Prints req/s for 1 and 10,000 routes and the ratio. Each
# HAProxy runs alone while it is measured (the others are stopped), runs
# alternate between configs round after round, and medians count.
# --acl-chain adds the one-ACL-per-route design for comparison; --https
# measures https routes (TLS terminated, keep-alive connections) instead;
# -rounds N and -duration D set the runs. Needs: haproxy, wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)"
go run ./bench/routing "$@"
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
