#!/usr/bin/env bash
# target-postgres against psql \copy, like with like:
#
# - the same rows: `singer gen` makes each case's stream, `singer gen to-csv`
#   writes the very same records as CSV (in key order, the columns in the
#   table's order), and psql \copy loads that file into tables made like the
#   target's (the same types; a primary key only where the target has one);
# - every run starts on an empty schema and ends with the tables made and
#   loaded: the target creates its tables as it reads the SCHEMA messages,
#   psql's timed script creates them (CREATE TABLE LIKE) before its \copy
#   commands (until 2026-12-04 psql's tables were made before its timer
#   started, which left out of its time the 100 CREATE TABLEs the target's
#   time had in it with 100 streams); append-pk: the tables exist before
#   both timers start; the two sides alternate (target first in odd runs,
#   psql first in even ones), BENCH_PG_RUNS times each (3);
# - for each side: records/s median and range, client CPU seconds per 1M
#   records (user+system of the process, /usr/bin/time), server CPU seconds
#   per 1M records (utime+stime of the PostgreSQL backends of the run, found
#   by application_name and read from /proc every 0.1 s: the last tenth of a
#   second of a session is not counted, the same for both sides), peak RSS of
#   the client;
# - the machine's load average before and after each case, and the cores it
#   left free (cores - load, at least 0).
#
# Needs bin/ built (make bench does), psql, /usr/bin/time, and the server on
# this machine (the backends' CPU is read from /proc). TEST_POSTGRES_URL
# overrides the URL.
#
# Knobs (environment):
#   BENCH_PG_RUNS      runs per side and case (3)
#   BENCH_PG_CASES     cases to run, space-separated (default: the short
#                      matrix below); each NAME:SHAPE:COLUMNS:STREAMS:RECORDS:METHOD,
#                      METHOD append, upsert or append-pk (append into tables
#                      with a primary key)
#   BENCH_PG_FULL=1    the full matrix: every shape at 1M records (5M flat
#                      too with BENCH_PG_5M=1)
#   BENCH_BUSY=N       N shell loops keep N cores busy for the whole run:
#                      the figures of a CPU-bound machine
#   BENCH_PG_PARALLEL  max_parallel_flushes values of the target, each its
#                      own row (default "2", the target's own default, as
#                      users run it; a stream loads on one session, so it
#                      matters with several streams; "1 2" compares them)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
URL="${TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
RUNS="${BENCH_PG_RUNS:-3}"
PARALLEL="${BENCH_PG_PARALLEL:-2}"
dir=.bench/pg
mkdir -p "$dir"
if ! psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1; then
  echo "target-postgres bench skipped: PostgreSQL unreachable at $URL"
  exit 0
fi
if [ ! -x /usr/bin/time ]; then
  echo "target-postgres bench skipped: /usr/bin/time is missing (apt-get install time)"
  exit 0
fi
if ! pgrep -x postgres >/dev/null && ! pgrep -f 'postgres: ' >/dev/null; then
  echo "target-postgres bench: warning: no PostgreSQL process on this machine: server CPU will read 0" >&2
fi

# NAME:SHAPE:COLUMNS:STREAMS:RECORDS:METHOD
default_cases="flat-1M:flat:10:1:1000000:append flat-1M-upsert:flat:10:1:1000000:upsert flat-100k:flat:10:1:100000:append
wide50:wide:50:1:200000:append wide200:wide:200:1:50000:append text10k:text10k:3:1:20000:append
nested:nested:3:1:200000:append streams10:flat:10:10:200000:append streams100:flat:10:100:200000:append"
full_cases="flat-1M:flat:10:1:1000000:append flat-1M-upsert:flat:10:1:1000000:upsert flat-100k:flat:10:1:100000:append
wide50:wide:50:1:1000000:append wide200:wide:200:1:1000000:append text10k:text10k:3:1:1000000:append
nested:nested:3:1:1000000:append streams10:flat:10:10:1000000:append streams100:flat:10:100:1000000:append"
[ "${BENCH_PG_5M:-0}" = 1 ] && full_cases="$full_cases flat-5M:flat:10:1:5000000:append"
cases="${BENCH_PG_CASES:-$default_cases}"
[ "${BENCH_PG_FULL:-0}" = 1 ] && cases="$full_cases"

cores=$(nproc)
loadavg() { cut -d' ' -f1 /proc/loadavg; }
psqlq() { PGOPTIONS="-c client_min_messages=warning" psql "$URL" -X -v ON_ERROR_STOP=1 -qAt "$@"; }

