#!/usr/bin/env bash
# Runs every test of rproxy-gen: unit, golden, fuzz, real HAProxy, real
# nginx, real Docker (and the other real components the e2e tests use).
# Installs what is missing (Debian, as root). The tests themselves find a
# Docker daemon or start a private one (internal/dockertest). Usage: make test
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

# --- packages -----------------------------------------------------------------
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
ls /usr/lib/nginx/modules/ngx_stream_module.so >/dev/null 2>&1 || missing+=(libnginx-mod-stream)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v wrk >/dev/null || missing+=(wrk)
command -v ip >/dev/null || missing+=(iproute2)
command -v socat >/dev/null || missing+=(socat)
command -v openssl >/dev/null || missing+=(openssl)
command -v podman >/dev/null || missing+=(podman)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if ((${#missing[@]})); then
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		echo "missing: ${missing[*]}; install them (Debian: apt-get install -y ${missing[*]}) and run again" >&2
		exit 1
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
	# Debian's packages start their services; the tests start their own.
	for svc in haproxy nginx docker containerd; do
		(service "$svc" stop || true) >/dev/null 2>&1
	done
fi

# --- checks and tests ---------------------------------------------------------
log "gofmt and go vet"
unformatted=$(gofmt -l . | grep -v '^testdata/' || true)
if [[ -n $unformatted ]]; then
	echo "gofmt needed on: $unformatted" >&2
	exit 1
fi
go vet ./...

log "go test ./... (unit, golden, real HAProxy, nginx and Docker)"
go test -count=1 -timeout 15m ./...

# Budgets are counts of executions, never durations: Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" when a
# -fuzztime duration expires while a worker is mid-call (go.dev/issue/75804).
# A count has no deadline to race. Cheap targets get more executions; each
# target takes a few seconds. FUZZEXECS overrides every budget.
fuzz_execs() {
	case $1 in
	FuzzParseEntry | FuzzSplitQuoted | FuzzQuote) echo 100000 ;;
	FuzzParseWait | FuzzParseSignal) echo 50000 ;;
	FuzzClassify | FuzzParse) echo 30000 ;;
	*) echo 3000 ;;
	esac
}

log "fuzz: every target, briefly"
for target in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs grep -ho '^func Fuzz[A-Za-z0-9_]*' | sed 's/^func //' | sort -u); do
	pkg=$(dirname "$(grep -rl --include='*_test.go' "^func $target(" . | head -1)")
	log "fuzz $target ($pkg)"
	go test -run '^$' -fuzz "^$target\$" -fuzztime "${FUZZEXECS:-$(fuzz_execs "$target")}x" "$pkg"
done
