#!/usr/bin/env bash
# Benchmark of the verification ladder's top rungs, printed as one JSON line per run (issue #16):
#   1. A re-chunked pair (bench/populate_rechunk.py: OBJECTS x SIZE_MB MiB, 8 MiB parts on the source,
#      5 MiB on the destination, so every ETag differs; 2 one-byte changes, 1 missing object), compared
#      REPS times each, side by side:
#        - bucket-delta --verify content (release build): reads one side where recomputed ETags prove it;
#        - rclone check --download (Debian's rclone): reads both sides;
#        - the server's ceiling for reading one side: parallel raw GETs to /dev/null (curl --aws-sigv4);
#        - the seed-faithful baseline (../shared/bench/baseline, if present), shallow: what it reports.
#      Per run: wall time, client CPU (user+sys, workers included), CPU per GB read, peak RSS, server CPU,
#      bytes read from the servers, and whether exactly the planted differences were found.
#   2. The HEAD-only cost of verify: checksum on a HEAD_OBJECTS pair (bench/populate.py): a deep check
#      without tags (two HEADs per object): requests per object and objects/s.
#   bench/verify-content.sh            OBJECTS=64 SIZE_MB=32 REPS=3 HEAD_OBJECTS=20000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
objects=${OBJECTS:-64}; size_mb=${SIZE_MB:-32}; reps=${REPS:-3}; head_objects=${HEAD_OBJECTS:-20000}
scripts/install-deps.sh
command -v rclone >/dev/null || apt-get install -y -q rclone >/dev/null
swift build -c release --static-swift-stdlib >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/bucket-delta"
state=$(mktemp -d /tmp/bucket-delta-bench.XXXXXX)
trap 'scripts/test-servers.sh stop "$state"' EXIT
scripts/test-servers.sh start "$state"
source "$state/env"
export BD_S3_ACCESS_KEY BD_S3_SECRET_KEY
url=$BD_SEAWEED_URL
out=$state/out; mkdir -p "$out"
weed=$(pgrep -f "weed mini.*$state" | head -1 || pgrep -f "weed mini" | head -1)
server_cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$weed/stat"; }

t0=$(date +%s)
planted=$(.venv/bin/python bench/populate_rechunk.py --endpoint "$url" --bucket-a rc-a --bucket-b rc-b \
  --objects "$objects" --size-mb "$size_mb")
echo "{\"populate_seconds\": $(( $(date +%s) - t0 )), \"planted\": $planted}"
expected=$(echo "$planted" | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(d["changed"] + d["missing"])))')

export AWS_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
export BUCKET_DELTA_STATE_DIR="$state/bd-state"
export RCLONE_CONFIG_SW_TYPE=s3 RCLONE_CONFIG_SW_PROVIDER=SeaweedFS RCLONE_CONFIG_SW_ENDPOINT="$url"
export RCLONE_CONFIG_SW_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" RCLONE_CONFIG_SW_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"

# One measured run: LABEL BYTES_CMD FOUND_CMD -- CMD...; adds server CPU, bytes read and the keys found.
run() {
  local label=$1 bytes_cmd=$2 found_cmd=$3; shift 4
  local s0 s1 m bytes found
  s0=$(server_cpu)
  m=$(.venv/bin/python bench/measure.py "$label" --objects "$objects" -- "$@")
  s1=$(server_cpu)
  bytes=$(eval "$bytes_cmd")
  found=$(eval "$found_cmd")
  echo "$m" | .venv/bin/python -c '
import json, sys
m = json.loads(sys.stdin.read())
server, bytes_read, found, expected = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
gb = bytes_read / 1e9
m.update({"server_cpu_s": round(server, 2), "bytes_read": bytes_read,
          "client_cpu_s_per_gb": round(m["cpu_s"] / gb, 2) if gb else None,
          "found": found.split(), "found_exactly_the_planted": sorted(found.split()) == sorted(expected.split())})
for k in ("objects_per_s_logged", "objects_per_s_wall", "cpu_ms_per_object"):
    m.pop(k, None)
print(json.dumps(m))' "$(echo "$s1 - $s0" | bc)" "$bytes" "$found" "$expected"
}

