# Everyday targets. `make test` is the one command that runs every test.
GO ?= go

.PHONY: build image test unit example bench latency golden fuzz

# A release is built from a tag: VERSION is the tag (v1.2.3) when HEAD is
# tagged, or v1.2.3-4-gabcdef0 after it, with -dirty for local changes;
# without a tag it is dev+COMMIT. Outside git (or with VERSION= empty) the
# binary falls back to the Go build info. Override: make build VERSION=v1.2.3
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || git rev-parse --short=12 HEAD 2>/dev/null | sed 's/^/dev+/')
LDFLAGS := $(if $(VERSION),-X main.version=$(VERSION))

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/rproxy-gen ./cmd/rproxy-gen

# The sidecar image (FROM scratch, non-root), built offline from bin/.
image: build
	DOCKER_BUILDKIT=0 docker build -t rproxy-gen .

# All tests: installs missing packages (as root on Debian), starts a private
# dockerd if none answers, then gofmt, go vet, go test ./... and a fuzz run.
test:
	bash scripts/test.sh

# Fast tests only (-short): no HAProxy, nginx or Docker needed.
unit:
	$(GO) test -short ./...

example:
	$(GO) run ./cmd/rproxy-gen --from testdata/example.json

golden:
	$(GO) test ./render -run Golden -update

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseEntry$$' -fuzztime 2000000x ./model

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./render ./source
	bash bench/compile.sh
	bash bench/routing.sh
	bash bench/haproxy-scale.sh
	bash bench/burst.sh
	bash bench/latency.sh
	bash bench/watch-memory.sh
	bash bench/watch-scale.sh

# Event-to-route latency through real Docker and HAProxy.
latency:
	bash bench/latency.sh
