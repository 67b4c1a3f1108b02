#!/usr/bin/env bash
# scale.sh: `utilreview review` at hospital scale (issue 12), measured.
#
# Writes N distinct copies of the Synthea data in testdata/shared (the
# benchmarks' copy scheme: copy k>0 has every UUID's first group rewritten,
# TestWriteScaledSynthea), then for each N reviews them from disk and, in the
# same run, decodes the same files with plain single-threaded encoding/json
# into any (scripts/scale/decodeany). Prints per N: input bytes, wall and CPU
# seconds, peak resident memory (GNU time's maximum RSS) and its share of the
# input, the speed ratio review/decode, the findings and whether they are
# exactly N times those of one copy. Nothing is asserted: the figures go to
# docs/benchmarks.md.
#
# With FORMAT=ndjson the copies are written as a Bulk Data export instead:
# one NDJSON file per resource type, every patient mixed in each, references
# rewritten to Type/id (TestWriteScaledSyntheaNDJSON; 5.25 MB per copy).
#
# usage: scripts/scale.sh [N...]            (default: 1 10 100)
#   SCALE_DIR   where the copies go (default /tmp/utilreview-scale; 14.4 MB per copy)
#   FORMAT      bundles (default: Synthea's per-patient Bundles) or ndjson
#   ROUNDS      runs per N, review and decode interleaved (default 1)
#   REVIEW_ARGS extra flags for review (e.g. "--batch-mb 32 --workers 2")
set -euo pipefail
cd "$(dirname "$0")/.."

scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(1 10 100)
dir=${SCALE_DIR:-/tmp/utilreview-scale}
rounds=${ROUNDS:-1}
bin=$dir/bin
mkdir -p "$bin"
[ -x /usr/bin/time ] || { echo "scale.sh: needs GNU time at /usr/bin/time" >&2; exit 1; }

go build -o "$bin/utilreview" ./cmd/utilreview
go build -o "$bin/decodeany" ./scripts/scale/decodeany

# The review's clock: just after Synthea's newest encounter; moot findings
# raised, so that every finding of the history is in the output.
review_args=(review --no-progress --as-of 2021-04-01T12:00:00-04:00 --include-moot --format ndjson ${REVIEW_ARGS:-})

printf '%-6s %-5s %12s %9s %9s %9s %10s %7s %9s %9s %8s %9s %s\n' \
  N round input_bytes review_s cpu_s peak_MB rss/input dec_s dec_cpu_s speed MB/s findings "load(1m) before/after"
base=""
format=${FORMAT:-bundles}
for n in "${scales[@]}"; do
  if [ "$format" = ndjson ]; then
    data=$dir/nd$n
    gen=(env UTILREVIEW_SCALE_NDJSON_DIR="$data" UTILREVIEW_SCALE_N="$n" go test ./service/review -run '^TestWriteScaledSyntheaNDJSON$' -count=1 -timeout 30m)
  else
    data=$dir/x$n
    gen=(env UTILREVIEW_SCALE_DIR="$data" UTILREVIEW_SCALE_N="$n" go test ./service/review -run '^TestWriteScaledSynthea$' -count=1 -timeout 30m)
  fi
  if [ ! -f "$data/.complete" ]; then
    rm -rf "$data"
    "${gen[@]}" >/dev/null
    touch "$data/.complete"
  fi
  bytes=$(find "$data" \( -name '*.json' -o -name '*.ndjson' \) -printf '%s\n' | awk '{s+=$1} END {print s}')
  for r in $(seq 1 "$rounds"); do
    load0=$(cut -d' ' -f1 /proc/loadavg)
    run_review() {
      /usr/bin/time -f '%e %U %S %M' -o "$dir/review.time" "$bin/utilreview" "${review_args[@]}" "$data" >"$dir/out.ndjson" 2>"$dir/review.err" || true
    }
    run_decode() {
      /usr/bin/time -f '%e %U %S %M' -o "$dir/decode.time" "$bin/decodeany" "$data" >/dev/null
    }
    if [ $((r % 2)) = 1 ]; then run_review; run_decode; else run_decode; run_review; fi
    load1=$(cut -d' ' -f1 /proc/loadavg)
    read -r rw ru rs rm <"$dir/review.time"
    read -r dw du ds _ <"$dir/decode.time"
    findings=$(wc -l <"$dir/out.ndjson")
    [ "$n" = 1 ] && [ -z "$base" ] && base=$findings
    check=""
    [ -n "$base" ] && { [ "$findings" = $((base * n)) ] && check="(=${n}x)" || check="(want $((base * n)))"; }
    awk -v n="$n" -v r="$r" -v b="$bytes" -v rw="$rw" -v ru="$ru" -v rs="$rs" -v rm="$rm" -v dw="$dw" -v du="$du" -v ds="$ds" \
        -v f="$findings" -v c="$check" -v l0="$load0" -v l1="$load1" 'BEGIN {
      printf "%-6s %-5s %12.0f %9.2f %9.2f %9.0f %10.3f %7.2f %9.2f %8.2fx %9.1f %9s %s %s/%s\n",
        n, r, b, rw, ru+rs, rm/1024, rm*1024/b, dw, du+ds, dw/rw, b/1e6/rw, f, c, l0, l1 }'
    grep -q '^Errors: 0' "$dir/review.err" || { echo "review reported input problems:" >&2; tail -5 "$dir/review.err" >&2; }
  done
done
