#!/usr/bin/env bash
# Runs a throwaway redis-server on a free loopback port for development and tests.
#
#   scripts/redis.sh start    start (or reuse the one this checkout started) and print its address
#   scripts/redis.sh stop     stop it by its PID
#   scripts/redis.sh status   exit 0 and print the address when running, exit 1 otherwise
#   scripts/redis.sh addr     print the address (e.g. 127.0.0.1:41234)
#
# Environment:
#   UTILREVIEW_CACHE_DIR   state directory (default: <repo>/.cache); Redis's is <cache>/redis
#   REDIS_PORT             fixed port instead of a free one
#   REDIS_PERSIST=1        keep data (append-only file under the state directory); default: memory only
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${UTILREVIEW_CACHE_DIR:-$repo/.cache}/redis"
pidfile="$state/redis.pid"
addrfile="$state/redis.addr"
logfile="$state/redis.log"
mkdir -p "$state"

log() { printf 'redis.sh: %s\n' "$*" >&2; }

# shellcheck source=lib/server.sh
source "$repo/scripts/lib/server.sh"
lock() { server_lock 120; }
running() { server_running; }

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pong() {
	[[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == "PONG" ]]
}

start() {
	if running && [[ -f "$addrfile" ]] && pong "$(cut -d: -f2 "$addrfile")"; then
		log "already running at $(cat "$addrfile") (pid $(cat "$pidfile"))"
		cat "$addrfile"
		return 0
	fi
	command -v redis-server >/dev/null || { log "redis-server not found: apt-get install -y redis-server"; exit 1; }
	rm -f "$pidfile" "$addrfile"

	local persist=(--save "" --appendonly no)
	if [[ "${REDIS_PERSIST:-0}" == 1 ]]; then
		mkdir -p "$state/data"
		persist=(--save "" --appendonly yes)
	fi

	local attempt port
	for attempt in $(seq 1 20); do
		port="${REDIS_PORT:-$((20000 + RANDOM % 40000))}"
		port_in_use "$port" && continue
		# Foreground process in the background (no --daemonize) so that $! is the server's PID.
		setsid redis-server --bind 127.0.0.1 --port "$port" --dir "$state" --dbfilename dump.rdb \
			--appenddirname data "${persist[@]}" --protected-mode yes \
			</dev/null >"$logfile" 2>&1 9>&- &
		echo $! >"$pidfile"
		for _ in $(seq 1 50); do
			if pong "$port"; then
				echo "127.0.0.1:$port" >"$addrfile"
				log "ready at 127.0.0.1:$port (pid $(cat "$pidfile"))"
				cat "$addrfile"
				return 0
			fi
			running || break
			sleep 0.1
		done
		# Lost a race for the port, or failed: try another unless the port was fixed.
		stop
		[[ -n "${REDIS_PORT:-}" ]] && break
		log "attempt $attempt on port $port failed"
	done
	tail -n 20 "$logfile" >&2
	log "could not start redis-server"
	exit 1
}

stop() { server_stop 5 "$addrfile"; }

case "${1:-}" in
start) lock && start ;;
stop) lock && stop ;;
status)
	if running && [[ -f "$addrfile" ]]; then cat "$addrfile"; else
		echo "not running"
		exit 1
	fi
	;;
addr)
	running && [[ -f "$addrfile" ]] || { log "not running (scripts/redis.sh start)"; exit 1; }
	cat "$addrfile"
	;;
*)
	echo "usage: $0 start|stop|status|addr" >&2
	exit 2
	;;
esac
