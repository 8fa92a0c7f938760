# Functions the bench scripts share (sourced, not run): the timer, the
# 10-column source table in PostgreSQL, the selection of every stream of a
# discovered catalog.

# now prints the time in seconds with nanoseconds.
now() { date +%s.%N; }

# pg_bench_table URL SCHEMA N: drops SCHEMA and makes it again with the
# table SCHEMA.src of N rows (id bigint key, text, integers, a double, a
# boolean, a numeric(12,2), a timestamptz: 10 columns), analyzed.
pg_bench_table() {
  psql "$1" -q <<SQL 2>/dev/null
DROP SCHEMA IF EXISTS $2 CASCADE;
CREATE SCHEMA $2;
CREATE TABLE $2.src (
  id bigint PRIMARY KEY, name text, email text, city text, qty integer, score double precision,
  active boolean, code varchar(16), amount numeric(12,2), updated_at timestamptz);
INSERT INTO $2.src
SELECT i, 'customer number ' || i, 'user' || (i % 99991) || '@example.com', 'Berlin', i % 1000, (i % 977) / 7.0,
       i % 3 = 0, 'AB-' || (i % 10000), (i % 100000) + 0.25, timestamptz '2024-01-01' + i * interval '1 second'
FROM generate_series(1, $3) i;
ANALYZE $2.src;
SQL
}

# select_all_streams CATALOG: marks every stream of the catalog file
# selected, in place (python3).
select_all_streams() {
  python3 - "$1" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
for s in c["streams"]:
    for m in s["metadata"]:
        if m["breadcrumb"] == []:
            m["metadata"]["selected"] = True
json.dump(c, open(p, "w"))
PY
}

# shapes_report RESULTS CORES BASE NOTE: the table of a shapes bench from
# RESULTS lines "case|side|records|wall|user|sys|maxrss_kb|server_cpu|index_bytes|rows"
# and "case|load|before|after": per case and side the median records/s
# and range, the ratio to the side whose label starts with BASE, client
# and server CPU seconds per 1M records (medians), peak RSS and index size;
# the load of each case under it.
shapes_report() {
  awk -F'|' -v cores="$2" -v basep="$3" '
function median(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
  return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
$2 == "load" {
  free = cores - ($3 > $4 ? $3 : $4); if (free < 0) free = 0
  loadinfo[$1] = sprintf("load %s -> %s, cores free ~%.1f", $3, $4, free)
  next
}
{
  key = $1 SUBSEP $2
  if (!(key in n)) { order[++nk] = key; cs[key] = $1; lb[key] = $2 }
  k = ++n[key]; recs[key] = $3
  rate[key, k] = $3 / $4; cli[key, k] = ($5 + $6) / $3 * 1e6; srv[key, k] = $8 / $3 * 1e6
  if ($7 > rss[key]) rss[key] = $7
  idx[key] = $9; landed[key] = $10
}
END {
  printf "%-15s %-36s %21s %7s %9s %9s %8s %8s\n", "case", "side", "records/s median (range)", "vs " basep, "client s/M", "server s/M", "peak RSS", "index"
  for (i = 1; i <= nk; i++) {
    key = order[i]; m = n[key]
    lo = 1e18; hi = 0
    for (k = 1; k <= m; k++) { r[k] = rate[key, k]; if (r[k] < lo) lo = r[k]; if (r[k] > hi) hi = r[k]; c[k] = cli[key, k]; s[k] = srv[key, k] }
    med = median(r, m); medc = median(c, m); meds = median(s, m)
    if (index(lb[key], basep) == 1) base[cs[key]] = med
    rows[i] = sprintf("%s|%s|%.0f|%.0f|%.0f|%.2f|%.2f|%d|%d|%d|%d", cs[key], lb[key], med, lo, hi, medc, meds, rss[key] / 1024, idx[key] / 1048576, landed[key], recs[key])
  }
  last = ""
  for (i = 1; i <= nk; i++) {
    split(rows[i], f, "|")
    if (f[1] != last && last != "") print "  (" loadinfo[last] ")"
    last = f[1]
    ratio = base[f[1]] > 0 ? sprintf("%.2fx", f[3] / base[f[1]]) : "-"
    printf "%-15s %-36s %8d (%d-%d) %7s %9.2f %9.2f %6d MB %5d MB%s\n", f[1], f[2], f[3], f[4], f[5], ratio, f[6], f[7], f[8], f[9], f[10] == f[11] ? "" : "  ROWS " f[10] " != " f[11]
  }
  if (last != "") print "  (" loadinfo[last] ")"
  print "  " note
}' note="$4" "$1"
}

# proc_cpu PID: user+system CPU seconds of a process so far.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' "/proc/$1/stat"; }

# busy_cores N: starts N shell loops that keep a core busy each until the
# script exits (BENCH_BUSY: the figures of a CPU-bound machine; the load
# average, and so "cores free", counts them). 0 starts none.
busy_cores() {
  [ "${1:-0}" -gt 0 ] || return 0
  local i pids=""
  for i in $(seq "$1"); do
    ( while :; do :; done ) &
    pids="$pids $!"
  done
  # shellcheck disable=SC2064 # the pids are known now
  trap "kill $pids 2>/dev/null || true" EXIT
  echo "(BENCH_BUSY=$1: $1 core(s) kept busy by shell loops for the whole run)" >&2
}
