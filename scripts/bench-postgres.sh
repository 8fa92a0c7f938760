#!/usr/bin/env bash
# target-postgres figures: records/s and peak RSS in append and upsert modes,
# next to psql's \copy of the same rows as CSV into the same table shape,
# measured in the same run. Called by scripts/bench.sh; needs bin/ built and
# the local PostgreSQL (TEST_POSTGRES_URL overrides the URL).
set -euo pipefail
cd "$(dirname "$0")/.."
URL="${TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
N="${BENCH_RECORDS:-1000000}"
dir=.bench
mkdir -p "$dir"
if ! psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1; then
  echo "target-postgres bench skipped: PostgreSQL unreachable at $URL"
  exit 0
fi
stream="$dir/flat-$N.jsonl"
[ -s "$stream" ] || bin/singer gen --shape flat --stream bench --records "$N" > "$stream"

psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_bench CASCADE; CREATE SCHEMA singerkit_bench" 2>/dev/null

# run LABEL CONFIG: prints "seconds peakKB"
run() {
  local cfg="$dir/$1.json"
  printf '%s\n' "$2" > "$cfg"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$dir/$1.time" bin/target-postgres --config "$cfg" < "$stream" > "$dir/$1.state" 2> "$dir/$1.log"
    cat "$dir/$1.time"
  else
    local s e
    s=$(date +%s.%N)
    bin/target-postgres --config "$cfg" < "$stream" > "$dir/$1.state" 2> "$dir/$1.log"
    e=$(date +%s.%N)
    echo "$(echo "$e - $s" | bc) 0"
  fi
}

read -r append_s append_kb < <(run append "{\"url\":\"$URL\",\"default_target_schema\":\"singerkit_bench\",\"load_method\":\"append\"}")
psql "$URL" -qc "ALTER TABLE singerkit_bench.bench RENAME TO bench_append"
read -r upsert_s upsert_kb < <(run upsert "{\"url\":\"$URL\",\"default_target_schema\":\"singerkit_bench\"}")
rows=$(psql "$URL" -Atc "SELECT count(*) FROM singerkit_bench.bench")
# The same stream again: every key exists, every record is an update.
read -r update_s update_kb < <(run update "{\"url\":\"$URL\",\"default_target_schema\":\"singerkit_bench\"}")

# Memory flat in the input size: the same load on a fifth of the stream.
head -n $((N / 5 + 1)) "$stream" > "$dir/flat-small.jsonl"
psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_bench_small CASCADE" 2>/dev/null
small_kb=0
if [ -x /usr/bin/time ]; then
  printf '%s\n' "{\"url\":\"$URL\",\"default_target_schema\":\"singerkit_bench_small\",\"load_method\":\"append\"}" > "$dir/small.json"
  /usr/bin/time -f "%M" -o "$dir/small.time" bin/target-postgres --config "$dir/small.json" < "$dir/flat-small.jsonl" > /dev/null 2> "$dir/small.log"
  small_kb=$(tail -1 "$dir/small.time")
fi
psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_bench_small CASCADE" 2>/dev/null

# The physical limit: psql \copy of the same rows as CSV into the same shape.
psql "$URL" -qc "\copy (SELECT * FROM singerkit_bench.bench) TO '$dir/flat.csv' WITH CSV"
psql "$URL" -qc "CREATE TABLE singerkit_bench.bench_copy (LIKE singerkit_bench.bench INCLUDING ALL)"
s=$(date +%s.%N)
psql "$URL" -qc "\copy singerkit_bench.bench_copy FROM '$dir/flat.csv' WITH CSV"
e=$(date +%s.%N)
copy_s=$(echo "$e - $s" | bc)
psql "$URL" -qc "DROP SCHEMA singerkit_bench CASCADE"

awk -v n="$N" -v rows="$rows" -v a="$append_s" -v akb="$append_kb" -v u="$upsert_s" -v ukb="$upsert_kb" -v c="$copy_s" -v up="$update_s" -v upkb="$update_kb" -v skb="$small_kb" 'BEGIN {
  printf "\ntarget-postgres bench (%d records, 10 columns incl. a decimal and a timestamp, key id, validation on; %d rows landed)\n", n, rows
  printf "%-34s %12s %10s %8s\n", "what", "records/s", "peak RSS", "vs psql"
  printf "%-34s %12s %10s %8s\n", "psql \\copy (CSV, same table shape)", sprintf("%\047d", n/c), "-", "1.00x"
  printf "%-34s %12s %9dM %7.2fx\n", "target-postgres append", sprintf("%\047d", n/a), akb/1024, c/a
  printf "%-34s %12s %9dM %7.2fx\n", "target-postgres upsert (new keys)", sprintf("%\047d", n/u), ukb/1024, c/u
  printf "%-34s %12s %9dM %7.2fx\n", "target-postgres upsert (all updates)", sprintf("%\047d", n/up), upkb/1024, c/up
  printf "memory flat: append of %d records -> %d MB, of %d records -> %d MB\n", n/5, skb/1024, n, akb/1024
}'
