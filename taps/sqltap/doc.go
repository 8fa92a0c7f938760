// Package sqltap is the engine every SQL tap shares: it turns a driver's
// tables into a catalog (--discover), reads the catalog the user edited
// (selection, replication method and key), and runs each selected stream as
// FULL_TABLE (key-ordered chunks, resumable from the last key, with
// ACTIVATE_VERSION) or INCREMENTAL (replication key >= bookmark, ordered),
// writing STATE with bookmarks keyed by tap_stream_id and currently_syncing.
//
// A driver (taps/postgres, taps/mysql) knows its database: it lists tables
// with their columns' JSON schemas, and scans rows in the order the engine
// asks for, encoding each row straight to JSON. Nothing database-specific
// lives here. Optional abilities are interfaces a driver may implement:
// LogReader (LOG_BASED from a change log), LogSnapshotter (a LogReader
// that opens a snapshot at exactly the log's start, so a first LOG_BASED
// run reads each change once: PostgreSQL's exported slot snapshot) and
// PhysicalOrder (keyless tables read in a resumable physical order, e.g.
// PostgreSQL's ctid).
//
//	e := &sqltap.Engine{Driver: drv, Options: sqltap.Options{ChunkSize: 10000}, Log: env.Log}
//	if err := e.Sync(ctx, catalog, state, out); err != nil { ... }
package sqltap
