#!/usr/bin/env bash
# Runs every test of rproxy-gen: unit, golden, fuzz regression, real HAProxy,
# real nginx and real Docker. Installs what is missing (Debian, as root) and
# starts a private Docker daemon when none answers. Usage: make test
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

# --- Docker daemon ------------------------------------------------------------
# Reuse a reachable daemon (DOCKER_HOST or the default socket); else start a
# private one that the tests share, and stop it at the end.
docker_ok() { docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }
started_dockerd=""
if ! docker_ok; then
	sock=/tmp/rpg-docker.sock
	export DOCKER_HOST=unix://$sock
	if ! docker_ok; then
		log "starting a private dockerd on $sock"
		if [[ -f /tmp/rpg-docker.pid ]]; then
			kill "$(cat /tmp/rpg-docker.pid)" 2>/dev/null || true
			sleep 1
			rm -f /tmp/rpg-docker.pid
		fi
		dockerd --host "$DOCKER_HOST" --data-root /tmp/rpg-docker --exec-root /tmp/rpg-exec \
			--pidfile /tmp/rpg-docker.pid >/tmp/rpg-dockerd.log 2>&1 &
		started_dockerd=$!
		for _ in $(seq 1 120); do
			docker_ok && break
			sleep 0.5
		done
		if ! docker_ok; then
			tail -n 30 /tmp/rpg-dockerd.log >&2
			echo "dockerd did not come up" >&2
			exit 1
		fi
	fi
fi
cleanup() {
	if [[ -n $started_dockerd ]]; then
		log "stopping the private dockerd"
		kill "$started_dockerd" 2>/dev/null || true
		wait "$started_dockerd" 2>/dev/null || true
	fi
}
trap cleanup EXIT
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
log "Docker: $DOCKER_HOST (API $(docker version --format '{{.Server.APIVersion}}'))"

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

log "fuzz regression: the RPROXY parser, briefly"
go test -run '^$' -fuzz '^FuzzParseEntry$' -fuzztime 10s ./model
