#!/usr/bin/env bash
# The test command (`make test`): runs `go test` over every package (libraries and e2e/ first, then cmd/) against one real FHIR server (HAPI FHIR, scripts/hapi.sh)
# and one Redis (scripts/redis.sh) shared by every package of the run.
#
#   scripts/test.sh [go test flags] [packages]     e.g. scripts/test.sh -run TestSubscription ./e2e/
#
# - UTILREVIEW_TEST_FHIR_URL / UTILREVIEW_TEST_REDIS_ADDR already set: those servers are used as they are.
# - otherwise a server this checkout already runs (scripts/hapi.sh start by hand) is reused and left running;
#   anything this script starts, it stops when it ends.
# - with -short nothing is started: tests that need the servers skip.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

short=0
packages=()
for arg in "$@"; do
	case "$arg" in
	-short | --short | -short=true | -test.short) short=1 ;;
	./* | ...) packages+=("$arg") ;;
	esac
done
default_packages=0
((${#packages[@]})) || default_packages=1

started_hapi=0
started_redis=0
cleanup() {
	local rc=$?
	((started_hapi)) && scripts/hapi.sh stop || true
	((started_redis)) && scripts/redis.sh stop || true
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((!short)); then
	if [[ -z "${UTILREVIEW_TEST_REDIS_ADDR:-}" ]]; then
		if addr="$(scripts/redis.sh status 2>/dev/null)"; then
			echo "test.sh: reusing Redis at $addr" >&2
		else
			started_redis=1
			addr="$(scripts/redis.sh start)"
		fi
		export UTILREVIEW_TEST_REDIS_ADDR="$addr"
	fi
	if [[ -z "${UTILREVIEW_TEST_FHIR_URL:-}" ]]; then
		if url="$(scripts/hapi.sh status 2>/dev/null)"; then
			echo "test.sh: reusing FHIR server at $url" >&2
		else
			t0=$SECONDS
			started_hapi=1
			url="$(scripts/hapi.sh start)"
			echo "test.sh: FHIR server ready in $((SECONDS - t0)) s" >&2
		fi
		export UTILREVIEW_TEST_FHIR_URL="$url"
	fi
	echo "test.sh: UTILREVIEW_TEST_FHIR_URL=$UTILREVIEW_TEST_FHIR_URL UTILREVIEW_TEST_REDIS_ADDR=$UTILREVIEW_TEST_REDIS_ADDR" >&2
fi

t0=$SECONDS
# Bounded as a whole; a flag given on the command line comes later and wins.
# -parallel 8: the end-to-end tests mostly wait on the servers (retries take a minute), not on the CPU.
if ((default_packages)); then
	# Two rounds on the one HAPI: the measurements of HAPI's own delivery (e2e/) and the libraries first, then
	# the live service's end-to-end tests (cmd/), whose crashes, outages and restarts make HAPI retry
	# notifications on delivery threads every Subscription shares, which would delay the measurements' own.
	rc=0
	go test -timeout 20m -parallel 8 "$@" $(go list ./... | grep -v '/cmd/') || rc=$?
	# -parallel 4 here: each live-service test makes its own 10 Subscriptions (two replicas' worth in some), and 8
	# at once drove HAPI's H2 into lock timeouts (HAPI-0389 on Subscription deletes, Subscriptions never active).
	go test -timeout 20m -parallel 4 "$@" ./cmd/... || rc=$?
	echo "test.sh: go test took $((SECONDS - t0)) s" >&2
	exit "$rc"
fi
go test -timeout 20m -parallel 8 "$@"
echo "test.sh: go test took $((SECONDS - t0)) s" >&2
