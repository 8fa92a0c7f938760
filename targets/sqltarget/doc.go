// Package sqltarget is the engine every SQL target shares: it reads Singer
// messages, routes records by stream, validates and decodes them through the
// stream's compiled schema plan, plans tables from schemas (flattening,
// identifier folding, type mapping to a logical type, metadata columns),
// batches rows with a flush policy (rows, bytes, age), hands full batches to
// loader goroutines so decoding overlaps loading, and echoes each STATE only
// once every record before it is committed (watermark.Watermark).
//
// A destination plugs in as a Dialect: identifier rules, a type table from
// LogicalType to its column types, and a Session that creates and evolves
// tables, encodes rows into its bulk format and loads batches (stage, check
// the count, merge by key, commit). Nothing database-specific lives here.
//
// Dialect, Session and Batch take the dialect's batch type B as a
// parameter: Session.Load receives the batches its PrepareTable made, with
// their type, so it reads their encoded rows without a type assertion. New
// infers B from the dialect.
//
//	engine := sqltarget.New(dialect, cfg, env.Log)
//	err := engine.Run(ctx, input, out)
package sqltarget
