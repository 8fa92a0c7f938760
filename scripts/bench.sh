#!/usr/bin/env bash
# make bench: the protocol layer's figures against the line-reading floor,
# measured in the same run on this machine.
#
# 1. `singer gen` writes a 1M-record foundation stream into .bench/.
# 2. `singer gen bench-decode` (hidden) reads it in several modes and prints
#    one JSON line each: records/s, CPU seconds and peak RSS (VmHWM).
# 3. A table with the ratios, then the Go micro-benchmarks of package singer.
#
# Knobs (environment): BENCH_RECORDS (1000000), BENCH_JUDGE_RECORDS (200000),
# BENCH_SMALL_RECORDS (100000), BENCH_REPEAT (3: floor and plan runs, best kept),
# BENCH_GOTEST (1: run the go test benchmarks; 0 skips them), BENCH_POSTGRES,
# BENCH_MYSQL, BENCH_DUCKDB, BENCH_BIGQUERY, BENCH_NATS, BENCH_GATE, BENCH_RUNNER, BENCH_MAPS (1: run those figures; 0 skips them).
# Each script it calls has knobs of its own, listed in its header:
# BENCH_PG_RUNS, BENCH_PG_CASES, BENCH_PG_PARALLEL (bench-postgres.sh),
# BENCH_MY_RUNS, BENCH_MY_CASES (bench-mysql-shapes.sh), BENCH_BUSY (both:
# keep N cores busy, the CPU-bound figures), BENCH_TAP_RUNS
# (bench-tap-postgres.sh, bench-tap-mysql.sh), BENCH_NATS_BATCH,
# BENCH_NATS_SERVER (bench-nats.sh), BENCH_ROWS, ...
set -euo pipefail
shopt -s inherit_errexit # a failed run inside $(...) stops the script too
cd "$(dirname "$0")/.."
. scripts/lib.sh

bin=bin/singer
if [ ! -x "$bin" ]; then
	echo "bench: $bin is missing: run make build (make bench does)" >&2
	exit 1
fi

records=${BENCH_RECORDS:-1000000}
judge_records=${BENCH_JUDGE_RECORDS:-200000}
small_records=${BENCH_SMALL_RECORDS:-100000}
repeat=${BENCH_REPEAT:-3}
[ "$judge_records" -gt "$records" ] && judge_records=$records
[ "$small_records" -gt "$records" ] && small_records=$records

mkdir -p .bench
stream=.bench/foundation.jsonl

