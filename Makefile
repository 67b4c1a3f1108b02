# Development tasks. `make test` is the project's test command (CI runs it from .ci/run).
.PHONY: build test test-short lint hapi-start hapi-stop hapi-build redis-start redis-stop

# The binary, as the Dockerfile's build stage and CI build it (one target, so the two cannot drift): static
# (CGO_ENABLED=0), -trimpath, stamped with VERSION and COMMIT (`utilreview version` prints them). Both default from
# git when .git exists (a checkout or a worktree), else "dev" and "unknown"; the Dockerfile passes them as build
# arguments, since .git is not in its context. BIN is where the binary goes.
ifneq ($(wildcard .git),)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
endif
VERSION ?= dev
COMMIT ?= unknown
BIN ?= bin/utilreview

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/utilreview

# All tests, with one real FHIR server (HAPI) and one Redis for the whole run (scripts/test.sh).
test:
	scripts/test.sh

# Unit tests only: starts nothing; tests that need the servers skip.
test-short:
	scripts/test.sh -short

lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

# A FHIR server and a Redis for development; scripts/test.sh reuses them while they run.
hapi-build:
	scripts/hapi.sh build

hapi-start:
	scripts/hapi.sh start

hapi-stop:
	scripts/hapi.sh stop

redis-start:
	scripts/redis.sh start

redis-stop:
	scripts/redis.sh stop