# cpu_of_app TAG OUT: until OUT.stop exists, samples the CPU ticks of the
# backends whose application_name is TAG; writes the total seconds to OUT.
cpu_of_app() {
  local tag=$1 out=$2 hz pids="" line f
  hz=$(getconf CLK_TCK)
  declare -A ticks=()
  while [ ! -e "$out.stop" ]; do
    if [ -z "$pids" ] || [ $((RANDOM % 10)) = 0 ]; then
      pids=$(psqlq -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$tag'" 2>/dev/null | tr '\n' ' ')
    fi
    for p in $pids; do
      if read -r line 2>/dev/null < "/proc/$p/stat"; then
        # shellcheck disable=SC2206 # fields of /proc/PID/stat after the command
        f=(${line##*) })
        ticks[$p]=$((f[11] + f[12]))
      fi
    done
    sleep 0.1
  done
  local sum=0
  for p in "${!ticks[@]}"; do sum=$((sum + ticks[$p])); done
  awk -v t="$sum" -v hz="$hz" 'BEGIN { printf "%.3f\n", t / hz }' > "$out"
}

# measure TAG OUT CMD...: runs CMD under /usr/bin/time with the server
# sampler; OUT gets "wall user sys maxrss_kb server_cpu".
measure() {
  local tag=$1 out=$2
  shift 2
  rm -f "$out.srv.stop" "$out.srv"
  cpu_of_app "$tag" "$out.srv" &
  local sampler=$!
  local rc=0
  PGAPPNAME=$tag /usr/bin/time -f "%e %U %S %M" -o "$out.time" "$@" || rc=$?
  touch "$out.srv.stop"
  wait "$sampler"
  if [ "$rc" != 0 ]; then
    echo "bench-postgres: $* failed (exit $rc)" >&2
    return 1
  fi
  echo "$(tail -1 "$out.time") $(cat "$out.srv")" > "$out"
}

results="$dir/results.txt"
: > "$results"
busy_cores "${BENCH_BUSY:-0}"
for c in $cases; do
  IFS=: read -r name shape columns streams records method <<<"$c"
  stream="$dir/$shape-c$columns-s$streams-$records.jsonl"
  csvdir="$dir/$shape-c$columns-s$streams-$records.csv"
  if [ ! -s "$stream" ] || [ ! -d "$csvdir" ]; then
    echo "bench-postgres: generating $name ($records records) ..." >&2
    bin/singer gen --shape "$shape" --columns "$columns" --streams "$streams" --records "$records" > "$stream"
    rm -rf "$csvdir"
    bin/singer gen to-csv "$csvdir" < "$stream" > "$csvdir.list"
  fi
  # The tables as the target makes them (types; a primary key for upsert).
  ddl=sk_bench_ddl
  psqlq -c "DROP SCHEMA IF EXISTS $ddl CASCADE" >/dev/null
  grep -m "$streams" '"type":"SCHEMA"' "$stream" > "$dir/schemas.jsonl"
  # append-pk: append into tables that have a primary key (made by an
  # upsert run, or by hand): both sides load into tables made like them.
  ddl_method=$method
  [ "$method" = append-pk ] && ddl_method=upsert
  tmethod=${method%-pk}
  echo "{\"url\":\"$URL\",\"default_target_schema\":\"$ddl\",\"load_method\":\"$ddl_method\"}" > "$dir/ddl.json"
  bin/target-postgres --config "$dir/ddl.json" < "$dir/schemas.jsonl" > /dev/null 2> "$dir/ddl.log"
  tables=$(psqlq -c "SELECT tablename FROM pg_tables WHERE schemaname = '$ddl' ORDER BY tablename")
  load_before=$(loadavg)
  for par in $PARALLEL; do
    for run in $(seq "$RUNS"); do
      sides="target psql"
      [ $((run % 2)) = 0 ] && sides="psql target"
      for side in $sides; do
        sch=sk_bench_run
        psqlq -c "DROP SCHEMA IF EXISTS $sch CASCADE" -c "CREATE SCHEMA $sch" >/dev/null
        script="$dir/create.sql"
        : > "$script"
        for t in $tables; do
          echo "CREATE TABLE $sch.\"$t\" (LIKE $ddl.\"$t\" INCLUDING ALL);" >> "$script"
        done
        if [ "$method" = append-pk ]; then
          psqlq -f "$script" >/dev/null
        fi
        tag="skbench_${side}_$$"
        out="$dir/run.out"
        if [ "$side" = target ]; then
          echo "{\"url\":\"$URL\",\"default_target_schema\":\"$sch\",\"load_method\":\"$tmethod\",\"max_parallel_flushes\":$par}" > "$dir/target.json"
          measure "$tag" "$out" bin/target-postgres --config "$dir/target.json" < "$stream" > /dev/null 2> "$dir/target.log" || { tail -3 "$dir/target.log" >&2; exit 1; }
          label="target-postgres $method, $par session(s)"
        else
          script="$dir/copy.sql"
          : > "$script"
          [ "$method" = append-pk ] || cat "$dir/create.sql" >> "$script"
          while IFS=$'\t' read -r s file _; do
            t=$(tr '[:upper:]' '[:lower:]' <<<"$s")
            echo "\\copy $sch.\"$t\" FROM '$file' WITH (FORMAT csv)" >> "$script"
          done < "$csvdir.list"
          measure "$tag" "$out" psql "$URL" -X -v ON_ERROR_STOP=1 -q -f "$script"
          label="psql \\copy (CSV)"
        fi
        rows=$(psqlq -c "SELECT string_agg(format('SELECT count(*) FROM %I.%I', schemaname, tablename), ' UNION ALL ') FROM pg_tables WHERE schemaname = '$sch'")
        rows=$(psqlq -c "SELECT sum(count) FROM ($rows) c")
        idx=$(psqlq -c "SELECT coalesce(sum(pg_indexes_size(format('%I.%I', schemaname, tablename))), 0) FROM pg_tables WHERE schemaname = '$sch'")
        read -r wall user sys rss srv < "$out"
        echo "$name|$label|$records|$wall|$user|$sys|$rss|$srv|$idx|$rows" >> "$results"
      done
    done
  done
  load_after=$(loadavg)
  echo "$name|load|$load_before|$load_after" >> "$results"
  psqlq -c "DROP SCHEMA IF EXISTS sk_bench_run CASCADE" -c "DROP SCHEMA IF EXISTS $ddl CASCADE" >/dev/null
done

echo
echo "target-postgres vs psql \\copy of the same rows (CSV, key order; $RUNS runs each, interleaved; $cores cores)"
shapes_report "$results" "$cores" psql "(client s/M, server s/M: CPU seconds per 1M records; server: the run's backends; index: size of the table's indexes after the run; RSS of psql is psql's own)"