# field JSON KEY: a number from a bench-decode result line.
field() { sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" <<<"$1"; }

# run ARGS...: one bench-decode run; its JSON line on stdout.
run() { "$bin" gen bench-decode "$@" || { echo "bench: bench-decode $* failed" >&2; return 1; }; }

# best N ARGS...: the run with the highest records/s out of N, and the
# highest peak RSS seen in any of them.
best() {
	local n=$1 out top="" rate toprate=0 rss toprss=0 maxrss=0
	shift
	for _ in $(seq "$n"); do
		out=$(run "$@")
		rate=$(field "$out" records_per_s)
		rss=$(field "$out" peak_rss_kb)
		if awk -v a="$rate" -v b="$toprate" 'BEGIN { exit !(a > b) }'; then
			top=$out
			toprate=$rate
			toprss=$rss
		fi
		[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	done
	printf '%s\n' "${top/\"peak_rss_kb\":$toprss,/\"peak_rss_kb\":$maxrss,}"
}

echo "generating $records foundation records into $stream ..." >&2
t0=$(now)
"$bin" gen --records "$records" --shape foundation --seed 1 >"$stream"
t1=$(now)
gen_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

# best_pipe N ARGS...: best of N runs reading the stream from a pipe.
best_pipe() {
	local n=$1 out top="" rate toprate=0
	shift
	for _ in $(seq "$n"); do
		# shellcheck disable=SC2002 # a pipe on purpose: targets read stdin from one
		out=$(cat "$stream" | run "$@" -)
		rate=$(field "$out" records_per_s)
		if awk -v a="$rate" -v b="$toprate" 'BEGIN { exit !(a > b) }'; then
			top=$out
			toprate=$rate
		fi
	done
	printf '%s\n' "$top"
}

echo "measuring (best of $repeat runs each) ..." >&2
floor=$(best_pipe "$repeat" --mode floor)
file=$(best "$repeat" --mode floor "$stream")
plan_pipe=$(best_pipe "$repeat" --mode plan)
plan=$(best "$repeat" --mode plan "$stream")
plan_small=$(run --mode plan --limit "$small_records" "$stream")
echo "measuring jsonschema/v5 alone on the first $judge_records records (it is slow) ..." >&2
judge=$(run --mode judge --limit "$judge_records" "$stream")

for r in "$plan" "$plan_pipe" "$plan_small"; do
	if [ "$(field "$r" judged)" != 0 ]; then
		echo "bench: warning: the plan sent $(field "$r" judged) records to the judge: $r" >&2
	fi
done

cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
avg_line=$(awk -v b="$(field "$file" bytes)" -v l="$(field "$file" lines)" 'BEGIN { printf "%d", b / l + 0.5 }')

# vals NAME RESULT: awk -v assignments for a result's rate, peak RSS and CPU.
vals() { printf -- '-v %s_r=%s -v %s_m=%s -v %s_c=%s ' "$1" "$(field "$2" records_per_s)" "$1" "$(field "$2" peak_rss_kb)" "$1" "$(field "$2" cpu_s)"; }

# shellcheck disable=SC2046 # vals prints several words on purpose
awk -v records="$records" -v avg="$avg_line" -v cores="$cores" -v gen_s="$gen_s" \
	-v judge_records="$judge_records" -v small_records="$small_records" -v small_m="$(field "$plan_small" peak_rss_kb)" \
	-v plan_s="$(field "$plan" elapsed_s)" -v plan_recs="$(field "$plan" records)" \
	$(vals floor "$floor") $(vals file "$file") $(vals plan "$plan") $(vals plpipe "$plan_pipe") $(vals judge "$judge") '
function commas(n,   s, out) {
	s = sprintf("%d", n + 0.5)
	out = ""
	while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
	return s out
}
function mb(kb) { return sprintf("%d MB", kb / 1024 + 0.5) }
function row(what, r, m, c) {
	printf "%-38s %11s %8s %6.2f %8.2fx\n", what, commas(r), mb(m), c, r / floor_r
}
function short(n) { return n % 1000000 == 0 ? (n / 1000000) "M" : n % 1000 == 0 ? (n / 1000) "k" : n }
BEGIN {
	printf "singerkit foundation bench (%s records, %d bytes/line avg, %d cores)\n", records, avg, cores
	printf "%-38s %11s %8s %6s %9s\n", "what", "records/s", "peak RSS", "CPU s", "vs floor"
	row("read lines from a pipe (floor)", floor_r, floor_m, floor_c)
	row("read lines from a file (page cache)", file_r, file_m, file_c)
	row("decode+validate, plan fast, pipe", plpipe_r, plpipe_m, plpipe_c)
	row("decode+validate, plan fast, file", plan_r, plan_m, plan_c)
	row("decode+validate, v5 alone (" short(judge_records) ", file)", judge_r, judge_m, judge_c)
	printf "plan vs v5 alone: %.1fx\n", plan_r / judge_r
	printf "memory flat: %s -> %s, %s -> %s\n", short(small_records), mb(small_m), short(records), mb(plan_m)
	printf "generate (singer gen > file): %s records in %.2f s, %s records/s\n", commas(records), gen_s, commas(records / gen_s)
	printf "goal, plan >= 800,000 records/s on one core: %s: %s records/s wall clock, %s per CPU-second (%.2f CPU-s in %.2f s)\n",
		plan_r >= 800000 ? "met" : "NOT met", commas(plan_r), commas(plan_recs / plan_c), plan_c, plan_s
	print "(best of the runs; records/s of the line readers are lines/s; v5 alone runs on the first " commas(judge_records) " records only: ~20 us a record)"
}'

echo
echo "raw results:"
printf '%s\n' "$floor" "$file" "$plan_pipe" "$plan" "$plan_small" "$judge"

if [ "${BENCH_GOTEST:-1}" != 0 ]; then
	echo
	echo "go test -run '^\$' -bench 'Tokenize|DecodeValidate|ReadLines' -benchmem ./singer/ ./internal/gen/"
	go test -run '^$' -bench 'Tokenize|DecodeValidate|ReadLines' -benchmem ./singer/ ./internal/gen/
fi

if [ "${BENCH_POSTGRES:-1}" != 0 ]; then
	bash scripts/bench-postgres.sh
fi

if [ "${BENCH_POSTGRES:-1}" != 0 ]; then
	echo
	bash scripts/bench-tap-postgres.sh
fi

if [ "${BENCH_MAPS:-1}" != 0 ]; then
	echo >&2
	bash scripts/bench-maps.sh
fi
if [ "${BENCH_RUNNER:-1}" != 0 ]; then
	echo
	bash scripts/bench-runner.sh
fi

if [ "${BENCH_MYSQL:-1}" != 0 ]; then
	echo
	bash scripts/bench-mysql.sh
	echo
	bash scripts/bench-mysql-shapes.sh
	echo
	bash scripts/bench-tap-mysql.sh
fi

if [ "${BENCH_DUCKDB:-1}" != 0 ]; then
	echo
	bash scripts/bench-duckdb.sh
fi

if [ "${BENCH_NATS:-1}" != 0 ]; then
	echo
	bash scripts/bench-nats.sh
fi

if [ "${BENCH_GATE:-1}" != 0 ]; then
	echo
	bash scripts/bench-gate.sh
fi

if [ "${BENCH_BIGQUERY:-1}" != 0 ]; then
	echo
	bash scripts/bench-bigquery.sh
fi
