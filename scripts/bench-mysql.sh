#!/usr/bin/env bash
# target-mysql figures: records/s and peak RSS in append and upsert modes,
# next to the mariadb client's LOAD DATA LOCAL INFILE of the same rows
# (tab-separated, LOAD DATA's own format) into the same table shape,
# measured in the same run. Needs bin/ built and the local MariaDB/MySQL
# (MYSQL_HOST, MYSQL_PORT, MYSQL_USER override 127.0.0.1, 3306, root; the
# password, if any, comes from MYSQL_PWD).
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${MYSQL_HOST:-127.0.0.1}"
PORT="${MYSQL_PORT:-3306}"
USER_="${MYSQL_USER:-root}"
N="${BENCH_RECORDS:-1000000}"
DB=singerkit_bench
dir=.bench
mkdir -p "$dir"
client=mariadb
command -v mariadb >/dev/null 2>&1 || client=mysql
sqlc() { "$client" -h "$HOST" -P "$PORT" -u "$USER_" "$@"; }
if ! sqlc -e "SELECT 1" >/dev/null 2>&1; then
  echo "target-mysql bench skipped: MySQL unreachable at $HOST:$PORT"
  exit 0
fi
stream="$dir/flat-$N.jsonl"
[ -s "$stream" ] || bin/singer gen --shape flat --stream bench --records "$N" > "$stream"

sqlc -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
# The DSN carries no password: MYSQL_PWD is read by the client only.
cfg_base="\"host\":\"$HOST\",\"port\":$PORT,\"user\":\"$USER_\",\"password\":\"${MYSQL_PWD:-}\",\"database\":\"$DB\""

# run LABEL CONFIG: prints "seconds peakKB"
run() {
  local cfg="$dir/mysql-$1.json"
  printf '%s\n' "$2" > "$cfg"
  chmod 600 "$cfg"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$dir/mysql-$1.time" bin/target-mysql --config "$cfg" < "$stream" > "$dir/mysql-$1.state" 2> "$dir/mysql-$1.log"
    cat "$dir/mysql-$1.time"
  else
    local s e
    s=$(date +%s.%N)
    bin/target-mysql --config "$cfg" < "$stream" > "$dir/mysql-$1.state" 2> "$dir/mysql-$1.log"
    e=$(date +%s.%N)
    echo "$(echo "$e - $s" | bc) 0"
  fi
}

# best LABEL CONFIG FRESH: the faster of two runs (as for the client below),
# with the table dropped before each when FRESH is 1; prints "seconds peakKB"
# (the peak RSS is the larger of the two).
best() {
  local s1 k1 s2 k2
  [ "$3" = 1 ] && sqlc -e "DROP TABLE IF EXISTS $DB.bench"
  read -r s1 k1 < <(run "$1" "$2")
  [ "$3" = 1 ] && sqlc -e "DROP TABLE IF EXISTS $DB.bench"
  read -r s2 k2 < <(run "$1" "$2")
  if [ "$(echo "$s2 < $s1" | bc)" = 1 ]; then s1=$s2; fi
  if [ "$k2" -gt "$k1" ]; then k1=$k2; fi
  echo "$s1 $k1"
}

read -r append_s append_kb < <(best append "{$cfg_base,\"load_method\":\"append\"}" 1)
read -r upsert_s upsert_kb < <(best upsert "{$cfg_base}" 1)
rows=$(sqlc -N -B -e "SELECT COUNT(*) FROM $DB.bench")
# The same stream again: every key exists, every record is an update.
read -r update_s update_kb < <(best update "{$cfg_base}" 0)

# The physical limit: the client's LOAD DATA LOCAL of the same rows into the
# same table shape (NULL written as \N; the generated text has no tabs or
# newlines, so --raw output is LOAD DATA input as it is).
cols=$(sqlc -N -B -e "SELECT GROUP_CONCAT(CONCAT('IFNULL(\`', COLUMN_NAME, '\`, ''\\\\\\\\N'')') ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME = 'bench'")
sqlc -N -B -r -e "SELECT $cols FROM $DB.bench" > "$dir/mysql-flat.tsv"
# Best of two runs: the limit, not the noise.
copy_s=
for _ in 1 2; do
  sqlc -e "DROP TABLE IF EXISTS $DB.bench_copy; CREATE TABLE $DB.bench_copy LIKE $DB.bench"
  s=$(date +%s.%N)
  sqlc --local-infile=1 -e "LOAD DATA LOCAL INFILE '$dir/mysql-flat.tsv' INTO TABLE $DB.bench_copy CHARACTER SET utf8mb4"
  e=$(date +%s.%N)
  t=$(echo "$e - $s" | bc)
  if [ -z "$copy_s" ] || [ "$(echo "$t < $copy_s" | bc)" = 1 ]; then copy_s=$t; fi
done
copied=$(sqlc -N -B -e "SELECT COUNT(*) FROM $DB.bench_copy")
sqlc -e "DROP DATABASE $DB"

awk -v n="$N" -v rows="$rows" -v copied="$copied" -v a="$append_s" -v akb="$append_kb" -v u="$upsert_s" -v ukb="$upsert_kb" -v c="$copy_s" -v up="$update_s" -v upkb="$update_kb" -v client="$client" 'BEGIN {
  printf "\ntarget-mysql bench (%d records, 10 columns incl. a decimal and a timestamp, key id, validation on; %d rows landed, %d by the client)\n", n, rows, copied
  printf "%-46s %12s %10s %10s\n", "what", "records/s", "peak RSS", "vs client"
  printf "%-46s %12s %10s %10s\n", client " LOAD DATA LOCAL (best of 2)", sprintf("%\047d", n/c), "-", "1.00x"
  printf "%-46s %12s %9dM %9.2fx\n", "target-mysql append (best of 2)", sprintf("%\047d", n/a), akb/1024, c/a
  printf "%-46s %12s %9dM %9.2fx\n", "target-mysql upsert, new keys (best of 2)", sprintf("%\047d", n/u), ukb/1024, c/u
  printf "%-46s %12s %9dM %9.2fx\n", "target-mysql upsert, all updates (best of 2)", sprintf("%\047d", n/up), upkb/1024, c/up
  printf "goals: append >= 0.80x: %s; upsert >= 0.60x: %s; peak RSS < 150M: %s\n", (c/a >= 0.8 ? "met" : "NOT met"), (c/u >= 0.6 ? "met" : "NOT met"), ((akb < 153600 && ukb < 153600 && upkb < 153600) ? "met" : "NOT met")
}'
