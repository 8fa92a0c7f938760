// Package postgres is target-postgres: the PostgreSQL dialect of the
// shared SQL target engine (targets/sqltarget). Batches are encoded
// straight into PostgreSQL's binary COPY format, loaded into a stage and
// merged by key in one transaction (or appended); columns are added and
// widened as the schema evolves; a column the target did not create is
// never altered.
package postgres
