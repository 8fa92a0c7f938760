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
