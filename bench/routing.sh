#!/usr/bin/env bash
# Routing cost vs route count with real HAProxy and wrk (loopback only).
# Prints req/s for 1 and 10,000 routes and the ratio; --acl-chain adds the
# one-ACL-per-route design for comparison; --https measures https routes
# (TLS terminated, keep-alive connections) instead. Needs: haproxy, wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/routing "$@"
