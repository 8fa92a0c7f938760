#!/usr/bin/env bash
# target-duckdb figures: records/s and peak RSS of append and upsert on the
# generated flat stream, next to DuckDB's own CSV reader (COPY t FROM
# 'file.csv', through the same library: `target-duckdb query --write`) of
# the same rows into the same table shape, in the same run. Each figure is
# the median of BENCH_DUCKDB_RUNS (3) runs, the three kinds interleaved;
# the machine's load average is printed before and after. Called by
# scripts/bench.sh (BENCH_DUCKDB=0 skips it); needs bin/ built. No server.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_RECORDS:-1000000}"
RUNS="${BENCH_DUCKDB_RUNS:-3}"
dir=.bench/duckdb
rm -rf "$dir"
mkdir -p "$dir"
stream=".bench/flat-$N.jsonl"
[ -s "$stream" ] || bin/singer gen --shape flat --stream bench --records "$N" > "$stream"
q() { bin/target-duckdb query --write --path "$1" "$2"; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# run LABEL METHOD I: one target-duckdb run into a new file; "seconds
# peakKB cpuSeconds" (user+sys).
run() {
  local db="$dir/$1-$3.duckdb"
  printf '{"path": "%s", "load_method": "%s"}\n' "$db" "$2" > "$dir/$1.json"
  /usr/bin/time -f "%e %M %U %S" -o "$dir/$1-$3.time" bin/target-duckdb --config "$dir/$1.json" < "$stream" > /dev/null 2> "$dir/$1-$3.log"
  awk '{ print $1, $2, $3 + $4 }' "$dir/$1-$3.time"
}

# The CSV of the same rows, and the table's definition, from a first load.
run prep append 0 > /dev/null
q "$dir/prep-0.duckdb" "COPY bench TO '$dir/bench.csv' (HEADER false)" > /dev/null
ddl=$(bin/target-duckdb query --path "$dir/prep-0.duckdb" "SELECT sql FROM duckdb_tables() WHERE table_name = 'bench'" | sed -n 3p | sed 's/ *$//')
rows=$(bin/target-duckdb query --path "$dir/prep-0.duckdb" "SELECT count(*) FROM bench" | sed -n 3p | tr -d ' ')
rm -f "$dir"/prep-0.duckdb*

# copyrun I: DuckDB's CSV reader into the same table shape; "seconds
# peakKB cpuSeconds".
copyrun() {
  local db="$dir/copy-$1.duckdb"
  q "$db" "$ddl" > /dev/null
  /usr/bin/time -f "%e %M %U %S" -o "$dir/copy-$1.time" bin/target-duckdb query --write --path "$db" "COPY bench FROM '$dir/bench.csv'" > /dev/null
  awk '{ print $1, $2, $3 + $4 }' "$dir/copy-$1.time"
}

: > "$dir/results"
for i in $(seq "$RUNS"); do
  echo "copy $(copyrun "$i")" >> "$dir/results"
  echo "append $(run append append "$i")" >> "$dir/results"
  echo "upsert $(run upsert upsert "$i")" >> "$dir/results"
  rm -f "$dir"/*-"$i".duckdb*
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# median KIND FIELD: the median of a field (2 seconds, 3 peak KB, 4 CPU
# seconds) of a kind.
median() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' "$dir/results" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

awk -v n="$N" -v rows="$rows" -v runs="$RUNS" -v c="$(median copy 2)" -v ckb="$(median copy 3)" -v ccpu="$(median copy 4)" \
  -v a="$(median append 2)" -v akb="$(median append 3)" -v acpu="$(median append 4)" \
  -v u="$(median upsert 2)" -v ukb="$(median upsert 3)" -v ucpu="$(median upsert 4)" \
  -v lb="$load_before" -v la="$load_after" -v cores="$(nproc)" 'BEGIN {
  printf "\ntarget-duckdb bench (%d records, 10 columns incl. two decimals and a timestamp, key id, validation on; %d rows landed; median of %d interleaved runs)\n", n, rows, runs
  printf "machine: %d cores, load average %s before, %s after\n", cores, lb, la
  printf "%-38s %12s %10s %14s %8s\n", "what", "records/s", "peak RSS", "CPU s per 1M", "vs COPY"
  printf "%-38s %12s %9dM %14.2f %7.2fx\n", "DuckDB COPY FROM csv (same library)", sprintf("%\047d", n/c), ckb/1024, ccpu*1e6/n, 1
  printf "%-38s %12s %9dM %14.2f %7.2fx\n", "target-duckdb append", sprintf("%\047d", n/a), akb/1024, acpu*1e6/n, c/a
  printf "%-38s %12s %9dM %14.2f %7.2fx\n", "target-duckdb upsert (new keys)", sprintf("%\047d", n/u), ukb/1024, ucpu*1e6/n, c/u
}'
awk '{ printf "run: %s %.1f s %d MB %.2f CPU s\n", $1, $2, $3/1024, $4 }' "$dir/results"
rm -f "$dir"/*.duckdb* "$dir/bench.csv"
