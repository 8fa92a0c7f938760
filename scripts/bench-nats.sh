#!/usr/bin/env bash
# target-nats / tap-nats figures on the 1M-record bench stream (the flat
# stream of bench-postgres.sh; file storage, 1 replica, the local NATS),
# next to a raw publish / consume loop of the same client library
# (internal/natslog/rawbench: nats.go's jetstream package, no Singer), and
# the two-hop pipeline tap-postgres | target-nats, tap-nats | target-postgres
# next to the direct tap-postgres | target-postgres, in the same run.
# Called by scripts/bench.sh; needs bin/ built, NATS with JetStream
# (TEST_NATS_URL) and, for the pipeline, PostgreSQL (TEST_POSTGRES_URL) and
# python3 (BENCH_NATS_PIPELINE=0 skips the pipeline). BENCH_REPEAT runs of
# each (default 3), best kept. BENCH_NATS_BATCH sets the pipeline's
# target-nats batch_records (default: target-nats's own, 10000 lines
# within batch_bytes' 512 KB). BENCH_NATS_SERVER=/path/to/nats-server
# runs the bench against a server of that binary, which the bench starts
# on a free loopback port (JetStream, file storage in .bench/nats-js) and
# stops, instead of TEST_NATS_URL: to compare server versions, e.g. one
# built by `GOBIN=/tmp/nats go install github.com/nats-io/nats-server/v2@v2.15.3`.
# BENCH_NATS_RAW=0 skips target-nats and tap-nats alone and their raw
# loops (the pipeline only). BENCH_NATS_COMPRESSION sets the pipeline's
# target-nats compression
# (default: its own, s2); target-nats alone runs with its default and with
# "none".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
NATS="${TEST_NATS_URL:-nats://127.0.0.1:4222}"
URL="${TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
N="${BENCH_RECORDS:-1000000}"
REPEAT="${BENCH_REPEAT:-3}"
WINDOW=1000 # target-nats's default max_in_flight, for both sides
dir=.bench
mkdir -p "$dir"
server_pid=
if [ -n "${BENCH_NATS_SERVER:-}" ]; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$dir/nats-js"
  "$BENCH_NATS_SERVER" -a 127.0.0.1 -p "$port" -js -sd "$dir/nats-js" > "$dir/nats-server.log" 2>&1 &
  server_pid=$!
  NATS="nats://127.0.0.1:$port"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  echo "NATS bench: against $("$BENCH_NATS_SERVER" --version) at $NATS (BENCH_NATS_SERVER)"
fi
if ! (exec 3<>"/dev/tcp/$(sed 's|nats://||; s|:.*||' <<<"$NATS")/$(sed 's|.*:||' <<<"$NATS")") 2>/dev/null; then
  echo "NATS bench skipped: NATS unreachable at $NATS"
  exit 0
fi
go build -o "$dir/rawbench" ./internal/natslog/rawbench
stream="$dir/flat-$N.jsonl"
[ -s "$stream" ] || bin/singer gen --shape flat --stream bench --records "$N" > "$stream"
lines=$(wc -l < "$stream")
records=$(grep -c '"type":"RECORD"' "$stream")
del() { "$dir/rawbench" delete "$NATS" "$@"; }
trap 'del SKBENCH_RAW SKBENCH_T SKBENCH_PG >/dev/null 2>&1 || true; [ -z "$server_pid" ] || kill "$server_pid"' EXIT

# timed PREFIX CMD...: runs CMD under /usr/bin/time, which writes
# "seconds peakKB" to PREFIX.time; took PREFIX reads it back.
timed() {
  local p=$1; shift
  /usr/bin/time -f "%e %M" -o "$p.time" "$@"
}
took() { tail -1 "$1.time"; }

best_rate() { # best of the "seconds" values: prints the smallest
  sort -g | head -1
}

