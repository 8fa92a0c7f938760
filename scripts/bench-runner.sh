#!/usr/bin/env bash
# singer run's overhead: `singer run` of tap-postgres -> target-postgres on
# a 1M-row, 10-column table next to the same shell pipe (tap-postgres |
# target-postgres, same catalog selection, load_method append), interleaved
# BENCH_REPEAT times (default 3) in the same run; the runner's own peak RSS
# (VmHWM of the singer process, sampled from /proc in a run of its own,
# children excluded).
# Called by scripts/bench.sh; needs bin/ built, the local PostgreSQL
# (TEST_POSTGRES_URL) and python3 (to select the stream for the shell pipe).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
URL="${TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
N="${BENCH_ROWS:-1000000}"
REPEAT="${BENCH_REPEAT:-3}"
dir=$PWD/.bench/runner
mkdir -p "$dir"
if ! psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1; then
  echo "singer run bench skipped: PostgreSQL unreachable at $URL"
  exit 0
fi
pg_bench_table "$URL" singerkit_runbench "$N"
psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_runbench_dst CASCADE;" 2>/dev/null
trap 'psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_runbench CASCADE; DROP SCHEMA IF EXISTS singerkit_runbench_dst CASCADE" 2>/dev/null || true' EXIT
tapcfg="{\"url\":\"$URL\",\"filter_schemas\":[\"singerkit_runbench\"],\"itersize\":100000}"
tgtcfg="{\"url\":\"$URL\",\"default_target_schema\":\"singerkit_runbench_dst\",\"load_method\":\"append\"}"
printf '%s\n' "$tapcfg" > "$dir/tap.json"
printf '%s\n' "$tgtcfg" > "$dir/target.json"
cat > "$dir/singer.yaml" <<YAML
connectors:
  src:
    command: $PWD/bin/tap-postgres
    config: $tapcfg
    select: ["*.*"]
  dst:
    command: $PWD/bin/target-postgres
    config: $tgtcfg
pipelines:
  bench:
    tap: src
    target: dst
state: file://state
YAML
bin/tap-postgres --config "$dir/tap.json" --discover > "$dir/catalog.json"
select_all_streams "$dir/catalog.json"
bin/singer select --project "$dir/singer.yaml" bench > /dev/null # discovery cached before the timed runs
fresh() { psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_runbench_dst CASCADE" 2>/dev/null; }
timepipe() {
  fresh
  local s e
  s=$(now)
  /usr/bin/time -f '%U %S' -o "$dir/cpu" bash -c 'bin/tap-postgres --config "$1/tap.json" --catalog "$1/catalog.json" 2> "$1/pipe-tap.log" \
    | bin/target-postgres --config "$1/target.json" > "$1/pipe.state" 2> "$1/pipe-target.log"' _ "$dir"
  e=$(now); pipe+=("$(echo "$e - $s" | bc)"); pipecpu+=("$(awk '{print $1 + $2}' "$dir/cpu")")
}
timerun() {
  fresh
  bin/singer state clear --project "$dir/singer.yaml" bench
  local s e
  s=$(now)
  /usr/bin/time -f '%U %S' -o "$dir/cpu" bin/singer run --project "$dir/singer.yaml" bench 2> "$dir/run.log" || { echo "singer run failed:"; tail -5 "$dir/run.log"; exit 1; }
  e=$(now); run+=("$(echo "$e - $s" | bc)"); runcpu+=("$(awk '{print $1 + $2}' "$dir/cpu")")
}
# Timed runs: nothing else runs beside them (the RSS is sampled in a run of
# its own below), and the order alternates so that neither side always
# follows the other's leftovers (dirty pages, autovacuum).
pipe=(); run=(); pipecpu=(); runcpu=()
for i in $(seq "$REPEAT"); do
  if [ $((i % 2)) -eq 1 ]; then timepipe; timerun; else timerun; timepipe; fi
done
# The runner's own peak RSS (VmHWM of the singer process, children
# excluded), sampled every 50 ms in one more, untimed run.
fresh
bin/singer state clear --project "$dir/singer.yaml" bench
bin/singer run --project "$dir/singer.yaml" bench 2> "$dir/run.log" &
pid=$!
hwm=0
while kill -0 "$pid" 2>/dev/null; do
  k=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$k" ] && [ "$k" -gt "$hwm" ] && hwm=$k
  sleep 0.05
done
wait "$pid" || { echo "singer run failed:"; tail -5 "$dir/run.log"; exit 1; }
rows=$(psql "$URL" -Atc "SELECT count(*) FROM singerkit_runbench_dst.src")
printf '%s\n' "${pipe[@]}" > "$dir/pipe.times"
printf '%s\n' "${run[@]}" > "$dir/run.times"
printf '%s\n' "${pipecpu[@]}" > "$dir/pipe.cpu"
printf '%s\n' "${runcpu[@]}" > "$dir/run.cpu"
med() { sort -g "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { sort -g "$1" | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }
awk -v n="$N" -v rows="$rows" -v r="$REPEAT" -v p="$(med "$dir/pipe.times")" -v q="$(med "$dir/run.times")" \
    -v pr="$(range "$dir/pipe.times")" -v qr="$(range "$dir/run.times")" -v kb="$hwm" -v pc="$(med "$dir/pipe.cpu")" -v rc="$(med "$dir/run.cpu")" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "\nsinger run bench (%d rows x 10 columns, tap-postgres -> target-postgres append; %d rows landed by the last run; median of %d interleaved runs)\n", n, rows, r
  printf "%-44s %8s %13s %10s %12s\n", "what", "seconds", "range", "rows/s", "CPU seconds"
  printf "%-44s %8.2f %13s %10d %12.2f\n", "tap-postgres | target-postgres (shell pipe)", p, pr, n/p, pc
  printf "%-44s %8.2f %13s %10d %12.2f\n", "singer run (same pipeline)", q, qr, n/q, rc
  printf "overhead of singer run: %+.1f%% (goal <= 3%%); runner peak RSS %.1f MB (goal < 30 MB)\n", (q/p-1)*100, kb/1024
  printf "CPU of the runner itself (median CPU of the run minus the pipe CPU; tap and target included in both): %+.2f s; load average at the end: %s\n", rc-pc, la
}'
