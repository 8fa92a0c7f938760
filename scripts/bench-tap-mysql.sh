#!/usr/bin/env bash
# tap-mysql figures (reads: BENCH_TAP_RUNS runs each, 3, interleaved, median and range):
# a 1M-row, 10-column table read by tap-mysql (FULL_TABLE)
# to /dev/null next to `mariadb --quick -B -e "SELECT ..."` > /dev/null of the
# same table in the same run, with the ratio and peak RSS; then the binlog
# path: 100k updated rows read by a LOG_BASED run. Called by
# scripts/bench.sh; needs bin/ built, the local MariaDB/MySQL with the
# binlog on (BENCH_MYSQL_HOST/PORT/USER override 127.0.0.1/3306/root) and
# python3 (to select the stream in the discovered catalog).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
HOST="${BENCH_MYSQL_HOST:-127.0.0.1}"
PORT="${BENCH_MYSQL_PORT:-3306}"
USER_="${BENCH_MYSQL_USER:-root}"
N="${BENCH_ROWS:-1000000}"
U="${BENCH_UPDATES:-100000}"
DB=singerkit_tapmybench
dir=.bench
mkdir -p "$dir"
client=$(command -v mariadb || command -v mysql || true)
if [ -z "$client" ]; then
  echo "tap-mysql bench skipped: no mariadb or mysql client"
  exit 0
fi
my() { "$client" -h "$HOST" -P "$PORT" -u "$USER_" "$@"; }
if ! my -e "SELECT 1" >/dev/null 2>&1; then
  echo "tap-mysql bench skipped: MySQL unreachable at $HOST:$PORT"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "tap-mysql bench skipped: python3 is needed to select the stream in the catalog"
  exit 0
fi
if [ ! -x bin/tap-mysql ]; then
  echo "tap-mysql bench: bin/tap-mysql is missing: run make build" >&2
  exit 1
fi
my <<SQL
DROP DATABASE IF EXISTS $DB;
CREATE DATABASE $DB;
CREATE TABLE $DB.src (
  id bigint PRIMARY KEY, name varchar(64), email varchar(64), city varchar(32), qty int, score double,
  active tinyint(1), code varchar(16), amount decimal(12,2), updated_at timestamp NULL);
INSERT INTO $DB.src
WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
              UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9),
     s(i) AS (SELECT a.n*100000 + b.n*10000 + c.n*1000 + e.n*100 + f.n*10 + g.n + 1
              FROM d a, d b, d c, d e, d f, d g)
SELECT i, CONCAT('customer number ', i), CONCAT('user', i % 99991, '@example.com'), 'Berlin', i % 1000, (i % 977) / 7e0,
       i % 3 = 0, CONCAT('AB-', i % 10000), (i % 100000) + 0.25, TIMESTAMP('2024-01-01') + INTERVAL i SECOND
FROM s WHERE i <= $N;
ANALYZE TABLE $DB.src;
SQL
N=$(my -N -B -e "SELECT count(*) FROM $DB.src")
printf '%s\n' "{\"host\":\"$HOST\",\"port\":$PORT,\"user\":\"$USER_\",\"database\":\"$DB\",\"chunk_size\":100000,\"binlog_idle_seconds\":2}" > "$dir/tapmy.json"
bin/tap-mysql --config "$dir/tapmy.json" --discover > "$dir/tapmy-catalog.json"
python3 - "$dir/tapmy-catalog.json" "$dir/tapmy-catalog-log.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for s in c["streams"]:
    for m in s["metadata"]:
        if m["breadcrumb"] == []:
            m["metadata"]["selected"] = True
json.dump(c, open(sys.argv[1], "w"))
for s in c["streams"]:
    for m in s["metadata"]:
        if m["breadcrumb"] == []:
            m["metadata"]["replication-method"] = "LOG_BASED"
