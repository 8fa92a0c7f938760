// Package postgres is tap-postgres: the PostgreSQL driver of the SQL tap
// engine (taps/sqltap). It discovers tables, views and materialized views
// from pg_catalog, maps every column type to a JSON schema and a value
// encoder with one table (types.go), and scans rows in text format
// straight into JSON, key-ordered and chunked, with values compared in the
// column's own type through parameters; keyless tables in ctid order,
// resumable. LOG_BASED reads logical replication with pgoutput
// (logical.go), filling in unchanged TOASTed values of updates; its first
// run reads the tables in the snapshot the new slot exports (snapshot.go).
//
//	d, err := postgres.Open(ctx, &postgres.Config{URL: "postgres://user@host/db"})
//	e := postgres.Engine(cfg, d, log)
//	err = e.Sync(ctx, catalog, state, singer.NewEncoder(os.Stdout))
package postgres
