// Package csvtap is tap-csv: it reads CSV files and writes each as a Singer
// stream, built on package singer with the standard library's encoding/csv.
//
// Each configured file becomes one stream. Column types are inferred from
// the first sample_rows rows (integer, decimal number, boolean, date,
// date-time, else string; all nullable, an empty cell is null), and
// schema_overrides replaces the inferred schema of a column. Records keep
// the column order, and numbers keep their exact text. A later row whose
// value does not fit the SCHEMA sent stops the run with an error naming the
// file, line, column and value: a record never contradicts its SCHEMA.
//
// The state holds one bookmark per stream:
//
//	{"bookmarks": {"customers": {"file_mtime": "2024-05-01T10:00:00.123456789Z",
//	  "file_size": 2048, "row": 10000}}, "currently_syncing": "customers"}
//
// "row" counts the data rows emitted; "done": true marks a file emitted
// whole. With a state, a file of the same size and modification time is
// resumed after its bookmarked row, or skipped when done; a changed file is
// read again from the start.
//
// Wire it into a binary with cli.RunTap:
//
//	os.Exit(cli.RunTap(ctx, csvtap.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
package csvtap
