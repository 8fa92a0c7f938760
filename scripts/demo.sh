#!/usr/bin/env bash
# make demo: tap-csv reads the bundled CSV files, singer check validates the
# stream, target-jsonl lands it; then a second run resumes from the state.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"
mkdir -p "$out"
printf '{"destination_path": "%s/data"}\n' "$out" > "$out/target-jsonl.config.json"
# Singer metrics (INFO METRIC lines on stderr) go to a log, to keep this short.
quiet() { "$@" 2> >(grep -v ' METRIC: ' >&2); }

echo "== 1. tap-csv | singer check: is the stream conformant? =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json > "$out/stream.jsonl"
bin/singer check --input "$out/stream.jsonl"

echo
echo "== 2. tap-csv | target-jsonl > state.json =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json \
  | quiet bin/target-jsonl --config "$out/target-jsonl.config.json" > "$out/state.json"
for f in "$out"/data/*.jsonl; do
  echo "-- $f: $(wc -l < "$f") records; the first two:"
  head -2 "$f"
done
echo "-- state emitted after the data was on disk:"
tail -1 "$out/state.json"

echo
echo "== 3. rerun with --state: the files are done, nothing is sent again =="
quiet bin/tap-csv --config testdata/demo/tap-csv.config.json --state "$out/state.json" \
  | quiet bin/target-jsonl --config "$out/target-jsonl.config.json" > "$out/state2.json"
for f in "$out"/data/*.jsonl; do
  echo "-- $f: $(wc -l < "$f") records (unchanged)"
done
echo
echo "demo done: see $out/"
