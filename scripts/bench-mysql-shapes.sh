#!/usr/bin/env bash
# target-mysql against the mariadb client's LOAD DATA LOCAL INFILE on every
# data shape, like with like (the method of bench-postgres.sh):
#
# - the same rows: `singer gen` makes each case's stream; target-mysql loads
#   it once into a reference database, and each table is exported in key
#   order as LOAD DATA's own tab-separated format (NULL as \N); the client
#   loads those files into tables made like the target's (CREATE TABLE LIKE);
# - every run starts on an empty database and ends with the tables made
#   and loaded: the target creates its tables as it reads the SCHEMA
#   messages, the client's timed run creates them (CREATE TABLE LIKE, the
#   first statements of its script) before its LOAD DATA statements (until
#   2026-12-04 the client's tables were made before its timer started,
#   which left out of its time the 100 CREATE TABLEs the target's time had
#   in it with 100 streams); the two sides alternate (target first in odd
#   runs), BENCH_MY_RUNS times each;
# - for each side: records/s median and range, client CPU seconds per 1M
#   records (/usr/bin/time), server CPU seconds per 1M records (the mariadbd
#   process's CPU over the run: anything else using the server at the time
#   is counted too), peak RSS of the client;
# - the machine's load average before and after each case.
#
# Needs bin/ built, the mariadb (or mysql) client, /usr/bin/time, and the
# server on this machine. MYSQL_HOST, MYSQL_PORT, MYSQL_USER override
# 127.0.0.1, 3306, root (a password comes from MYSQL_PWD).
#
# Knobs (environment):
#   BENCH_MY_RUNS   runs per side and case (3)
#   BENCH_MY_CASES  cases, space-separated NAME:SHAPE:COLUMNS:STREAMS:RECORDS:METHOD
#                   (METHOD append or upsert); default: the matrix below
#   BENCH_BUSY=N    N shell loops keep N cores busy for the whole run: the
#                   figures of a CPU-bound machine
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
HOST="${MYSQL_HOST:-127.0.0.1}"
PORT="${MYSQL_PORT:-3306}"
USER_="${MYSQL_USER:-root}"
RUNS="${BENCH_MY_RUNS:-3}"
dir=.bench/my
mkdir -p "$dir"
client=mariadb
command -v mariadb >/dev/null 2>&1 || client=mysql
sqlc() { "$client" -h "$HOST" -P "$PORT" -u "$USER_" "$@"; }
if ! sqlc -e "SELECT 1" >/dev/null 2>&1; then
  echo "target-mysql shapes bench skipped: MySQL unreachable at $HOST:$PORT"
  exit 0
fi
if [ ! -x /usr/bin/time ]; then
  echo "target-mysql shapes bench skipped: /usr/bin/time is missing (apt-get install time)"
  exit 0
fi
server_pid=$(pgrep -xo mariadbd || pgrep -xo mysqld || true)
[ -n "$server_pid" ] || echo "bench-mysql-shapes: warning: no mariadbd/mysqld process on this machine: server CPU will read 0" >&2
server_cpu() { if [ -n "$server_pid" ]; then proc_cpu "$server_pid"; else echo 0; fi; }

default_cases="flat-1M:flat:10:1:1000000:append flat-1M-upsert:flat:10:1:1000000:upsert flat-100k:flat:10:1:100000:append
wide50:wide:50:1:200000:append wide200:wide:200:1:50000:append text10k:text10k:3:1:20000:append
nested:nested:3:1:200000:append streams10:flat:10:10:200000:append streams100:flat:10:100:200000:append"
cases="${BENCH_MY_CASES:-$default_cases}"
ref=sk_mybench_ref
run_db=sk_mybench_run
cfg_base="\"host\":\"$HOST\",\"port\":$PORT,\"user\":\"$USER_\",\"password\":\"${MYSQL_PWD:-}\""