raw_pub=() ; raw_pubb=() ; tgt=() ; tgtn=() ; raw_con=() ; tap=()
tgt_kb=0; tgtn_kb=0; tap_kb=0; rawp_kb=0; rawpb_kb=0; rawc_kb=0
BATCH=10000 BATCH_BYTES=524288 # target-nats's default batch_records and batch_bytes
printf '%s\n' "{\"servers\":[\"$NATS\"],\"topic\":\"SKBENCH_T\",\"max_in_flight\":$WINDOW}" > "$dir/nats-target.json"
printf '%s\n' "{\"servers\":[\"$NATS\"],\"topic\":\"SKBENCH_T\"}" > "$dir/nats-tap.json"
printf '%s\n' "{\"servers\":[\"$NATS\"],\"topic\":\"SKBENCH_T\",\"max_in_flight\":$WINDOW,\"compression\":\"none\"}" > "$dir/nats-target-none.json"
if [ "${BENCH_NATS_RAW:-1}" != 0 ]; then
for i in $(seq "$REPEAT"); do
  # Interleaved: raw publish, target-nats, raw consume, tap-nats.
  del SKBENCH_RAW SKBENCH_T
  timed "$dir/rawpub" "$dir/rawbench" publish "$NATS" SKBENCH_RAW "$stream" "$WINDOW" > "$dir/rawpub.out"
  read -r s kb < <(took "$dir/rawpub")
  raw_pub+=("$s"); [ "$kb" -gt "$rawp_kb" ] && rawp_kb=$kb
  del SKBENCH_RAW
  timed "$dir/rawpubb" "$dir/rawbench" publish "$NATS" SKBENCH_RAW "$stream" "$WINDOW" "$BATCH" "$BATCH_BYTES" > "$dir/rawpubb.out"
  read -r s kb < <(took "$dir/rawpubb")
  raw_pubb+=("$s"); [ "$kb" -gt "$rawpb_kb" ] && rawpb_kb=$kb
  del SKBENCH_T
  timed "$dir/tgtn" bin/target-nats --config "$dir/nats-target-none.json" < "$stream" > "$dir/tgt.state" 2> "$dir/tgt.log"
  read -r s kb < <(took "$dir/tgtn")
  tgtn+=("$s"); [ "$kb" -gt "$tgtn_kb" ] && tgtn_kb=$kb
  del SKBENCH_T
  timed "$dir/tgt" bin/target-nats --config "$dir/nats-target.json" < "$stream" > "$dir/tgt.state" 2> "$dir/tgt.log"
  read -r s kb < <(took "$dir/tgt")
  tgt+=("$s"); [ "$kb" -gt "$tgt_kb" ] && tgt_kb=$kb
  timed "$dir/rawcon" "$dir/rawbench" consume "$NATS" SKBENCH_T > "$dir/rawcon.out"
  read -r s kb < <(took "$dir/rawcon")
  raw_con+=("$s"); [ "$kb" -gt "$rawc_kb" ] && rawc_kb=$kb
  timed "$dir/tap" bin/tap-nats --config "$dir/nats-tap.json" > "$dir/tap.out" 2> "$dir/tap.log"
  read -r s kb < <(took "$dir/tap")
  tap+=("$s"); [ "$kb" -gt "$tap_kb" ] && tap_kb=$kb
  got=$(grep -c '"type":"RECORD"' "$dir/tap.out" || true)
  if [ "$got" -ne "$records" ]; then
    echo "NATS bench: tap-nats wrote $got records, the stream has $records" >&2
    exit 1
  fi
done
rp=$(printf '%s\n' "${raw_pub[@]}" | best_rate); rpb=$(printf '%s\n' "${raw_pubb[@]}" | best_rate); tg=$(printf '%s\n' "${tgt[@]}" | best_rate)
rc=$(printf '%s\n' "${raw_con[@]}" | best_rate); tp=$(printf '%s\n' "${tap[@]}" | best_rate)
tgn=$(printf '%s\n' "${tgtn[@]}" | best_rate)
msgs=$lines

