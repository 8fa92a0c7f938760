#!/bin/sh
# A third-party style Singer tap for the runner's tests: stream "items"
# (id, name, ssn), state as a bare value {"pos":N}. Environment knobs:
# TAP_ROWS (default 5), TAP_FAIL_AT (exit 1 after that row, once per
# TAP_FAIL_FLAG file), TAP_CATALOG_COPY (copy the catalog it was given),
# TAP_ARGS_COPY (copy its arguments), TAP_BLOCK_AFTER (block after that
# row, its pid in TAP_PID_FILE, until a signal).
set -e
while [ $# -gt 0 ]; do
  case "$1" in
    --config) cfg=$2; shift ;;
    --catalog) catalog=$2; shift ;;
    --state) state=$2; shift ;;
    --discover) discover=1 ;;
  esac
  shift
done
[ -n "$TAP_ARGS_COPY" ] && ls -l "$cfg" > "$TAP_ARGS_COPY"
if [ -n "$discover" ]; then
  echo "discovering" >&2
  cat <<'X'
{"streams":[{"tap_stream_id":"items","stream":"items","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"ssn":{"type":"string"}}},"metadata":[{"breadcrumb":[],"metadata":{"table-key-properties":["id"]}}]},{"tap_stream_id":"other","stream":"other","schema":{"type":"object","properties":{"x":{"type":"integer"}}},"metadata":[]}]}
X
  exit 0
fi
[ -n "$TAP_CATALOG_COPY" ] && cp "$catalog" "$TAP_CATALOG_COPY"
pos=0
if [ -n "$state" ]; then pos=$(sed 's/.*"pos": *\([0-9]*\).*/\1/' "$state"); fi
rows=${TAP_ROWS:-5}
echo '{"type":"SCHEMA","stream":"items","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}},"key_properties":["id"]}'
n=0
while [ "$pos" -lt "$rows" ]; do
  pos=$((pos+1)); n=$((n+1))
  echo "{\"type\":\"RECORD\",\"stream\":\"items\",\"record\":{\"id\":$pos,\"name\":\"n$pos\"}}"
  echo "{\"type\":\"STATE\",\"value\":{\"pos\":$pos}}"
  if [ -n "$TAP_BLOCK_AFTER" ] && [ "$pos" -eq "$TAP_BLOCK_AFTER" ]; then
    echo $$ > "$TAP_PID_FILE"
    exec sleep 100000
  fi
  if [ -n "$TAP_FAIL_AT" ] && [ "$pos" -eq "$TAP_FAIL_AT" ] && [ ! -e "$TAP_FAIL_FLAG" ]; then
    touch "$TAP_FAIL_FLAG"
    echo "INFO METRIC: {\"type\":\"counter\",\"metric\":\"record_count\",\"value\":$n,\"tags\":{\"endpoint\":\"items\"}}" >&2
    echo "tap failed on purpose" >&2
    exit 1
  fi
done
echo "INFO METRIC: {\"type\":\"counter\",\"metric\":\"record_count\",\"value\":$n,\"tags\":{\"endpoint\":\"items\"}}" >&2
