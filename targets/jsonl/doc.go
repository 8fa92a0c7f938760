// Package jsonl is target-jsonl: a Singer target that appends each stream's
// records to <destination_path>/<stream>.jsonl, one JSON object a line (the
// record exactly as the tap wrote it, unless metadata columns are added),
// and echoes a STATE value on stdout only once every record before it, in
// every stream, is flushed and fsynced.
//
// Records are committed (flushed and fsynced) at every STATE, every
// batch_size_rows records, before a changed SCHEMA and at the end of the
// input. On an error every file is cut back to exactly the records before
// the last echoed state (to its size at the start of the run when no state
// was echoed; a file the run created is then removed) and the run fails; on
// start a torn last line left by a killed run is cut off. A rerun from the
// last echoed state appends again: delivery is at least once, so a keyed
// downstream deduplicates.
//
// The command is a few lines:
//
//	func main() {
//		os.Exit(cli.RunTarget(context.Background(), jsonl.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
//	}
//
// and runs as
//
//	tap-csv --config tap.json | target-jsonl --config target.json > state.json
package jsonl
