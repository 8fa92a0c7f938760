#!/usr/bin/env bash
# tap-postgres figures: a 1M-row, 10-column table read by tap-postgres to
# /dev/null next to psql's \copy (SELECT * ...) TO STDOUT CSV (a sequential
# scan) and psql's \copy of the same rows in key order (the index scan
# FULL_TABLE reads, the like-for-like read), BENCH_TAP_RUNS times each (3),
# interleaved, median and range; then the pipe tap-postgres |
# target-postgres next to psql COPY TO STDOUT | psql COPY FROM STDIN, once.
# Called by scripts/bench.sh; needs bin/ built, the local PostgreSQL
# (TEST_POSTGRES_URL overrides the URL) and python3 (to select the stream in
# the discovered catalog).
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
RUNS="${BENCH_TAP_RUNS:-3}"
# The read alone, BENCH_TAP_RUNS times each side, interleaved (tap first in
# odd runs): tap-postgres, psql's COPY of the table (a sequential scan) and
# psql's COPY of the table in key order (what FULL_TABLE reads: an index
# scan, the like-for-like read); seconds, one a line, per side.
: > "$dir/tap.s"; : > "$dir/csv.s"; : > "$dir/ord.s"
tap_kb=0
for run in $(seq "$RUNS"); do
  sides="tap csv ord"
  [ $((run % 2)) = 0 ] && sides="ord csv tap"
  for side in $sides; do
    s=$(now)
    case $side in
      tap) /usr/bin/time -f "%M" -o "$dir/tap.rss" bin/tap-postgres --config "$dir/tap.json" --catalog "$dir/catalog.json" > /dev/null 2> "$dir/tap.log"
           kb=$(tail -1 "$dir/tap.rss"); [ "$kb" -gt "$tap_kb" ] && tap_kb=$kb ;;
      csv) psql "$URL" -qc "\copy (SELECT * FROM singerkit_tapbench.src) TO STDOUT CSV" > /dev/null ;;
      ord) psql "$URL" -qc "\copy (SELECT * FROM singerkit_tapbench.src ORDER BY id) TO STDOUT CSV" > /dev/null ;;
    esac
    e=$(now)
    echo "$e - $s" | bc >> "$dir/$side.s"
  done
done
med() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
read -r tap_s tap_min tap_max < <(med "$dir/tap.s")
read -r csv_s csv_min csv_max < <(med "$dir/csv.s")
read -r ord_s ord_min ord_max < <(med "$dir/ord.s")
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

awk -v n="$N" -v rows="$rows" -v runs="$RUNS" -v t="$tap_s" -v t0="$tap_min" -v t1="$tap_max" -v tkb="$tap_kb" \
    -v c="$csv_s" -v c0="$csv_min" -v c1="$csv_max" -v o="$ord_s" -v o0="$ord_min" -v o1="$ord_max" \
    -v p="$pipe_s" -v pkb="$pipe_kb" -v cp="$copy_s" -v loadavg="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "\ntap-postgres bench (%d rows x 10 columns, FULL_TABLE in 100k-row chunks; reads: %d runs each, interleaved, median (range); load average %s)\n", n, runs, loadavg
  printf "%-48s %22s %9s %8s\n", "what", "rows/s median (range)", "peak RSS", "ratio"
  printf "%-48s %22s %9s %8s\n", "psql \\copy (SELECT * ...) TO STDOUT CSV", sprintf("%\047d (%\047d-%\047d)", n/c, n/c1, n/c0), "-", "1.00x"
  printf "%-48s %22s %9s %7.2fx\n", "psql \\copy (SELECT * ... ORDER BY id) TO STDOUT", sprintf("%\047d (%\047d-%\047d)", n/o, n/o1, n/o0), "-", c/o
  printf "%-48s %22s %8dM %7.2fx\n", "tap-postgres > /dev/null", sprintf("%\047d (%\047d-%\047d)", n/t, n/t1, n/t0), tkb/1024, c/t
  printf "%-48s %22s %9s %8s\n", "psql COPY TO STDOUT | psql COPY FROM STDIN", sprintf("%\047d", n/cp), "-", "1.00x"
  printf "%-48s %22s %8dM %7.2fx\n", "tap-postgres | target-postgres (append)", sprintf("%\047d", n/p), pkb/1024, cp/p
  printf "(the tap reads in key order, as the ORDER BY row does; its ratio to that row is %.2fx; %d rows landed through the pipe)\n", o/t, rows
}'
