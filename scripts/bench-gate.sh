#!/usr/bin/env bash
# singer gate figures: a load generator in a second process
# (internal/gate/gateload) posts /v2/import/batch requests over loopback to
# bin/singer gate writing into the local NATS JetStream (file storage, 1
# replica): requests/s, records/s and p50/p99 latency of the 2xx answers
# for batches of 1, 100 and 1000 records (BENCH_GATE_CONCURRENCY requests in
# flight, BENCH_GATE_SECONDS each, default 32 and 10), the gate's CPU
# seconds per 100k records, p99 at half the 100-record rate, and then
# kill -9 of the gate in the middle of a load: every record of every 2xx
# answer must be in the log afterwards (counted; the script fails if one
# is missing). Then the same on Kafka: the gate writing to kfake
# (franz-go's in-process Kafka, run as a process of its own from the
# module targets/kafka/kfaketest, because no Kafka broker runs here; its
# figures say what the gate costs on its Kafka path, not what a broker
# sustains): 100-record batches, and kill -9 with the count.
# BENCH_GATE_KAFKA=0 skips the Kafka part. Called by scripts/bench.sh (BENCH_GATE=0 skips it); needs
# bin/ built and NATS with JetStream (TEST_NATS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
NATS="${TEST_NATS_URL:-nats://127.0.0.1:4222}"
SECS="${BENCH_GATE_SECONDS:-10}"
CONC="${BENCH_GATE_CONCURRENCY:-32}"
PORT="${BENCH_GATE_PORT:-18089}"
dir=.bench/gate
mkdir -p "$dir"
if ! (exec 3<>"/dev/tcp/$(sed 's|nats://||; s|:.*||' <<<"$NATS")/$(sed 's|.*:||' <<<"$NATS")") 2>/dev/null; then
  echo "gate bench skipped: NATS unreachable at $NATS"
  exit 0
