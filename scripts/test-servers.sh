#!/usr/bin/env bash
# Start or stop the S3 servers the tests run against, on 127.0.0.1 and free ports.
#   test-servers.sh start DIR   -> starts SeaweedFS (`weed mini`, ports BASE..BASE+9) and moto,
#                                  writes DIR/env (BD_SEAWEED_URL, BD_MOTO_URL, BD_S3_ACCESS_KEY, ...)
#   test-servers.sh stop DIR    -> stops them and removes DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?start|stop}; dir=${2:?state dir}
ACCESS=${BD_TEST_ACCESS_KEY:-bdtestkey}
SECRET=${BD_TEST_SECRET_KEY:-bdtestsecret}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
block_free() { local p; for p in $(seq "$1" $(($1 + $2 - 1))); do port_free "$p" || return 1; done; }
pick_block() {  # a base port whose block of $1 ports is free (also keep weed's gRPC worker target free)
  local base
  for _ in $(seq 1 200); do
    base=$((20000 + (RANDOM % 400) * 20))
    block_free "$base" "$1" && { echo "$base"; return 0; }
  done
  echo "test-servers: no free port block found" >&2; return 1
}
wait_http() {  # URL PID NAME
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || { echo "test-servers: $3 died; log:" >&2; tail -20 "$dir/$3.log" >&2; return 1; }
    if curl -s -o /dev/null -m 1 "$1"; then return 0; fi
    sleep 0.1
  done
  echo "test-servers: $3 did not answer at $1" >&2; return 1
}

case $cmd in
start)
  mkdir -p "$dir/weed-data"; dir=$(cd "$dir" && pwd)
  weed="$root/.venv/bin/weed"; moto="$root/.venv/bin/python"
  [ -x "$weed" ] || { echo "test-servers: $weed missing (run scripts/install-deps.sh)" >&2; exit 1; }
  cat > "$dir/s3.json" <<JSON
{"identities":[{"name":"admin","credentials":[{"accessKey":"$ACCESS","secretKey":"$SECRET"}],
  "actions":["Admin","Read","List","Tagging","Write"]},
 {"name":"reader","credentials":[{"accessKey":"$ACCESS-reader","secretKey":"$SECRET-reader"}],
  "actions":["Read","List"]}]}
JSON
  base=$(pick_block 10)
  "$weed" mini -dir="$dir/weed-data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -s3.port="$base" -s3.port.grpc=$((base + 7)) \
    -master.port=$((base + 1)) -master.port.grpc=$((base + 2)) \
    -volume.port=$((base + 3)) -volume.port.grpc=$((base + 4)) \
    -filer.port=$((base + 5)) -filer.port.grpc=$((base + 6)) \
    -admin.ui=false -admin.port=$((base + 8)) -admin.port.grpc=$((base + 9)) \
    -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
    -volume.max=1000 -master.volumeSizeLimitMB=64 \
    -s3.config="$dir/s3.json" >"$dir/seaweed.log" 2>&1 &
  echo $! > "$dir/seaweed.pid"; echo "$base" > "$dir/seaweed.port"
  mport=$(pick_block 1)
  "$moto" "$root/scripts/moto_server.py" --port "$mport" >"$dir/moto.log" 2>&1 &
  echo $! > "$dir/moto.pid"
  wait_http "http://127.0.0.1:$base/" "$(cat "$dir/seaweed.pid")" seaweed
  wait_http "http://127.0.0.1:$mport/moto-api/" "$(cat "$dir/moto.pid")" moto
  cat > "$dir/env" <<ENV
export BD_SEAWEED_URL=http://127.0.0.1:$base
export BD_MOTO_URL=http://127.0.0.1:$mport
export BD_S3_ACCESS_KEY=$ACCESS
export BD_S3_SECRET_KEY=$SECRET
export BD_S3_READER_ACCESS_KEY=$ACCESS-reader
export BD_S3_READER_SECRET_KEY=$SECRET-reader
ENV
  echo "test-servers: SeaweedFS on http://127.0.0.1:$base, moto on http://127.0.0.1:$mport" >&2
  ;;
stop)
  [ -d "$dir" ] || exit 0
  for name in seaweed moto; do
    [ -f "$dir/$name.pid" ] || continue
    pid=$(cat "$dir/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ -f "$dir/seaweed.port" ]; then rm -f /tmp/seaweedfs-*-"$(cat "$dir/seaweed.port")".sock; fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