for i in $(seq "$reps"); do
  run bucket-delta-verify-content \
    ".venv/bin/python -c 'import json; print(json.load(open(\"$out/bd.json\"))[\"pairs\"][0][\"bytes_read\"])'" \
    "sed -E 's/^(Difference in Key: |Only in [a-z]+ bucket [^,]*, Differences: \[.Key: )([^,]*).*/\2/' $out/bd.txt | tr -d \"'\"" \
    -- "$bin" --source_bucket_name rc-a --source_endpoint_url "$url" --destination_bucket_name rc-b \
    --destination_endpoint_url "$url" --verify content --output_file "$out/bd.txt" --summary "$out/bd.json" \
    --no-progress
  # rclone prints the bytes it transferred (both sides' downloads) in its final stats line
  run rclone-check-download \
    ".venv/bin/python -c '
import re
t = open(\"$out/rc.err\").read()
units = {\"B\": 1, \"KiB\": 2**10, \"MiB\": 2**20, \"GiB\": 2**30, \"TiB\": 2**40}
m = re.findall(r\"([0-9.]+) (B|KiB|MiB|GiB|TiB) / [0-9.]+ [A-Za-z]+, 100%\", t)
print(int(float(m[-1][0]) * units[m[-1][1]]) if m else -1)'" \
    "grep -E '^[-*+] ' $out/rc.combined | grep -v '^= ' | cut -c3-" \
    -- bash -c "AWS_CA_BUNDLE= rclone check sw:rc-a sw:rc-b --download --checkers 8 --combined $out/rc.combined \
      -v --stats 1h --stats-one-line 2> $out/rc.err; true"
done

# The server's ceiling for reading one side: every source object to /dev/null, 8 at once, no hashing.
keys=$(AWS_CA_BUNDLE= rclone lsf sw:rc-a)
s0=$(server_cpu); t0=$(date +%s.%N)
echo "$keys" | xargs -P 8 -I{} curl -s -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" \
  --user "$BD_S3_ACCESS_KEY:$BD_S3_SECRET_KEY" "$url/rc-a/{}"
t1=$(date +%s.%N); s1=$(server_cpu)
echo "{\"label\": \"ceiling-raw-get-one-side\", \"wall_s\": $(echo "$t1 - $t0" | bc), \"server_cpu_s\": $(echo "$s1 - $s0" | bc), \"bytes\": $(( objects * size_mb * 1048576 ))}"

baseline=../shared/bench/baseline/bucket_delta_baseline.py
if [ -f "$baseline" ]; then
  keyargs=(--source_access_key "$BD_S3_ACCESS_KEY" --source_secret_key "$BD_S3_SECRET_KEY"
    --destination_access_key "$BD_S3_ACCESS_KEY" --destination_secret_key "$BD_S3_SECRET_KEY")
  .venv/bin/python bench/measure.py baseline-shallow --objects "$objects" -- .venv/bin/python "$baseline" \
    --source_bucket_name rc-a --source_endpoint_url "$url" --destination_bucket_name rc-b \
    --destination_endpoint_url "$url" "${keyargs[@]}" --output_file "$out/base.txt"
  echo "{\"baseline_report_lines\": $(wc -l < "$out/base.txt"), \"planted\": $(echo "$expected" | wc -w)}"
fi

# HEAD-only cost of verify: checksum: a deep check without tags sends two HEADs per object.
.venv/bin/python bench/populate.py --endpoint "$url" --bucket-a hd-a --bucket-b hd-b -n "$head_objects" >/dev/null
.venv/bin/python bench/measure.py verify-checksum-heads -- "$bin" --source_bucket_name hd-a \
  --source_endpoint_url "$url" --destination_bucket_name hd-b --destination_endpoint_url "$url" \
  --shallow_check false --compare_object_tags false --verify checksum --output_file "$out/hd.txt" \
  --summary "$out/hd.json" --no-progress
.venv/bin/python -c '
import json, sys
p = json.load(open(sys.argv[1]))["pairs"][0]
print(json.dumps({"verify_checksum_pair": p["objects_compared"], "requests": p["requests"],
                  "requests_per_object": round(p["requests"] / max(1, p["objects_compared"]), 3),
                  "objects_per_s": p["objects_per_second"], "verified_by": p["verified_by"]}))' "$out/hd.json"
probe=../shared/bench/servers/probe.py
if [ -f "$probe" ]; then
  S3_ACCESS_KEY="$BD_S3_ACCESS_KEY" S3_SECRET_KEY="$BD_S3_SECRET_KEY" .venv/bin/python "$probe" head \
    --endpoint "$url" --bucket hd-a --conc 100 --procs 2 --duration 10 | sed 's/^{/{"ceiling": "head", /'
fi
