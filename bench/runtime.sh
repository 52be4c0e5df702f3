#!/usr/bin/env bash
# Live changes over HAProxy's Runtime API vs reloads, against real Docker and
# real HAProxy (the tests' helper reuses a reachable daemon or starts a
# private dockerd):
#  1. a new replica of an existing route: from its container's start to its
#     first request served through HAProxy, by the runtime path
#     (--haproxy-socket) and by the reload path (--notify), with 10, 100 and
#     1,000 routes in the config. "after container" is the time from the
#     container itself answering to HAProxy serving it: what rproxy-gen and
#     HAProxy add. --wait 0 takes the debounce out; the last line shows the
#     runtime path with the default --wait 100ms:2s.
#  2. requests per second through HAProxy (16 keep-alive clients on one
#     route) during 50 replica changes of another route, one every 250 ms (a
#     replica paused and unpaused), and during as long with none, by each path.
# Usage: bash bench/runtime.sh            (as root; needs haproxy and docker.io)
#        SAMPLES=20 bash bench/runtime.sh  (replicas per configuration, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in haproxy dockerd; do
	command -v "$bin" >/dev/null || { echo "$bin missing: apt-get install -y haproxy docker.io (make test installs them)" >&2; exit 1; }
done
metric() { # metric NAME LINE: the value before unit NAME in a benchmark line
	awk -v unit="$1" '{ for (i = 3; i < NF; i++) if ($(i+1) == unit) print $i }' <<<"$2"
}
echo "new replica served (median [p90] after the container answers; median from its start; the container's own start-up)"
go test -count=1 -run '^$' -bench 'ReplicaServed' -benchtime "${SAMPLES:-10}x" -timeout 60m ./e2e | while read -r line; do
	case "$line" in
	BenchmarkReplicaServed/*)
		name=${line%% *}; name=${name#BenchmarkReplicaServed/}; name=${name%-*}
		printf "  %-30s %8.1f ms [%6.1f]   from start %7.1f ms   container %7.1f ms   reloads/change %s\n" "$name" \
			"$(metric ms-after-container "$line")" "$(metric ms-after-container-p90 "$line")" \
			"$(metric ms-from-start "$line")" "$(metric ms-container "$line")" "$(metric reloads/op "$line")" ;;
	FAIL*|"--- FAIL"*|*_test.go:[0-9]*) echo "$line" >&2 ;;
	esac
done
echo "requests per second on one route during 50 replica changes of another vs none (10 routes)"
go test -count=1 -run '^$' -bench 'ChurnRPS' -benchtime 1x -timeout 30m ./e2e | while read -r line; do
	case "$line" in
	BenchmarkChurnRPS/*)
		name=${line%% *}; name=${name#BenchmarkChurnRPS/}; name=${name%-*}
		printf "  %-8s idle %8.0f req/s   during changes %8.0f req/s (%5.1f %%)   %s reloads   %s failed   changes took %s s\n" "$name" \
			"$(metric rps-idle "$line")" "$(metric rps-churn "$line")" "$(metric %-of-idle "$line")" \
			"$(metric reloads "$line")" "$(metric failed "$line")" "$(metric s-churn "$line")" ;;
	FAIL*|"--- FAIL"*|*_test.go:[0-9]*) echo "$line" >&2 ;;
	esac
done
