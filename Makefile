# Development tasks. `make test` is the project's test command (CI runs it from .ci/run).
.PHONY: test test-short lint hapi-start hapi-stop hapi-build redis-start redis-stop

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
