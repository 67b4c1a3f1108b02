#!/usr/bin/env bash
# Runs a command in a fresh clone of this checkout, in a new temporary directory with nothing beside it (no
# ../shared): the proof that the repository stands alone. CI's .ci/run runs itself this way.
#
#   scripts/standalone.sh [command ...]     default: make test
#   scripts/standalone.sh make test-short   the unit tests only, quickly
#
# The clone is `git clone` of this checkout at HEAD, plus what the checkout has not committed (changes to tracked
# files, and untracked files git does not ignore), so the command sees what a commit of the checkout as it stands
# would hold; ignored files (.cache/, e2e/hapi/target/, binaries) are not carried. The command runs in the clone's
# root with UTILREVIEW_STANDALONE_CLONE set to that path; the clone is removed when the command ends
# (UTILREVIEW_STANDALONE_KEEP=1 keeps it and prints where it is).
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'standalone.sh: %s\n' "$*" >&2; }

git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || {
	log "$src is not a git checkout: there is nothing to clone"
	exit 2
}
(($#)) || set -- make test

tmp="$(mktemp -d "${TMPDIR:-/tmp}/utilreview-standalone.XXXXXX")"
cleanup() {
	local rc=$?
	if [[ "${UTILREVIEW_STANDALONE_KEEP:-}" == 1 ]]; then
		log "kept the clone at $tmp/utilreview"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clone="$tmp/utilreview"
head="$(git -C "$src" rev-parse HEAD)"
git -c advice.detachedHead=false clone -q "$src" "$clone"
# HEAD may be detached (CI checks out a commit): check out exactly that commit.
git -C "$clone" checkout -q --detach "$head"
if ! git -C "$src" diff --quiet HEAD --; then
	log "carrying the checkout's uncommitted changes to tracked files into the clone"
	git -C "$src" diff --binary HEAD -- | git -C "$clone" apply --binary --whitespace=nowarn
fi
untracked="$(git -C "$src" ls-files --others --exclude-standard | wc -l)"
if ((untracked)); then
	log "carrying $untracked untracked file(s) git does not ignore into the clone"
	(cd "$src" && git ls-files -z --others --exclude-standard | xargs -0 cp --parents -t "$clone")
fi
# Nothing beside the clone: a fresh directory holds only it.
if [[ -e "$tmp/shared" ]] || [[ "$(ls -A "$tmp")" != utilreview ]]; then
	log "$tmp holds more than the clone"
	exit 1
fi

log "running '$*' in $clone (HEAD ${head:0:12}; nothing beside it)"
cd "$clone"
rc=0
UTILREVIEW_STANDALONE_CLONE="$clone" "$@" || rc=$?
exit "$rc"