results="$dir/results.txt"
: > "$results"
busy_cores "${BENCH_BUSY:-0}"
for c in $cases; do
  IFS=: read -r name shape columns streams records method <<<"$c"
  stream="$dir/$shape-c$columns-s$streams-$records.jsonl"
  if [ ! -s "$stream" ]; then
    echo "bench-mysql-shapes: generating $name ($records records) ..." >&2
    bin/singer gen --shape "$shape" --columns "$columns" --streams "$streams" --records "$records" > "$stream"
  fi
  # The reference tables, loaded once by the target, exported in key order.
  sqlc -e "DROP DATABASE IF EXISTS $ref; CREATE DATABASE $ref"
  printf '{%s,"database":"%s","load_method":"%s"}\n' "$cfg_base" "$ref" "$method" > "$dir/ref.json"
  bin/target-mysql --config "$dir/ref.json" < "$stream" > /dev/null 2> "$dir/ref.log" || { tail -3 "$dir/ref.log" >&2; exit 1; }
  tables=$(sqlc -N -B -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$ref' ORDER BY TABLE_NAME")
  rm -f "$dir"/tsv-*.tsv
  load_sql="$dir/load.sql"
  : > "$load_sql"
  for t in $tables; do
    cols=$(sqlc -N -B -e "SELECT GROUP_CONCAT(CONCAT('IFNULL(\`', COLUMN_NAME, '\`, ''\\\\\\\\N'')') ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$ref' AND TABLE_NAME = '$t'")
    keys=$(sqlc -N -B -e "SELECT GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`') ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '$ref' AND TABLE_NAME = '$t' AND INDEX_NAME = 'PRIMARY'")
    order=""
    [ -n "$keys" ] && [ "$keys" != NULL ] && order="ORDER BY $keys"
    sqlc -N -B -r -e "SELECT $cols FROM $ref.\`$t\` $order" > "$dir/tsv-$t.tsv"
    echo "LOAD DATA LOCAL INFILE '$dir/tsv-$t.tsv' INTO TABLE $run_db.\`$t\` CHARACTER SET utf8mb4;" >> "$load_sql"
  done
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  for run in $(seq "$RUNS"); do
    sides="target client"
    [ $((run % 2)) = 0 ] && sides="client target"
    for side in $sides; do
      sqlc -e "DROP DATABASE IF EXISTS $run_db; CREATE DATABASE $run_db"
      if [ "$side" = client ]; then
        create="$dir/create.sql"
        : > "$create"
        for t in $tables; do echo "CREATE TABLE $run_db.\`$t\` LIKE $ref.\`$t\`;" >> "$create"; done
        cat "$load_sql" >> "$create"
        label="$client LOAD DATA LOCAL"
        cmd=("$client" -h "$HOST" -P "$PORT" -u "$USER_" --local-infile=1)
        input=$create
      else
        printf '{%s,"database":"%s","load_method":"%s"}\n' "$cfg_base" "$run_db" "$method" > "$dir/target.json"
        label="target-mysql $method"
        cmd=(bin/target-mysql --config "$dir/target.json")
        input=$stream
      fi
      s0=$(server_cpu)
      if ! /usr/bin/time -f "%e %U %S %M" -o "$dir/run.time" "${cmd[@]}" < "$input" > /dev/null 2> "$dir/run.log"; then
        echo "bench-mysql-shapes: $label failed:" >&2
        tail -3 "$dir/run.log" >&2
        exit 1
      fi
      s1=$(server_cpu)
      rows=0
      for t in $tables; do rows=$((rows + $(sqlc -N -B -e "SELECT COUNT(*) FROM $run_db.\`$t\`"))); done
      idx=$(sqlc -N -B -e "SELECT COALESCE(SUM(INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$run_db'")
      read -r wall user sys rss < <(tail -1 "$dir/run.time")
      srv=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }')
      echo "$name|$label|$records|$wall|$user|$sys|$rss|$srv|$idx|$rows" >> "$results"
    done
  done
  echo "$name|load|$load_before|$(cut -d' ' -f1 /proc/loadavg)" >> "$results"
  sqlc -e "DROP DATABASE IF EXISTS $run_db; DROP DATABASE IF EXISTS $ref"
done

echo
echo "target-mysql vs $client LOAD DATA LOCAL INFILE of the same rows (tab-separated, key order; $RUNS runs each, interleaved; $(nproc) cores)"
shapes_report "$results" "$(nproc)" "$client" "(client s/M, server s/M: CPU seconds per 1M records; server: the mariadbd process over the run, other users included; index: secondary index size after the run)"