fi
go build -o "$dir/gateload" ./internal/gate/gateload
load="$dir/gateload"
topic="SKBENCH_GATE_$$"
killtopic="SKBENCH_GATE_KILL_$$"
gate_pid=""
kfake_pid=""
cleanup() {
  [ -n "$gate_pid" ] && kill "$gate_pid" 2>/dev/null && wait "$gate_pid" 2>/dev/null
  [ -n "$kfake_pid" ] && kill "$kfake_pid" 2>/dev/null && wait "$kfake_pid" 2>/dev/null
  "$load" delete "$NATS" "$topic" "$killtopic" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# start_gate TOPIC [BROKERS]: runs the gate in the background for TOPIC
# (on NATS, or on Kafka at BROKERS), waits until it answers.
start_gate() {
  if [ -n "${2:-}" ]; then
    cat > "$dir/gate.json" <<JSON
{"brokers": ["${2//,/\",\"}"], "import_topic": "$1", "listen": "127.0.0.1:$PORT", "duplicate_window_seconds": 120}
JSON
  else
    cat > "$dir/gate.json" <<JSON
{"servers": ["$NATS"], "import_topic": "$1", "listen": "127.0.0.1:$PORT", "duplicate_window_seconds": 120}
JSON
  fi
  SINGER_GATE_TOKEN=bench bin/singer gate --config "$dir/gate.json" > "$dir/gate.out" 2> "$dir/gate.err" &
  gate_pid=$!
  for _ in $(seq 200); do
    if curl -fsS "http://127.0.0.1:$PORT/v2/import/status" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  echo "bench-gate: the gate did not start:" >&2
  cat "$dir/gate.err" >&2
  exit 1
}

# cpu PID: user+system CPU seconds of a process so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

field() { sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" <<<"$1"; }

echo "singer gate: POST /v2/import/batch over loopback into JetStream (file, 1 replica) at $NATS; $CONC requests in flight, ${SECS}s each; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_gate "$topic"
printf '%-8s %12s %12s %9s %9s %8s %16s\n' batch requests/s records/s p50_ms p99_ms errors "gate_cpu_s/100k"
base=0
rate100=0
for b in 1 100 1000; do
  c0=$(cpu "$gate_pid")
  out=$("$load" run --url "http://127.0.0.1:$PORT" --token bench --batch "$b" --concurrency "$CONC" --seconds "$SECS" --id-base "$base")
  c1=$(cpu "$gate_pid")
  base=$((base + 1000000000))
  recs=$(field "$out" records_per_s)
  per=$(awk -v c0="$c0" -v c1="$c1" -v r="$recs" -v s="$SECS" 'BEGIN { if (r > 0) printf "%.2f", (c1 - c0) / (r * s) * 100000; else print "-" }')
  printf '%-8s %12s %12s %9s %9s %8s %16s\n' "$b" "$(field "$out" requests_per_s)" "$recs" "$(field "$out" p50_ms)" "$(field "$out" p99_ms)" "$(field "$out" errors)" "$per"
  [ "$b" = 100 ] && rate100=$(field "$out" requests_per_s)
done
half=$(awk -v r="$rate100" 'BEGIN { printf "%.0f", r / 2 }')
if [ "$half" -gt 0 ]; then
  out=$("$load" run --url "http://127.0.0.1:$PORT" --token bench --batch 100 --concurrency "$CONC" --seconds "$SECS" --rate "$half" --id-base "$base")
  echo "at half that rate (100-record batches, $half requests/s paced): records/s $(field "$out" records_per_s), p50 $(field "$out" p50_ms) ms, p99 $(field "$out" p99_ms) ms"
fi
kill "$gate_pid"; wait "$gate_pid" 2>/dev/null || true; gate_pid=""

# kill -9 in the middle of a load: what was answered 2xx must be in the log.
start_gate "$killtopic"
"$load" run --url "http://127.0.0.1:$PORT" --token bench --batch 100 --concurrency "$CONC" --seconds 4 --acked "$dir/acked.txt" > "$dir/kill-load.json" &
load_pid=$!
sleep 2
kill -9 "$gate_pid"; wait "$gate_pid" 2>/dev/null || true; gate_pid=""
wait "$load_pid" || true
echo "kill -9 of the gate after 2s of load: $("$load" count --nats "$NATS" --topic "$killtopic" --acked "$dir/acked.txt") (load: $(sed 's/"last_error":"[^"]*",//' "$dir/kill-load.json"))"

[ "${BENCH_GATE_KAFKA:-1}" = 0 ] && exit 0
# The same gate on Kafka (kfake in its own process).
(cd targets/kafka/kfaketest && go build -o ../../../"$dir/kfakeserver" ./kfakeserver)
"$dir/kfakeserver" > "$dir/kfake.addr" 2> "$dir/kfake.err" &
kfake_pid=$!
for _ in $(seq 200); do [ -s "$dir/kfake.addr" ] && break; sleep 0.05; done
brokers=$(head -1 "$dir/kfake.addr")
if [ -z "$brokers" ]; then
  echo "bench-gate: kfake did not start:" >&2
  cat "$dir/kfake.err" >&2
  exit 1
fi
echo
echo "singer gate on Kafka: kfake (franz-go's in-process Kafka, 1 broker, memory) at $brokers, NOT a Kafka broker: the gate's cost on its Kafka path; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_gate gate-bench "$brokers"
printf '%-8s %12s %12s %9s %9s %8s %16s %17s\n' batch requests/s records/s p50_ms p99_ms errors "gate_cpu_s/100k" "kfake_cpu_s/100k"
c0=$(cpu "$gate_pid"); k0=$(cpu "$kfake_pid")
out=$("$load" run --url "http://127.0.0.1:$PORT" --token bench --batch 100 --concurrency "$CONC" --seconds "$SECS" --id-base 0 --acked "$dir/kafka-acked.txt")
c1=$(cpu "$gate_pid"); k1=$(cpu "$kfake_pid")
recs=$(field "$out" records_per_s)
per() { awk -v c0="$1" -v c1="$2" -v r="$recs" -v s="$SECS" 'BEGIN { if (r > 0) printf "%.2f", (c1 - c0) / (r * s) * 100000; else print "-" }'; }
printf '%-8s %12s %12s %9s %9s %8s %16s %17s\n' 100 "$(field "$out" requests_per_s)" "$recs" "$(field "$out" p50_ms)" "$(field "$out" p99_ms)" "$(field "$out" errors)" "$(per "$c0" "$c1")" "$(per "$k0" "$k1")"
kill "$gate_pid"; wait "$gate_pid" 2>/dev/null || true; gate_pid=""
echo "every acknowledged record in the topic: $("$load" count --brokers "$brokers" --topic gate-bench --acked "$dir/kafka-acked.txt")"

start_gate gate-kill "$brokers"
"$load" run --url "http://127.0.0.1:$PORT" --token bench --batch 100 --concurrency "$CONC" --seconds 4 --id-base 0 --acked "$dir/kafka-kill-acked.txt" > "$dir/kafka-kill-load.json" &
load_pid=$!
sleep 2
kill -9 "$gate_pid"; wait "$gate_pid" 2>/dev/null || true; gate_pid=""
wait "$load_pid" || true
echo "kill -9 of the gate on Kafka after 2s of load: $("$load" count --brokers "$brokers" --topic gate-kill --acked "$dir/kafka-kill-acked.txt")"
