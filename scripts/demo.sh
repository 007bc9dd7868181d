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
export BUCKET_DELTA_STATE_DIR="$state/bucket-delta-state"
sed "s|http://127.0.0.1:8333|$BD_SEAWEED_URL|" examples/demo.yaml > demo-out/demo.yaml
echo "== bucket-delta run demo-out/demo.yaml" >&2
set +e
"$bin" run demo-out/demo.yaml
status=$?
set -e
echo
echo "== demo-out/photos-shallow.txt"
cat demo-out/photos-shallow.txt
echo
echo "== demo-out/photos-deep.txt"
cat demo-out/photos-deep.txt
echo
echo "== demo-out/summary.json (exit status $status: 0 identical, 1 differences, 2 error, 3 unverified)"
cat demo-out/summary.json
echo
echo "== demo-out/signoff.html: the sign-off page, one self-contained file (open it in a browser)"
