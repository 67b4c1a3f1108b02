# Shared by scripts/hapi.sh and scripts/redis.sh: a throwaway server this checkout started, known by the PID in
# $pidfile, with its state files in $state. The caller sets state, pidfile and log() before sourcing this.

# server_lock SECONDS: one script at a time per state directory changes the server (start, stop, build).
server_lock() {
	exec 9>"$state/lock"
	flock -w "$1" 9 || { log "another $(basename "$0") holds $state/lock"; exit 1; }
}

server_running() {
	[[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# server_stop SECONDS [FILE...]: stop the server by its PID (TERM, then KILL after SECONDS) and remove the PID file
# and the other state FILEs that describe a running server.
server_stop() {
	local wait="$1"
	shift
	if ! server_running; then
		rm -f "$pidfile" "$@"
		return 0
	fi
	local pid
	pid="$(cat "$pidfile")"
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < wait * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop in $wait s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 1
	fi
	rm -f "$pidfile" "$@"
	log "stopped pid $pid"
}
