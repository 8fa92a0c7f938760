#!/usr/bin/env bash
# target-bigquery figures: records/s, peak RSS and bytes sent a record for
# the generated flat stream, through each method, against the local
# BigQuery emulator (goccy/bigquery-emulator, run by
# targets/bigquery/emulatortest/cmd/bqemu). The emulator is not BigQuery:
# these are client-side figures.
#
#   1. storage_write, append, into a sink: bqemu -sink answers the Storage
#      Write API and drops the rows, so the figure is the client's own rate
#      (decode, validate, encode protobuf rows, send over gRPC).
#   2. storage_write, append, into the emulator (rows land; the emulator's
#      row decoding and SQLite inserts are the limit).
#   3. batch_job, append, into the emulator (NDJSON load jobs).
#   4. the encoders alone: go test -bench Encode ./targets/bigquery/.
#
# Called by scripts/bench.sh when BENCH_BIGQUERY=1. Knobs: BENCH_RECORDS
# (1000000, the sink run), BENCH_BIGQUERY_RECORDS (the runs into the
# emulator; default BENCH_RECORDS).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_RECORDS:-1000000}"
EN="${BENCH_BIGQUERY_RECORDS:-$N}"
dir=.bench
mkdir -p "$dir"
stream="$dir/flat-$N.jsonl"
[ -s "$stream" ] || bin/singer gen --shape flat --stream bench --records "$N" > "$stream"
estream=$stream
if [ "$EN" != "$N" ]; then
  estream="$dir/flat-$EN.jsonl"
  [ -s "$estream" ] || bin/singer gen --shape flat --stream bench --records "$EN" > "$estream"
fi

echo "building bqemu (the emulator; minutes on a cold cache) ..." >&2
(cd targets/bigquery/emulatortest && go build -o "../../../$dir/bqemu" ./cmd/bqemu)

emu_pid=""
stop_emu() {
  if [ -n "$emu_pid" ]; then
    kill -INT "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
    emu_pid=""
  fi
}
trap stop_emu EXIT

# start_emu [ARGS]: starts bqemu; sets rest and grpc (its addresses).
start_emu() {
  local out="$dir/bqemu.out"
  : > "$out"
  "$dir/bqemu" -project bench "$@" > "$out" 2> "$dir/bqemu.err" &
  emu_pid=$!
  for _ in $(seq 300); do
    [ -s "$out" ] && break
    sleep 0.1
  done
  read -r rest grpc < "$out" || { echo "bench: bqemu did not start: $(cat "$dir/bqemu.err")" >&2; exit 1; }
}

# count DATASET: rows in DATASET.bench, and the sum of amount (exactness).
count() {
  curl -s -X POST -H 'Content-Type: application/json' "$rest/bigquery/v2/projects/bench/queries" \
    -d "{\"useLegacySql\":false,\"query\":\"SELECT COUNT(*), CAST(SUM(amount) AS STRING) FROM \`bench.$1.bench\`\"}" |
    jq -r '.rows[0].f | map(.v) | join(" ")'
}

# run LABEL CONFIG INPUT: prints "seconds peakKB bytes_per_record".
run() {
  local cfg="$dir/bq-$1.json"
  printf '%s\n' "$2" > "$cfg"
  if ! /usr/bin/time -f "%e %M" -o "$dir/bq-$1.time" bin/target-bigquery --config "$cfg" < "$3" > "$dir/bq-$1.state" 2> "$dir/bq-$1.log"; then
    echo "bench: target-bigquery ($1) failed:" >&2
    tail -3 "$dir/bq-$1.log" >&2
    exit 1
  fi
  local bpr
  bpr=$(sed -n 's/.*sent [0-9]* rows in [0-9]* bytes (\([0-9.]*\) bytes a row).*/\1/p' "$dir/bq-$1.log")
  echo "$(tail -1 "$dir/bq-$1.time") ${bpr:-0}"
}

start_emu -sink
read -r sink_s sink_kb sink_b < <(run sink "{\"project\":\"bench\",\"dataset\":\"sink\",\"api_endpoint\":\"$rest\",\"emulator\":true,\"storage_api_endpoint\":\"$grpc\",\"method\":\"storage_write\",\"load_method\":\"append\"}" "$stream")
stop_emu
sunk=$(sed -n 's/^sunk //p' "$dir/bqemu.out")

start_emu
read -r sw_s sw_kb sw_b < <(run sw "{\"project\":\"bench\",\"dataset\":\"sw\",\"api_endpoint\":\"$rest\",\"emulator\":true,\"storage_api_endpoint\":\"$grpc\",\"method\":\"storage_write\",\"load_method\":\"append\"}" "$estream")
read -r bj_s bj_kb bj_b < <(run bj "{\"project\":\"bench\",\"dataset\":\"bj\",\"api_endpoint\":\"$rest\",\"emulator\":true,\"method\":\"batch_job\",\"load_method\":\"append\"}" "$estream")
sw_rows=$(count sw)
bj_rows=$(count bj)
stop_emu

awk -v n="$N" -v en="$EN" -v ss="$sink_s" -v skb="$sink_kb" -v sb="$sink_b" -v sunk="$sunk" \
  -v ws="$sw_s" -v wkb="$sw_kb" -v wb="$sw_b" -v bs="$bj_s" -v bkb="$bj_kb" -v bb="$bj_b" \
  -v wrows="$sw_rows" -v brows="$bj_rows" 'BEGIN {
  printf "\ntarget-bigquery bench (flat stream: 10 columns incl. two BIGNUMERIC and a TIMESTAMP, validation on; client-side figures: the emulator is not BigQuery)\n"
  printf "%-46s %9s %12s %10s %12s\n", "what", "records", "records/s", "peak RSS", "bytes/record"
  printf "%-46s %9d %12s %9dM %12.1f\n", "storage_write append -> Storage API sink", n, sprintf("%\047d", n/ss), skb/1024, sb
  printf "%-46s %9d %12s %9dM %12.1f\n", "storage_write append -> emulator", en, sprintf("%\047d", en/ws), wkb/1024, wb
  printf "%-46s %9d %12s %9dM %12.1f\n", "batch_job append (NDJSON load jobs) -> emulator", en, sprintf("%\047d", en/bs), bkb/1024, bb
  printf "rows landed (count, sum of amount): storage_write %s; batch_job %s\n", wrows, brows
  printf "the sink received (rows, row bytes): %s\n", sunk
  printf "goal, >= 200,000 records/s encoded and sent to the Storage Write endpoint, peak RSS < 200 MB: %s\n", (n/ss >= 200000 && skb < 200*1024) ? "met" : "NOT met"
  print "(bytes/record: the rows as sent in AppendRows, or the NDJSON uploaded; gRPC/HTTP framing and the one-off schema excluded)"
}'

echo
echo "go test -run '^\$' -bench Encode -benchmem ./targets/bigquery/"
go test -run '^$' -bench Encode -benchmem ./targets/bigquery/
