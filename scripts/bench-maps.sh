#!/usr/bin/env bash
# Stream maps figures: `singer map` with three property maps (one hash, one
# drop, one rename) and a filter on the 1M-record flat bench stream, next to
# `cat` of the same file through the same pipe (the pipe's limit); then
# target-postgres loading the stream with those maps in its own config and
# without them. Each pair is interleaved BENCH_REPEAT times (default 3);
# the median and the range are printed, with the machine's load average
# before and after (the figures are only as good as the machine was idle).
# Called by scripts/bench.sh (BENCH_MAPS=0 skips it); needs bin/ built, and
# the local PostgreSQL (TEST_POSTGRES_URL) for the target figures.
set -euo pipefail
cd "$(dirname "$0")/.."
URL="${TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"
N="${BENCH_RECORDS:-1000000}"
REPEAT="${BENCH_REPEAT:-3}"
dir=.bench
mkdir -p "$dir"
stream="$dir/flat-$N.jsonl"
[ -s "$stream" ] || bin/singer gen --shape flat --stream bench --records "$N" > "$stream"

# The maps: the email hashed, the city dropped, customer renamed to buyer,
# and a filter every record passes (so both sides load the same rows).
maps='"stream_maps":{"bench":{"email":"sha256(email)","city":null,"buyer":"customer","customer":null,"__filter__":"id > 0"}}'
printf '{%s}\n' "$maps" > "$dir/maps.json"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# timed CMD: "wall cpu" seconds of a shell pipeline; @TIME@ in CMD marks
# the process whose CPU seconds (user + sys) are counted (cpu is 0 without
# /usr/bin/time). On a busy machine the CPU seconds say more than the wall.
timed() {
	local s e tf=$dir/timed.$$ cpu=0 t=""
	[ -x /usr/bin/time ] && t="/usr/bin/time -f '%U %S' -o $tf"
	s=$(date +%s.%N)
	bash -c "${1//@TIME@/$t}"
	e=$(date +%s.%N)
	[ -s "$tf" ] && cpu=$(awk '{ print $1 + $2 }' "$tf")
	rm -f "$tf"
	echo "$(echo "$e - $s" | bc) $cpu"
}

# stats COLUMN: median, min and max of a column of the lines on stdin.
stats() { awk -v c="$1" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

cat_s=()
map_s=()
for _ in $(seq "$REPEAT"); do
	cat_s+=("$(timed "cat '$stream' | @TIME@ cat > /dev/null")")
	map_s+=("$(timed "cat '$stream' | @TIME@ bin/singer map --config '$dir/maps.json' > /dev/null")")
done
read -r cat_med cat_min cat_max < <(printf '%s\n' "${cat_s[@]}" | stats 1)
read -r map_med map_min map_max < <(printf '%s\n' "${map_s[@]}" | stats 1)
read -r map_cpu _ _ < <(printf '%s\n' "${map_s[@]}" | stats 2)
lines=$(bin/singer map --config "$dir/maps.json" < "$stream" | grep -c '"type":"RECORD"')
if [ "$lines" != "$N" ]; then
	echo "bench-maps: singer map wrote $lines records, not $N" >&2
	exit 1
fi

pg=0
if psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1; then
	pg=1
	plain_s=()
	mapped_s=()
	for _ in $(seq "$REPEAT"); do
		for kind in plain mapped; do
			psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_mapbench CASCADE" 2>/dev/null
			extra=""
			[ "$kind" = mapped ] && extra=",$maps"
			printf '{"url":"%s","default_target_schema":"singerkit_mapbench","load_method":"append"%s}\n' "$URL" "$extra" > "$dir/map-$kind.json"
			t=$(timed "@TIME@ bin/target-postgres --config '$dir/map-$kind.json' < '$stream' > /dev/null 2> '$dir/map-$kind.log'")
			if [ "$kind" = plain ]; then plain_s+=("$t"); else mapped_s+=("$t"); fi
		done
	done
	cols=$(psql "$URL" -Atc "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_schema = 'singerkit_mapbench' AND table_name = 'bench'")
	psql "$URL" -qc "DROP SCHEMA IF EXISTS singerkit_mapbench CASCADE" 2>/dev/null
	case ",$cols," in
	*,email,* | *,buyer,*) ;;
	*) echo "bench-maps: the mapped table has columns $cols" >&2; exit 1 ;;
	esac
	read -r plain_med plain_min plain_max < <(printf '%s\n' "${plain_s[@]}" | stats 1)
	read -r mapped_med mapped_min mapped_max < <(printf '%s\n' "${mapped_s[@]}" | stats 1)
	read -r plain_cpu _ _ < <(printf '%s\n' "${plain_s[@]}" | stats 2)
	read -r mapped_cpu _ _ < <(printf '%s\n' "${mapped_s[@]}" | stats 2)
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

awk -v n="$N" -v rep="$REPEAT" -v cores="$(nproc)" -v lb="$load_before" -v la="$load_after" \
	-v cm="$cat_med" -v c1="$cat_min" -v c2="$cat_max" -v mm="$map_med" -v m1="$map_min" -v m2="$map_max" \
	-v pg="$pg" -v pm="${plain_med:-0}" -v p1="${plain_min:-0}" -v p2="${plain_max:-0}" \
	-v qm="${mapped_med:-0}" -v q1="${mapped_min:-0}" -v q2="${mapped_max:-0}" \
	-v mc="$map_cpu" -v pc="${plain_cpu:-0}" -v qc="${mapped_cpu:-0}" '
function commas(x,   s, out) {
	s = sprintf("%d", x + 0.5)
	out = ""
	while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
	return s out
}
function row(what, med, lo, hi, base, cpu) {
	printf "%-40s %11s   %9s..%-9s %6.2fx %8.2f %11s\n", what, commas(n / med), commas(n / hi), commas(n / lo), base / med, cpu, (cpu > 0 ? commas(n / cpu) : "-")
}
BEGIN {
	printf "\nstream maps bench (%d records of the flat stream; maps: sha256(email), city dropped, customer renamed, filter id > 0)\n", n
	printf "median of %d interleaved runs; load average %s before, %s after, %d cores\n", rep, lb, la, cores
	printf "%-40s %11s   %-20s %7s %8s %11s\n", "what", "records/s", "range", "ratio", "CPU s", "rec/CPU-s"
	row("cat file | cat (the pipe)", cm, c1, c2, cm, 0)
	row("cat file | singer map", mm, m1, m2, cm, mc)
	if (pg) {
		row("target-postgres append, no maps", pm, p1, p2, pm, pc)
		row("target-postgres append, with the maps", qm, q1, q2, pm, qc)
	} else {
		print "target-postgres figures skipped: PostgreSQL unreachable"
	}
	printf "(ratio: vs cat for singer map, vs no maps for target-postgres; CPU s: user+sys of singer map or\n target-postgres alone, median; rec/CPU-s: records per CPU second of that process, what one core would do)\n"
}'
