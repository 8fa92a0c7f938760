// Package duckdb is target-duckdb: the DuckDB dialect of the SQL target
// engine (targets/sqltarget). DuckDB is embedded: the target opens the
// database file itself (github.com/duckdb/duckdb-go, cgo), holds its write
// lock for the run, stages each batch through DuckDB's Appender into a
// temporary table and merges or appends it with SQL in one transaction.
package duckdb
