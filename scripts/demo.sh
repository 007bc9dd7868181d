#!/usr/bin/env bash
# The demo: a local SeaweedFS with two buckets holding planted differences, compared by bucket-delta.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift build
bin="$(swift build --show-bin-path)/bucket-delta"
state=$(mktemp -d /tmp/bucket-delta-demo.XXXXXX)
trap 'scripts/test-servers.sh stop "$state"' EXIT
scripts/test-servers.sh start "$state"
# shellcheck disable=SC1091
source "$state/env"
echo "== creating demo buckets photos / photos-copy with boto3 (planted differences)" >&2
.venv/bin/python scripts/demo_fixtures.py --endpoint "$BD_SEAWEED_URL"
mkdir -p demo-out
export AWS_ACCESS_KEY_ID="$BD_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$BD_S3_SECRET_KEY"
set +e
"$bin" --source_bucket_name photos --source_endpoint_url "$BD_SEAWEED_URL" \
  --destination_bucket_name photos-copy --destination_endpoint_url "$BD_SEAWEED_URL" \
  --output_file demo-out/differences.txt
status=$?
"$bin" --source_bucket_name photos --source_endpoint_url "$BD_SEAWEED_URL" \
  --destination_bucket_name photos-copy --destination_endpoint_url "$BD_SEAWEED_URL" \
  --output_file demo-out/differences.jsonl --output_format jsonl --log_level ERROR
set -e
echo
echo "== demo-out/differences.txt (exit status $status: 0 identical, 1 differences, 2 error)"
cat demo-out/differences.txt
echo
echo "== demo-out/differences.jsonl"
cat demo-out/differences.jsonl
