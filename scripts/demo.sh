#!/usr/bin/env bash
# make demo: tap-csv reads the bundled CSV files, singer check validates the
# stream, target-duckdb lands it in a DuckDB file (no server), `target-duckdb
# query` shows what landed (no DuckDB CLI needed), and a second run resumes
# from the state. The same stream into JSON-lines files (target-jsonl) ends it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"
mkdir -p "$out"
printf '{"path": "%s/demo.duckdb"}\n' "$out" > "$out/target-duckdb.config.json"
printf '{"destination_path": "%s/data"}\n' "$out" > "$out/target-jsonl.config.json"
# Singer metrics (INFO METRIC lines on stderr) go to a log, to keep this short.
quiet() { "$@" 2> >(grep -v ' METRIC: ' >&2); }
query() { bin/target-duckdb query --config "$out/target-duckdb.config.json" "$1"; }

echo "== 1. tap-csv | singer check: is the stream conformant? =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json > "$out/stream.jsonl"
bin/singer check --input "$out/stream.jsonl"

echo
echo "== 2. tap-csv | target-duckdb > state.json: into $out/demo.duckdb =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json \
  | quiet bin/target-duckdb --config "$out/target-duckdb.config.json" > "$out/state.json"
echo "-- state emitted after the data was committed:"
tail -1 "$out/state.json"

echo
echo "== 3. target-duckdb query: what landed =="
query "SELECT table_name, estimated_size AS rows, column_count AS columns FROM duckdb_tables() ORDER BY table_name"
echo
query "SELECT o.order_id, c.name AS customer, o.ordered_at, count(i.line) AS lines, o.total, o.currency
  FROM orders o JOIN customers c ON c.id = o.customer_id LEFT JOIN order_items i ON i.order_id = o.order_id
  GROUP BY ALL ORDER BY o.order_id LIMIT 5"

echo
echo "== 4. rerun with --state: the files are done, nothing is sent again =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json --state "$out/state.json" \
  | quiet bin/target-duckdb --config "$out/target-duckdb.config.json" > "$out/state2.json"
query "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS order_items"

echo
echo "== 5. the same stream into JSON-lines files: tap-csv | target-jsonl =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json \
  | quiet bin/target-jsonl --config "$out/target-jsonl.config.json" > "$out/state-jsonl.json"
for f in "$out"/data/*.jsonl; do
  echo "-- $f: $(wc -l < "$f") records; the first:"
  head -1 "$f"
done
echo
echo "demo done: see $out/ (query it: bin/target-duckdb query --path $out/demo.duckdb \"SELECT * FROM orders\")"