json.dump(c, open(sys.argv[2], "w"))
PY
# The read, BENCH_TAP_RUNS times each side (3), interleaved (tap first in
# odd runs): seconds, one a line, per side; the peak RSS of each side.
RUNS="${BENCH_TAP_RUNS:-3}"
: > "$dir/tapmy.s"; : > "$dir/client.s"
tap_kb=0; cli_kb=0
for run in $(seq "$RUNS"); do
  sides="tap client"
  [ $((run % 2)) = 0 ] && sides="client tap"
  for side in $sides; do
    s=$(now)
    if [ "$side" = tap ]; then
      /usr/bin/time -f "%M" -o "$dir/tapmy.rss" bin/tap-mysql --config "$dir/tapmy.json" --catalog "$dir/tapmy-catalog.json" > /dev/null 2> "$dir/tapmy.log"
      kb=$(tail -1 "$dir/tapmy.rss"); [ "$kb" -gt "$tap_kb" ] && tap_kb=$kb
      out="$dir/tapmy.s"
    else
      /usr/bin/time -f "%M" -o "$dir/client.rss" "$client" -h "$HOST" -P "$PORT" -u "$USER_" --quick -B -e "SELECT * FROM $DB.src" > /dev/null
      kb=$(tail -1 "$dir/client.rss"); [ "$kb" -gt "$cli_kb" ] && cli_kb=$kb
      out="$dir/client.s"
    fi
    e=$(now)
    echo "$e - $s" | bc >> "$out"
  done
done
med() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
read -r tap_s tap_min tap_max < <(med "$dir/tapmy.s")
read -r cli_s cli_min cli_max < <(med "$dir/client.s")

# The binlog path: a LOG_BASED run snapshots and records the position (not
# timed), then U rows are updated and a second run reads them; the run's
# last binlog_idle_seconds (2 s without an event) are not counted.
bin/tap-mysql --config "$dir/tapmy.json" --catalog "$dir/tapmy-catalog-log.json" 2> "$dir/tapmy-log1.log" | grep '"type":"STATE"' | tail -1 \
  | python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["value"]))' > "$dir/tapmy-state.json"
my -e "UPDATE $DB.src SET qty = qty + 1 WHERE id <= $U"
s=$(now); /usr/bin/time -f "%M" -o "$dir/tapmy-log.rss" bin/tap-mysql --config "$dir/tapmy.json" --catalog "$dir/tapmy-catalog-log.json" --state "$dir/tapmy-state.json" 2> "$dir/tapmy-log2.log" > "$dir/tapmy-log.out"; e=$(now)
log_s=$(echo "$e - $s - 2" | bc); log_kb=$(tail -1 "$dir/tapmy-log.rss")
log_rows=$(grep -c '"type":"RECORD"' "$dir/tapmy-log.out" || true)
rm -f "$dir/tapmy-log.out"
my -e "DROP DATABASE $DB"

awk -v n="$N" -v runs="$RUNS" -v t="$tap_s" -v t0="$tap_min" -v t1="$tap_max" -v tkb="$tap_kb" -v c="$cli_s" -v c0="$cli_min" -v c1="$cli_max" -v ckb="$cli_kb" \
    -v u="$log_rows" -v l="$log_s" -v lkb="$log_kb" -v loadavg="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "\ntap-mysql bench (%d rows x 10 columns, FULL_TABLE in 100k-row chunks; reads: %d runs each, interleaved, median (range); load average %s)\n", n, runs, loadavg
  printf "%-48s %22s %9s %8s\n", "what", "rows/s median (range)", "peak RSS", "ratio"
  printf "%-48s %22s %8dM %8s\n", "mariadb --quick -B -e \"SELECT * ...\" > /dev/null", sprintf("%\047d (%\047d-%\047d)", n/c, n/c1, n/c0), ckb/1024, "1.00x"
  printf "%-48s %22s %8dM %7.2fx\n", "tap-mysql > /dev/null", sprintf("%\047d (%\047d-%\047d)", n/t, n/t1, n/t0), tkb/1024, c/t
  printf "%-48s %22s %8dM %8s\n", sprintf("tap-mysql LOG_BASED, %d binlog updates", u), sprintf("%\047d", u/l), lkb/1024, "-"
}'