awk -v n="$msgs" -v rp="$rp" -v rpb="$rpb" -v rpbkb="$rawpb_kb" -v tg="$tg" -v tgn="$tgn" -v tgnkb="$tgtn_kb" -v rc="$rc" -v tp="$tp" -v rpkb="$rawp_kb" -v tgkb="$tgt_kb" -v rckb="$rawc_kb" -v tpkb="$tap_kb" \
  -v runs="$(printf '%s ' "${tgt[@]}")" -v tapruns="$(printf '%s ' "${tap[@]}")" -v repeat="$REPEAT" 'BEGIN {
  printf "\nNATS bench (%d messages of the flat bench stream, file storage, 1 replica, window %d; best of %d interleaved runs)\n", n, 1000, repeat
  printf "%-46s %12s %9s %8s\n", "what", "messages/s", "peak RSS", "ratio"
  printf "%-46s %12s %8dM %8s\n", "raw jetstream PublishAsync loop (nats.go)", sprintf("%\047d", n/rp), rpkb/1024, "1.00x"
  printf "%-46s %12s %8dM %7.2fx\n", "raw loop, batched like target-nats (512 KB)", sprintf("%\047d", n/rpb), rpbkb/1024, rp/rpb
  printf "%-46s %12s %8dM %7.2fx\n", "target-nats, compression none", sprintf("%\047d", n/tgn), tgnkb/1024, rp/tgn
  printf "%-46s %12s %8dM %7.2fx\n", "target-nats (defaults: s2-compressed batches)", sprintf("%\047d", n/tg), tgkb/1024, rp/tg
  printf "target-nats vs the raw loop with the same batching: %.2fx uncompressed, %.2fx with s2\n", rpb/tgn, rpb/tg
  printf "%-46s %12s %8dM %8s\n", "raw ordered-consumer loop, same topic (nats.go)", sprintf("%\047d", n/rc), rckb/1024, "1.00x"
  printf "%-46s %12s %8dM %7.2fx\n", "tap-nats > file (the s2 topic)", sprintf("%\047d", n/tp), tpkb/1024, rc/tp
  printf "target-nats seconds per run: %s; tap-nats: %s\n", runs, tapruns
}'
fi

# The two-hop pipeline against the direct pipe.
if [ "${BENCH_NATS_PIPELINE:-1}" = 0 ] || ! psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1 || ! command -v python3 >/dev/null; then
  echo "NATS pipeline bench skipped (BENCH_NATS_PIPELINE=0, or PostgreSQL unreachable at $URL, or no python3)"
  exit 0
