#!/usr/bin/env bash
# Builds, starts the S3 test servers (SeaweedFS and moto on free loopback ports), runs every test,
# and stops the servers. The tests against real servers never skip: without servers they fail.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# CI also proves that the release configuration builds (developers skip it: it takes minutes).
if [ "${CI:-}" = "true" ]; then swift build -c release --static-swift-stdlib; fi
swift build --build-tests
state=$(mktemp -d /tmp/bucket-delta-servers.XXXXXX)
trap 'scripts/test-servers.sh stop "$state"' EXIT
scripts/test-servers.sh start "$state"
# shellcheck disable=SC1091
source "$state/env"
export BD_PYTHON="$root/.venv/bin/python"
export BD_BINARY="$(swift build --show-bin-path)/bucket-delta"
swift test --skip-build "$@"
