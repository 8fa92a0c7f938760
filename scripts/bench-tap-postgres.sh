#!/usr/bin/env bash
# tap-postgres figures: a 1M-row, 10-column table read by tap-postgres to
# /dev/null next to psql's \copy ... TO STDOUT CSV, and the pipe
# tap-postgres | target-postgres next to psql COPY TO STDOUT | psql COPY FROM
# STDIN, in the same run. Called by scripts/bench.sh; needs bin/ built, the
# local PostgreSQL (TEST_POSTGRES_URL overrides the URL) and python3 (to
# select the stream in the discovered catalog).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
URL="${TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
N="${BENCH_ROWS:-1000000}"
dir=.bench
mkdir -p "$dir"
if ! psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1; then
  echo "tap-postgres bench skipped: PostgreSQL unreachable at $URL"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "tap-postgres bench skipped: python3 is needed to select the stream in the catalog"
  exit 0
fi
pg_bench_table "$URL" singerkit_tapbench "$N"
psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_tapbench_dst CASCADE;" 2>/dev/null
printf '%s\n' "{\"url\":\"$URL\",\"filter_schemas\":[\"singerkit_tapbench\"],\"itersize\":100000}" > "$dir/tap.json"
printf '%s\n' "{\"url\":\"$URL\",\"default_target_schema\":\"singerkit_tapbench_dst\",\"load_method\":\"append\"}" > "$dir/tap-target.json"
bin/tap-postgres --config "$dir/tap.json" --discover > "$dir/catalog.json"
select_all_streams "$dir/catalog.json"
s=$(now); /usr/bin/time -f "%M" -o "$dir/tap.rss" bin/tap-postgres --config "$dir/tap.json" --catalog "$dir/catalog.json" > /dev/null 2> "$dir/tap.log"; e=$(now)
tap_s=$(echo "$e - $s" | bc); tap_kb=$(tail -1 "$dir/tap.rss")
s=$(now); psql "$URL" -qc "\copy (SELECT * FROM singerkit_tapbench.src) TO STDOUT CSV" > /dev/null; e=$(now)
csv_s=$(echo "$e - $s" | bc)
s=$(now)
bin/tap-postgres --config "$dir/tap.json" --catalog "$dir/catalog.json" 2> "$dir/tap2.log" \
  | /usr/bin/time -f "%M" -o "$dir/pipe.rss" bin/target-postgres --config "$dir/tap-target.json" > /dev/null 2> "$dir/pipe.log"
e=$(now)
pipe_s=$(echo "$e - $s" | bc); pipe_kb=$(tail -1 "$dir/pipe.rss")
rows=$(psql "$URL" -Atc "SELECT count(*) FROM singerkit_tapbench_dst.src")
psql "$URL" -qc "CREATE TABLE singerkit_tapbench.copy_dst (LIKE singerkit_tapbench.src INCLUDING ALL)"
s=$(now)
psql "$URL" -qc "COPY singerkit_tapbench.src TO STDOUT" | psql "$URL" -qc "COPY singerkit_tapbench.copy_dst FROM STDIN"
e=$(now)
copy_s=$(echo "$e - $s" | bc)
psql "$URL" -qc "DROP SCHEMA singerkit_tapbench CASCADE; DROP SCHEMA singerkit_tapbench_dst CASCADE" 2>/dev/null

awk -v n="$N" -v rows="$rows" -v t="$tap_s" -v tkb="$tap_kb" -v c="$csv_s" -v p="$pipe_s" -v pkb="$pipe_kb" -v cp="$copy_s" 'BEGIN {
  printf "\ntap-postgres bench (%d rows x 10 columns, FULL_TABLE in 100k-row chunks; %d rows landed through the pipe)\n", n, rows
  printf "%-44s %10s %9s %8s\n", "what", "rows/s", "peak RSS", "ratio"
  printf "%-44s %10s %9s %8s\n", "psql \\copy (SELECT ...) TO STDOUT CSV", sprintf("%\047d", n/c), "-", "1.00x"
  printf "%-44s %10s %8dM %7.2fx\n", "tap-postgres > /dev/null", sprintf("%\047d", n/t), tkb/1024, c/t
  printf "%-44s %10s %9s %8s\n", "psql COPY TO STDOUT | psql COPY FROM STDIN", sprintf("%\047d", n/cp), "-", "1.00x"
  printf "%-44s %10s %8dM %7.2fx\n", "tap-postgres | target-postgres (append)", sprintf("%\047d", n/p), pkb/1024, cp/p
}'
