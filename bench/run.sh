#!/usr/bin/env bash
# Benchmark: a SeaweedFS pair of N objects (default 100,000) with planted differences; bucket-delta's
# shallow and deep checks (release build), and, when ../shared/bench/baseline exists, the Python tool
# we replace on the same pair with the same process/connection counts. Prints one JSON line per run.
#   bench/run.sh [N] [PROCESSES] [CONNECTIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
n=${1:-100000}; procs=${2:-10}; conns=${3:-10}
scripts/install-deps.sh
swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)/bucket-delta"
state=$(mktemp -d /tmp/bucket-delta-bench.XXXXXX)
trap 'scripts/test-servers.sh stop "$state"' EXIT
scripts/test-servers.sh start "$state"
source "$state/env"
t0=$(date +%s)
.venv/bin/python bench/populate.py --endpoint "$BD_SEAWEED_URL" --bucket-a bench-a --bucket-b bench-b -n "$n"
echo "{\"populate_seconds\": $(( $(date +%s) - t0 ))}"
common=(--source_bucket_name bench-a --source_endpoint_url "$BD_SEAWEED_URL" --destination_bucket_name bench-b
  --destination_endpoint_url "$BD_SEAWEED_URL" --num_processes "$procs" --num_connections "$conns")
export AWS_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
out=$(mktemp -d)
.venv/bin/python bench/measure.py bucket-delta-shallow -- "$bin" "${common[@]}" --output_file "$out/s.txt"
.venv/bin/python bench/measure.py bucket-delta-deep -- "$bin" "${common[@]}" --output_file "$out/d.txt" --shallow_check false
baseline=../shared/bench/baseline/bucket_delta_baseline.py
if [ -f "$baseline" ]; then
  keys=(--source_access_key "$BD_S3_ACCESS_KEY" --source_secret_key "$BD_S3_SECRET_KEY"
    --destination_access_key "$BD_S3_ACCESS_KEY" --destination_secret_key "$BD_S3_SECRET_KEY")
  .venv/bin/python bench/measure.py baseline-shallow -- .venv/bin/python "$baseline" "${common[@]}" "${keys[@]}" --output_file "$out/bs.txt"
  .venv/bin/python bench/measure.py baseline-deep -- .venv/bin/python "$baseline" "${common[@]}" "${keys[@]}" --output_file "$out/bd.txt" --shallow_check false
  for m in s d; do
    b="$out/b$m.txt"; o="$out/$m.txt"
    if diff <(sort "$b") <(sort "$o") >/dev/null; then echo "{\"reports_agree_${m}\": true, \"lines\": $(wc -l < "$o")}"; else echo "{\"reports_agree_${m}\": false}"; fi
  done
fi
