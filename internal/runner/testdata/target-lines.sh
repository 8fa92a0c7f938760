#!/bin/sh
# A third-party style Singer target for the runner's tests: appends each
# RECORD line to $TARGET_OUT and echoes each STATE value on stdout.
# TARGET_FAIL_AT=N exits 1 on the Nth record.
set -e
n=0
while IFS= read -r line; do
  case "$line" in
    *'"type":"RECORD"'*)
      n=$((n+1))
      if [ -n "$TARGET_FAIL_AT" ] && [ "$n" -eq "$TARGET_FAIL_AT" ]; then echo "target failed on purpose" >&2; exit 1; fi
      echo "$line" >> "$TARGET_OUT" ;;
    *'"type":"STATE"'*)
      echo "$line" | sed 's/^.*"value"://; s/}$//' ;;
  esac
done
echo "target done" >&2
