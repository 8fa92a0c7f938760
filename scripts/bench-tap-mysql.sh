#!/usr/bin/env bash
# tap-mysql figures: a 1M-row, 10-column table read by tap-mysql (FULL_TABLE)
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
s=$(now); /usr/bin/time -f "%M" -o "$dir/tapmy.rss" bin/tap-mysql --config "$dir/tapmy.json" --catalog "$dir/tapmy-catalog.json" > /dev/null 2> "$dir/tapmy.log"; e=$(now)
tap_s=$(echo "$e - $s" | bc); tap_kb=$(tail -1 "$dir/tapmy.rss")
s=$(now); /usr/bin/time -f "%M" -o "$dir/client.rss" "$client" -h "$HOST" -P "$PORT" -u "$USER_" --quick -B -e "SELECT * FROM $DB.src" > /dev/null; e=$(now)
cli_s=$(echo "$e - $s" | bc); cli_kb=$(tail -1 "$dir/client.rss")

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

awk -v n="$N" -v t="$tap_s" -v tkb="$tap_kb" -v c="$cli_s" -v ckb="$cli_kb" -v u="$log_rows" -v l="$log_s" -v lkb="$log_kb" 'BEGIN {
  printf "\ntap-mysql bench (%d rows x 10 columns, FULL_TABLE in 100k-row chunks)\n", n
  printf "%-48s %10s %9s %8s\n", "what", "rows/s", "peak RSS", "ratio"
  printf "%-48s %10s %8dM %8s\n", "mariadb --quick -B -e \"SELECT * ...\" > /dev/null", sprintf("%\047d", n/c), ckb/1024, "1.00x"
  printf "%-48s %10s %8dM %7.2fx\n", "tap-mysql > /dev/null", sprintf("%\047d", n/t), tkb/1024, c/t
  printf "%-48s %10s %8dM %8s\n", sprintf("tap-mysql LOG_BASED, %d binlog updates", u), sprintf("%\047d", u/l), lkb/1024, "-"
}'