fi
pg_bench_table "$URL" skbench_nats "$N"
psql "$URL" -qc "DROP SCHEMA IF EXISTS skbench_nats_direct CASCADE; DROP SCHEMA IF EXISTS skbench_nats_hop CASCADE;" 2>/dev/null
printf '%s\n' "{\"url\":\"$URL\",\"filter_schemas\":[\"skbench_nats\"],\"itersize\":100000}" > "$dir/nats-pg-tap.json"
bin/tap-postgres --config "$dir/nats-pg-tap.json" --discover > "$dir/nats-catalog.json"
select_all_streams "$dir/nats-catalog.json"
printf '%s\n' "{\"servers\":[\"$NATS\"],\"topic\":\"SKBENCH_PG\"}" > "$dir/nats-pg.json"
# BENCH_NATS_BATCH: batch_records of the pipeline's target-nats (default:
# its own default).
printf '%s\n' "{\"servers\":[\"$NATS\"],\"topic\":\"SKBENCH_PG\"${BENCH_NATS_BATCH:+,\"batch_records\":$BENCH_NATS_BATCH}${BENCH_NATS_COMPRESSION:+,\"compression\":\"$BENCH_NATS_COMPRESSION\"}}" > "$dir/nats-pg-w.json"
printf '%s\n' "{\"servers\":[\"$NATS\"],\"topic\":\"SKBENCH_PG\",\"follow\":true}" > "$dir/nats-pg-follow.json"
direct=(); hop1=(); hop2=(); both=()
# cpu FILE: "user+sys" seconds from a /usr/bin/time -f '%U %S' file.
cpu() { tail -1 "$1" | awk '{printf "%.2f s", $1 + $2}'; } # the last line: a signalled process's file starts with its exit status
# server_ticks NAME: CPU clock ticks of every process named NAME, with
# what they reaped (a server's finished backends).
server_ticks() {
  local t=0 p
  for p in $(pgrep -x "$1"); do
    t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
ticks() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f s", t / hz}'; }
# settle: each timed run starts with PostgreSQL's dirty pages written
# (CHECKPOINT; ignored without the privilege), so that no run pays for
# the writes of the one before it.
settle() { psql "$URL" -qc "CHECKPOINT" >/dev/null 2>&1 || true; }
for i in $(seq "$REPEAT"); do
  psql "$URL" -qc "DROP SCHEMA IF EXISTS skbench_nats_direct CASCADE; DROP SCHEMA IF EXISTS skbench_nats_hop CASCADE; DROP SCHEMA IF EXISTS skbench_nats_live CASCADE" 2>/dev/null
  del SKBENCH_PG
  # The two hops at once, as a log pipeline runs: tap-nats follows the
  # topic while hop 1 fills it; the time is until the follower's
  # target-postgres printed the state that ends hop 1 (tap-nats wraps it
  # as "upstream"), which it does once every row before it is committed;
  # then the follower is stopped with SIGTERM. (Polling count(*) on the
  # table instead cost PostgreSQL a scan of up to 1M rows 20 times a
  # second.) Each process's CPU seconds are kept, and the NATS server's
  # and PostgreSQL's (from /proc, all of their processes, other work on
  # the machine included).
  printf '%s\n' "{\"url\":\"$URL\",\"default_target_schema\":\"skbench_nats_live\",\"load_method\":\"append\"}" > "$dir/nats-live.json"
  bin/target-nats --config "$dir/nats-pg-w.json" < /dev/null > /dev/null 2>&1 # creates the topic the follower reads
  : > "$dir/follower.state"
  settle
  n0=$(server_ticks nats-server); p0=$(server_ticks postgres)
  s=$(now)
  ( /usr/bin/time -f '%U %S' -o "$dir/cpu-tapnats" bin/tap-nats --config "$dir/nats-pg-follow.json" 2>"$dir/follower.err" \
    | /usr/bin/time -f '%U %S' -o "$dir/cpu-tgtpg" bin/target-postgres --config "$dir/nats-live.json" > "$dir/follower.state" 2>>"$dir/follower.err" ) &
  follower=$!
  /usr/bin/time -f '%U %S' -o "$dir/cpu-tappg" bin/tap-postgres --config "$dir/nats-pg-tap.json" --catalog "$dir/nats-catalog.json" 2>/dev/null \
    | /usr/bin/time -f '%U %S' -o "$dir/cpu-tgtnats" bin/target-nats --config "$dir/nats-pg-w.json" > "$dir/hop1.state" 2>/dev/null
  last="\"upstream\":$(tail -1 "$dir/hop1.state")}"
  until grep -qF "$last" "$dir/follower.state"; do
    if ! kill -0 "$follower" 2>/dev/null; then echo "the following tap-nats | target-postgres ended early:"; cat "$dir/follower.err"; exit 1; fi
    sleep 0.05
  done
  e=$(now); both+=("$(echo "$e - $s" | bc)")
  n1=$(server_ticks nats-server); p1=$(server_ticks postgres)
  pkill -TERM -f "^bin/tap-nats --config $dir/nats-pg-follow.json" || true
  wait "$follower" 2>/dev/null || true
  cpu_both="tap-postgres $(cpu "$dir/cpu-tappg"), target-nats $(cpu "$dir/cpu-tgtnats"), tap-nats $(cpu "$dir/cpu-tapnats"), target-postgres $(cpu "$dir/cpu-tgtpg"), NATS server $(ticks $((n1 - n0))), PostgreSQL $(ticks $((p1 - p0)))"
  del SKBENCH_PG
  printf '%s\n' "{\"url\":\"$URL\",\"default_target_schema\":\"skbench_nats_direct\",\"load_method\":\"append\"}" > "$dir/nats-direct.json"
  printf '%s\n' "{\"url\":\"$URL\",\"default_target_schema\":\"skbench_nats_hop\",\"load_method\":\"append\"}" > "$dir/nats-hop.json"
  settle
  p0=$(server_ticks postgres)
  s=$(now)
  /usr/bin/time -f '%U %S' -o "$dir/cpu-tappg" bin/tap-postgres --config "$dir/nats-pg-tap.json" --catalog "$dir/nats-catalog.json" 2>/dev/null \
    | /usr/bin/time -f '%U %S' -o "$dir/cpu-tgtpg" bin/target-postgres --config "$dir/nats-direct.json" > /dev/null 2>&1
  e=$(now); direct+=("$(echo "$e - $s" | bc)")
  p1=$(server_ticks postgres)
  cpu_direct="tap-postgres $(cpu "$dir/cpu-tappg"), target-postgres $(cpu "$dir/cpu-tgtpg"), PostgreSQL $(ticks $((p1 - p0)))"
  settle
  s=$(now)
  bin/tap-postgres --config "$dir/nats-pg-tap.json" --catalog "$dir/nats-catalog.json" 2>/dev/null | bin/target-nats --config "$dir/nats-pg-w.json" > /dev/null 2>&1
  e=$(now); hop1+=("$(echo "$e - $s" | bc)")
  settle
  s=$(now)
  bin/tap-nats --config "$dir/nats-pg.json" 2>/dev/null | bin/target-postgres --config "$dir/nats-hop.json" > /dev/null 2>&1
  e=$(now); hop2+=("$(echo "$e - $s" | bc)")
done
rows_direct=$(psql "$URL" -Atc "SELECT count(*) FROM skbench_nats_direct.src")
rows_hop=$(psql "$URL" -Atc "SELECT count(*) FROM skbench_nats_hop.src")
psql "$URL" -qc "DROP SCHEMA skbench_nats CASCADE; DROP SCHEMA skbench_nats_direct CASCADE; DROP SCHEMA skbench_nats_hop CASCADE; DROP SCHEMA IF EXISTS skbench_nats_live CASCADE" 2>/dev/null
d=$(printf '%s\n' "${direct[@]}" | best_rate); h1=$(printf '%s\n' "${hop1[@]}" | best_rate); h2=$(printf '%s\n' "${hop2[@]}" | best_rate); hb=$(printf '%s\n' "${both[@]}" | best_rate)
# The median run of each and, per run, the ratio of that run's at-once time
# to its direct time (interleaved, so a run's pair saw the same machine).
awk -v comp="${BENCH_NATS_COMPRESSION:-s2 (default)}" -v n="$N" -v d="$d" -v h1="$h1" -v h2="$h2" -v hb="$hb" -v rd="$rows_direct" -v rh="$rows_hop" -v repeat="$REPEAT" \
  -v ds="${direct[*]}" -v h1s="${hop1[*]}" -v h2s="${hop2[*]}" -v hbs="${both[*]}" '
function median(s,   a, k, i, j, t) {
  k = split(s, a, " ")
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
BEGIN {
  split(ds, D, " "); split(h1s, H1, " "); split(h2s, H2, " "); split(hbs, HB, " ")
  for (i = 1; i <= repeat; i++) { seq = seq sprintf(" %.2fx", D[i] / (H1[i] + H2[i])); once = once sprintf(" %.2fx", D[i] / HB[i]) }
  md = median(ds); m1 = median(h1s); m2 = median(h2s); mb = median(hbs)
  printf "\ncentral log pipeline (%d rows x 10 columns from PostgreSQL to PostgreSQL; %d and %d rows landed; %d interleaved runs; target-nats compression %s)\n", n, rd, rh, repeat, comp
  printf "%-52s %10s %8s %10s %8s\n", "what", "median", "ratio", "best", "ratio"
  printf "%-52s %10s %8s %10s %8s\n", "tap-postgres | target-postgres (direct), rows/s", sprintf("%\047d", n/md), "1.00x", sprintf("%\047d", n/d), "1.00x"
  printf "%-52s %10s %8s %10s %8s\n", "hop 1: tap-postgres | target-nats", sprintf("%\047d", n/m1), "-", sprintf("%\047d", n/h1), "-"
  printf "%-52s %10s %7.2fx %10s %7.2fx\n", "hop 2: tap-nats | target-postgres", sprintf("%\047d", n/m2), md/m2, sprintf("%\047d", n/h2), d/h2
  printf "%-52s %10s %7.2fx %10s %7.2fx\n", "two hops, one after the other (hop 1 + hop 2)", sprintf("%\047d", n/(m1+m2)), md/(m1+m2), sprintf("%\047d", n/(h1+h2)), d/(h1+h2)
  printf "%-52s %10s %7.2fx %10s %7.2fx\n", "two hops at once (tap-nats following hop 1)", sprintf("%\047d", n/mb), md/mb, sprintf("%\047d", n/hb), d/hb
  printf "each run against its own direct run: one after the other%s; at once%s\n", seq, once
}'
echo "CPU seconds of the last run, direct: $cpu_direct"
echo "CPU seconds of the last run, two hops at once: $cpu_both"
echo "(the machine is shared with other agents' builds and tests while this runs: figures vary between runs; compare the ratios of one run)"
