// Package memdialect is a sqltarget.Dialect that keeps its tables in
// memory (or in one file, for several processes), for tests of the SQL
// target engine that need no database server.
//
// The engine cannot tell it from a database: a Load is one transaction
// (stage, merge by key or append, commit) that leaves nothing behind when
// it fails; tables are created and evolved by the rule below; append into
// a table with a unique key skips the keys it has; ACTIVATE_VERSION,
// hard and soft deletes and the overwrite swap behave as in the real
// dialects. Failures and slow loads come on demand through Hooks.
//
//	db := memdialect.NewDB()                  // or OpenDB(dir): files shared by processes
//	d := memdialect.New(db, log)              // a sqltarget.Dialect[*batch]
//	d.Hooks.BeforeCommit = func(ctx context.Context, table string, rows int) error { ... }
//	err := sqltarget.New(d, cfg, log).Run(ctx, input, out)
//	rows := db.Rows("schema", "table", []string{"id", "v"}, "id")
//
// Values are kept as text, rendered as sqltargettest.Harness.Rows asks:
// NULL as nil, booleans true/false, timestamps RFC 3339 UTC with
// microseconds, numbers as exact decimal text without trailing fraction
// zeros, JSON compact with sorted keys, text as is.
//
// Column types are the engine's logical types (LogicalType.String). A
// column evolves when a stream's schema asks another type: within the
// numeric family (integer, decimal, number) to number; to json when json
// is asked; to string otherwise. string and json columns take every value
// (as text, as JSON). A string's maxLength is not enforced.
//
// Harness (harness.go) runs sqltargettest's conformance suite on it, and
// cmd/target-memory is the binary its command-line cases run.
package memdialect
