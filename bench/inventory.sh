#!/usr/bin/env bash
# Benchmark of S3 Inventory input: a local inventory of ROWS rows (default 2,000,000; synthetic keys,
# written in an order that is not UTF-8 byte order, so the external sort runs) in FILES gzip CSV files,
# compared with itself by the release build; prints one JSON line: rows per side, wall s, rows/s (both
# sides), peak RSS. Then, for scale, rclone's and the server's figures are not comparable (no peer reads
# an inventory): the listing ceiling of bench/run.sh is what an inventory replaces.
#   bench/inventory.sh [ROWS] [FILES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
rows=${1:-2000000}; files=${2:-8}
scripts/install-deps.sh
swift build -c release --static-swift-stdlib >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta"
d=$(mktemp -d /tmp/bucket-delta-inventory-bench.XXXXXX)
trap 'rm -rf "$d"' EXIT
t0=$(date +%s.%N)
made=$(.venv/bin/python Tests/fixtures/make_inventory.py --bucket gen-src --local "$d/inv" --synthetic "$rows" \
  --files "$files" --created-ms "$(( ($(date +%s) + 60) * 1000 ))")
t1=$(date +%s.%N)
manifest=$(.venv/bin/python -c 'import json,sys; print(json.loads(sys.argv[1])["manifest_path"])' "$made")
cat > "$d/m.yaml" <<YAML
version: 1
endpoints:
  local: { url: "http://127.0.0.1:9", access_key_env: BD_AK, secret_key_env: BD_SK }
output: { dir: "$d/out", summary: "$d/out/summary.json" }
pairs:
  - name: p
    source: { endpoint: local, bucket: gen-src, inventory: "$manifest" }
    destination: { endpoint: local, bucket: gen-src, inventory: "$manifest" }
YAML
export BD_AK=unused BD_SK=unused BUCKET_DELTA_STATE_DIR="$d/state"
s=$(date +%s.%N)
/usr/bin/time -f %M -o "$d/rss" "$bin" run "$d/m.yaml" --log_level WARN
e=$(date +%s.%N)
.venv/bin/python - "$rows" "$s" "$e" "$(tail -1 "$d/rss")" "$t0" "$t1" "$(du -sb "$d/inv" | cut -f1)" <<'PY'
import json, sys
rows, s, e, rss, t0, t1, size = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
print(json.dumps({'label': 'inventory-vs-inventory', 'rows_per_side': rows, 'gzip_bytes': size,
                  'write_seconds': round(t1 - t0, 1), 'wall_s': round(e - s, 2),
                  'rows_per_s_both_sides': round(2 * rows / (e - s)), 'peak_rss_mb': round(rss / 1024, 1)}))
PY
