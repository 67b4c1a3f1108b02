#!/usr/bin/env bash
# Runs the utilreview test FHIR server (HAPI FHIR R4 JPA, e2e/hapi) on the JVM.
#
#   scripts/hapi.sh build    build e2e/hapi once; rebuilds only when its pom or sources changed
#   scripts/hapi.sh start    build, start on a free loopback port, wait until /fhir/metadata answers
#   scripts/hapi.sh stop     stop the server this checkout started (by its PID)
#   scripts/hapi.sh status   exit 0 and print the base URL when running, exit 1 otherwise
#   scripts/hapi.sh url      print the base URL (e.g. http://127.0.0.1:40123/fhir)
#   scripts/hapi.sh log      print the server log's last lines
#
# Environment:
#   UTILREVIEW_CACHE_DIR          state directory (default: <repo>/.cache); the server's is <cache>/hapi
#   HAPI_HEAP                     JVM max heap (default 4g: 1536m ran out under the live service's tests)
#   HAPI_START_TIMEOUT            seconds to wait for /fhir/metadata (default 300)
#   HAPI_PORT                     fixed port instead of a free one
#   UTILREVIEW_HAPI_VALIDATE_REQUESTS  true (default) | false: HAPI's validator on every write
#   HAPI_MAVEN_ARGS                    extra arguments for mvn (e.g. -o, -Dmaven.repo.local=...)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$repo/e2e/hapi"
state="${UTILREVIEW_CACHE_DIR:-$repo/.cache}/hapi"
pidfile="$state/hapi.pid"
urlfile="$state/hapi.url"
logfile="$state/hapi.log"
mkdir -p "$state"

log() { printf 'hapi.sh: %s\n' "$*" >&2; }

# shellcheck source=lib/server.sh
source "$repo/scripts/lib/server.sh"
lock() { server_lock 600; }
running() { server_running; }

# source_hash covers everything that changes the build's result.
source_hash() {
	(cd "$project" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

classpath_complete() {
	[[ -s "$project/target/classpath.txt" && -f "$project/target/utilreview-hapi-1.0.0.jar" ]] || return 1
	local jar
	while IFS= read -r -d ':' jar; do
		[[ -f "$jar" ]] || return 1
	done < <(cat "$project/target/classpath.txt"; printf ':')
}

build() {
	local want have=""
	want="$(source_hash)"
	[[ -f "$state/build.sha" ]] && have="$(cat "$state/build.sha")"
	if [[ "$want" == "$have" ]] && classpath_complete; then
		return 0
	fi
	command -v mvn >/dev/null || { log "mvn not found: install Maven 3.8+"; exit 1; }
	log "building e2e/hapi (the first build downloads ~360 MB of dependencies into the Maven repository)"
	local t0=$SECONDS
	# shellcheck disable=SC2086 # HAPI_MAVEN_ARGS is a list of words
	mvn -B -q -f "$project/pom.xml" ${HAPI_MAVEN_ARGS:-} package >"$state/build.log" 2>&1 || {
		tail -n 60 "$state/build.log" >&2
		log "build failed (full log: $state/build.log)"
		exit 1
	}
	echo "$want" >"$state/build.sha"
	log "built in $((SECONDS - t0)) s"
}


metadata_ok() {
	curl -sf -m 10 -o /dev/null -H 'Accept: application/fhir+json' "$1/metadata"
}

start() {
	if running && [[ -f "$urlfile" ]] && metadata_ok "$(cat "$urlfile")"; then
		log "already running at $(cat "$urlfile") (pid $(cat "$pidfile"))"
		cat "$urlfile"
		return 0
	fi
	command -v java >/dev/null || { log "java not found: install a JDK 17+"; exit 1; }
	command -v curl >/dev/null || { log "curl not found"; exit 1; }
	# A server that runs but does not answer (a failed or stuck start) is stopped first.
	running && stop
	build
	rm -f "$urlfile" "$pidfile"

	local port="${HAPI_PORT:-0}" t0=$SECONDS deadline=$((SECONDS + ${HAPI_START_TIMEOUT:-300}))
	local cp="$project/target/utilreview-hapi-1.0.0.jar:$(cat "$project/target/classpath.txt")"
	# The log exists before the loop below reads it (the background redirection may come later).
	: >"$logfile"
	# setsid: the server survives the shell that started it and is stopped only by `stop`.
	setsid java -Xms256m -Xmx"${HAPI_HEAP:-4g}" -XX:+UseParallelGC -XX:ActiveProcessorCount=2 \
		-Djava.awt.headless=true -cp "$cp" org.utilreview.hapi.TestFhirServer \
		--server.address=127.0.0.1 --server.port="$port" \
		--utilreview.hapi.topics-dir="$project/topics" \
		</dev/null >"$logfile" 2>&1 9>&- &
	echo $! >"$pidfile"
	log "starting (pid $!, log $logfile)"

	local url=""
	while ((SECONDS < deadline)); do
		if ! running; then
			tail -n 80 "$logfile" >&2
			log "server exited during start"
			rm -f "$pidfile"
			exit 1
		fi
		if [[ -z "$url" ]]; then
			# With port 0 Tomcat picks a free port and logs it.
			port="$(sed -n 's/.*Tomcat started on port \([0-9]*\).*/\1/p' "$logfile" | head -n 1)"
			[[ -n "$port" ]] && url="http://127.0.0.1:$port/fhir"
		fi
		if [[ -n "$url" ]] && grep -q 'utilreview test FHIR server started' "$logfile" && metadata_ok "$url"; then
			echo "$url" >"$urlfile"
			echo "$((SECONDS - t0))" >"$state/start-seconds"
			log "ready at $url after $((SECONDS - t0)) s"
			echo "$url"
			return 0
		fi
		sleep 1
	done
	tail -n 80 "$logfile" >&2
	log "not ready after ${HAPI_START_TIMEOUT:-300} s; stopping it"
	stop
	exit 1
}

stop() { server_stop 30 "$urlfile"; }

case "${1:-}" in
build) lock && build ;;
start) lock && start ;;
stop) lock && stop ;;
status)
	if running && [[ -f "$urlfile" ]]; then cat "$urlfile"; else
		echo "not running"
		exit 1
	fi
	;;
url)
	running && [[ -f "$urlfile" ]] || { log "not running (scripts/hapi.sh start)"; exit 1; }
	cat "$urlfile"
	;;
log) tail -n "${2:-100}" "$logfile" ;;
*)
	echo "usage: $0 build|start|stop|status|url|log" >&2
	exit 2
	;;
esac
