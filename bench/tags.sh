#!/usr/bin/env bash
# Benchmark of tagging_count_header (issue #18), one JSON line per run, side by side on the same pairs:
# SeaweedFS pairs of N objects (default 20,000) with planted differences (bench/populate.py), one untagged
# and one with 5% of the objects tagged; on each a deep check by
#   - this build (release) with tagging_count_header trust (SeaweedFS sends x-amz-tagging-count; auto
#     trusts it only once it has seen it, so on the untagged pair auto fetches every object's tags), and
#     with auto,
#   - the previous build (PREVIOUS, a git revision built in a kept worktree; default: the commit before
#     tagging_count_header), which fetches tags for every object,
#   - the seed-faithful baseline (../shared/bench/baseline, if present),
# with objects/s, requests per object (from the summaries), client CPU per object and peak RSS; whether
# the two builds' reports are identical; then the process start cost of one worker (CPU, RSS).
#   bench/tags.sh [N] [PROCESSES] [CONNECTIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
n=${1:-20000}; procs=${2:-10}; conns=${3:-10}
previous=${PREVIOUS:-$(git log --format=%H -1 --grep='^tagging_count_header (#18' | xargs -I{} git rev-parse {}^)}
scripts/install-deps.sh
swift build -c release --static-swift-stdlib >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta"
prev_tree=/tmp/bucket-delta-prev-${previous:0:12}
if [ ! -x "$prev_tree/.build/release/bucket-delta" ]; then
  [ -d "$prev_tree" ] || git worktree add --detach "$prev_tree" "$previous" >/dev/null
  (cd "$prev_tree" && swift build -c release >/dev/null)
fi
prev_bin="$prev_tree/.build/release/bucket-delta"
state=$(mktemp -d /tmp/bucket-delta-bench.XXXXXX)
trap 'scripts/test-servers.sh stop "$state"' EXIT
scripts/test-servers.sh start "$state"
source "$state/env"
export BD_S3_ACCESS_KEY BD_S3_SECRET_KEY
export AWS_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
export BUCKET_DELTA_STATE_DIR="$state/bd-state"
url=$BD_SEAWEED_URL
out=$state/out; mkdir -p "$out"
echo "{\"this_build\": \"$(git rev-parse --short HEAD)\", \"previous_build\": \"${previous:0:12}\"}"

summary_line() {  # LABEL SUMMARY: requests per object and what the tags cost
  .venv/bin/python -c '
import json, sys
p = json.load(open(sys.argv[2]))["pairs"][0]
n = max(1, p["objects_compared"])
print(json.dumps({"label": sys.argv[1], "requests": p["requests"], "requests_per_object": round(p["requests"] / n, 3),
                  "tag_fetches_saved": p.get("tag_fetches_saved")}))' "$1" "$2"
}

for pct in 0 5; do
  a=tg$pct-a; b=tg$pct-b
  .venv/bin/python bench/populate.py --endpoint "$url" --bucket-a "$a" --bucket-b "$b" -n "$n" --tagged-percent "$pct" \
    | sed "s/^{/{\"tagged_percent\": $pct, /"
  common=(--source_bucket_name "$a" --source_endpoint_url "$url" --destination_bucket_name "$b"
    --destination_endpoint_url "$url" --num_processes "$procs" --num_connections "$conns" --shallow_check false)
  trust=(--source_tagging_count_header trust --destination_tagging_count_header trust)
  .venv/bin/python bench/measure.py "this-build-trust-tagged-$pct%" -- "$bin" "${common[@]}" "${trust[@]}" \
    --output_file "$out/new-$pct.txt" --summary "$out/new-$pct.json" --no-progress
  summary_line "this-build-trust-tagged-$pct%" "$out/new-$pct.json"
  .venv/bin/python bench/measure.py "this-build-auto-tagged-$pct%" -- "$bin" "${common[@]}" \
    --output_file "$out/auto-$pct.txt" --summary "$out/auto-$pct.json" --no-progress
  summary_line "this-build-auto-tagged-$pct%" "$out/auto-$pct.json"
  .venv/bin/python bench/measure.py "previous-build-tagged-$pct%" -- "$prev_bin" "${common[@]}" \
    --output_file "$out/old-$pct.txt" --summary "$out/old-$pct.json" --no-progress
  summary_line "previous-build-tagged-$pct%" "$out/old-$pct.json"
  if cmp -s "$out/new-$pct.txt" "$out/old-$pct.txt" && cmp -s "$out/auto-$pct.txt" "$out/old-$pct.txt"; then
    same=true
  else
    same=false
  fi
  echo "{\"tagged_percent\": $pct, \"reports_identical\": $same, \"lines\": $(wc -l < "$out/new-$pct.txt")}"
  baseline=../shared/bench/baseline/bucket_delta_baseline.py
  if [ -f "$baseline" ] && [ -z "${SKIP_BASELINE:-}" ]; then
    .venv/bin/python bench/measure.py "baseline-tagged-$pct%" -- .venv/bin/python "$baseline" "${common[@]}" \
      --source_access_key "$BD_S3_ACCESS_KEY" --source_secret_key "$BD_S3_SECRET_KEY" \
      --destination_access_key "$BD_S3_ACCESS_KEY" --destination_secret_key "$BD_S3_SECRET_KEY" \
      --output_file "$out/base-$pct.txt"
  fi
done

# Process start cost: a worker that finds no configuration on stdin and exits, 20 times.
for b in "$bin" "$prev_bin"; do
  /usr/bin/time -f "%U %S %M" -o "$out/start.txt" bash -c "for i in \$(seq 20); do $b __worker < /dev/null 2>/dev/null; done; true"
  read -r u s _ < "$out/start.txt"
  /usr/bin/time -f "%M" -o "$out/rss.txt" "$b" __worker < /dev/null 2>/dev/null || true
  echo "{\"worker_start\": \"$b\", \"cpu_s_per_start\": $(echo "scale=4; ($u + $s) / 20" | bc), \"peak_rss_kb\": $(cat "$out/rss.txt" | tail -1), \"linked_swift_libraries\": $(ldd "$b" | grep -c -E 'libswift|libFoundation' || true)}"
done
