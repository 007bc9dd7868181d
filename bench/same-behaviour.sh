#!/usr/bin/env bash
# Proves that a change meant to keep behaviour (a refactor, a speed-up) keeps it: runs an OLD and a NEW
# bucket-delta binary on the same pairs and compares their reports, summaries (timings removed), JUnit
# files (timings removed) and exit codes byte for byte. Pairs: the benchmark's SeaweedFS pair of N
# objects with planted differences (bench/populate.py), the test suite's awkward-key pair
# (Tests/fixtures/make_pair.py, SeaweedFS and moto) and its Object Lock pair (make_deep_pair.py);
# each shallow and deep, text and jsonl, one stream and key ranges. Also prints each build's wall time and
# peak RSS (GNU time) per run, side by side.
#   bench/same-behaviour.sh OLD_BINARY NEW_BINARY [N]       (SERVER_ENV=DIR/env: servers already running)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
old=${1:?old binary}; new=${2:?new binary}; n=${3:-20000}
work=$(mktemp -d /tmp/bd-same.XXXXXX)
if [ -n "${SERVER_ENV:-}" ]; then source "$SERVER_ENV"; else
  scripts/test-servers.sh start "$work/servers"; source "$work/servers/env"
  trap 'scripts/test-servers.sh stop "$work/servers"' EXIT
fi
export AWS_ACCESS_KEY_ID=$BD_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$BD_S3_SECRET_KEY
py=.venv/bin/python; tag=$RANDOM
$py bench/populate.py --endpoint "$BD_SEAWEED_URL" --bucket-a "same-a-$tag" --bucket-b "same-b-$tag" -n "$n" >/dev/null
for srv in seaweed moto; do
  url=$BD_SEAWEED_URL; [ $srv = moto ] && url=$BD_MOTO_URL
  scen=full; [ $srv = moto ] && scen=small
  $py Tests/fixtures/make_pair.py --source-url "$url" --dest-url "$url" --source-bucket "aw-$srv-s-$tag" \
    --dest-bucket "aw-$srv-d-$tag" --scenario $scen --bulk 300 >/dev/null
  $py Tests/fixtures/make_deep_pair.py --source-url "$url" --dest-url "$url" --source-bucket "lk-$srv-s-$tag" \
    --dest-bucket "lk-$srv-d-$tag" --bulk 50 >/dev/null
done
pairs="$BD_SEAWEED_URL,same-a-$tag,same-b-$tag $BD_SEAWEED_URL,aw-seaweed-s-$tag,aw-seaweed-d-$tag $BD_MOTO_URL,aw-moto-s-$tag,aw-moto-d-$tag $BD_SEAWEED_URL,lk-seaweed-s-$tag,lk-seaweed-d-$tag $BD_MOTO_URL,lk-moto-s-$tag,lk-moto-d-$tag"
normalize() {  # summary or JUnit without the fields that measure time; FILE RANGE_LISTERS
  # With key ranges the request count depends on timing (split probes are sent while listing): the same
  # build gave 4, 7 and 10 requests on one small pair, so it is compared only for one-stream runs.
  local extra='^$'; [ "$2" != 1 ] && extra='"requests" : '
  sed -E -e 's/"(duration_seconds|objects_per_second|started_at|finished_at)" : [^,]*,?//' \
    -e 's/ (time|timestamp)="[^"]*"//g' "$1" | grep -v -- "$extra"
}
runs=0; same=0
for p in $pairs; do
  IFS=, read -r url a b <<<"$p"
  for shallow in true false; do for fmt in text jsonl; do for rl in 1 4; do
    [ "$shallow" = false ] && [ "$rl" = 4 ] && [ "$fmt" = jsonl ] && continue
    for which in old new; do
      bin=$old; [ $which = new ] && bin=$new
      d=$work/run; rm -rf "$d" "$work/$which"; mkdir -p "$d"  # the same paths for both builds
      set +e
      BUCKET_DELTA_STATE_DIR=$d/state /usr/bin/time -f "%e %M" -o "$d/time" "$bin" --source_bucket_name "$a" --source_endpoint_url "$url" \
        --destination_bucket_name "$b" --destination_endpoint_url "$url" --output_file "$d/report" \
        --output_format $fmt --shallow_check $shallow --range_listers $rl --num_processes 4 --num_connections 8 \
        --summary "$d/summary.json" --junit "$d/junit.xml" 2>"$d/log"
      echo $? > "$d/rc"; set -e
      mv "$d" "$work/$which"
    done
    runs=$((runs + 1))
    if cmp -s "$work/old/report" "$work/new/report" && cmp -s "$work/old/rc" "$work/new/rc" \
      && diff -q <(normalize "$work/old/summary.json" $rl) <(normalize "$work/new/summary.json" $rl) >/dev/null \
      && diff -q <(normalize "$work/old/junit.xml" $rl) <(normalize "$work/new/junit.xml" $rl) >/dev/null; then
      same=$((same + 1))
    else
      echo "DIFFERENT: $a/$b shallow=$shallow format=$fmt range_listers=$rl (exit $(cat "$work/old/rc") vs $(cat "$work/new/rc"))"
      diff <(normalize "$work/old/summary.json" $rl) <(normalize "$work/new/summary.json" $rl) | head -10 || true
      diff "$work/old/report" "$work/new/report" | head -5 || true
    fi
    read -r ot om < <(tail -1 "$work/old/time"); read -r nt nm < <(tail -1 "$work/new/time")  # after "Command exited..."
    echo "$a/$b shallow=$shallow $fmt rl=$rl: exit $(cat "$work/new/rc"), $(wc -l <"$work/new/report") report lines; old ${ot} s ${om} KB, new ${nt} s ${nm} KB"
  done; done; done
done
echo "same behaviour: $same of $runs runs identical (reports, exit codes, summaries and JUnit without timings)"
[ "$same" = "$runs" ]
