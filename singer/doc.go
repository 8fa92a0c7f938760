// Package singer implements the Singer protocol: what a tap writes and a
// target reads, one JSON object per line, and nothing else. It has no
// command line, no processes and no database or broker code; the taps,
// targets and the `singer` toolkit of this module build on it, and so can
// any Go program that speaks Singer.
//
// # Messages
//
// A Singer stream is newline-delimited JSON. Each line is one message, told
// apart by its "type" (matched case-insensitively):
//
//	{"type":"SCHEMA","stream":"users","schema":{...},"key_properties":["id"]}
//	{"type":"RECORD","stream":"users","record":{"id":1,"name":"Ada"}}
//	{"type":"STATE","value":{"bookmarks":{"users":{"id":1}}}}
//	{"type":"ACTIVATE_VERSION","stream":"users","version":1700000000000}
//	{"type":"BATCH","stream":"users","encoding":{...},"manifest":["file:///..."]}
//
// A SCHEMA names a stream and describes its records with a JSON Schema, and
// must come before the stream's first RECORD; key_properties (which may be
// empty) name the properties a target merges on. A RECORD carries one row.
// A STATE carries an opaque value the tap wants back on its next run: a
// target echoes it on stdout only once every record before it, in every
// stream, is committed, so a run that stops resumes from the last state it
// printed. ACTIVATE_VERSION tells a target that the rows of older versions
// of a stream are gone (after a full-table sync). BATCH names files that
// hold the records instead of the lines themselves.
//
// # Reading and writing
//
// A Decoder reads messages with lines of any length, keeps numbers as their
// exact text and names the 1-based input line in every error (an
// *InputError). It reuses one Message: copy what must outlive the line.
//
//	dec := singer.NewDecoder(os.Stdin)
//	for dec.Next() {
//		msg := dec.Message()
//		switch msg.Type {
//		case singer.TypeSchema:
//			schema, err := singer.CompileSchema(msg.Schema, singer.SchemaOptions{})
//			// ...
//		case singer.TypeRecord:
//			// msg.Record is the raw JSON object of the record
//		case singer.TypeState:
//			// msg.Value is the raw state
//		}
//	}
//	if err := dec.Err(); err != nil {
//		// an *InputError names the line: "line 7: not a JSON object: ..."
//	}
//
// An Encoder writes messages the same way, buffered: Flush before exit.
//
//	enc := singer.NewEncoder(os.Stdout)
//	enc.WriteSchema(singer.SchemaMessage{Stream: "users", Schema: schema, KeyProperties: []string{"id"}})
//	enc.WriteRecord(singer.RecordMessage{Stream: "users", Record: []byte(`{"id":1}`)})
//	enc.WriteState(state)
//	enc.Flush()
//
// # Schemas and validation
//
// CompileSchema turns a SCHEMA into a Schema: a plan that decodes a record
// straight into typed column values (a Row) and validates it on the way,
// handing only the records it cannot vouch for to jsonschema/v5. Decimals
// (singer.decimal, x-singer.decimal, multipleOf) are never rounded through
// float64.
//
// # State, catalog and metadata
//
// State is a tap's bookmarks by tap_stream_id, with currently_syncing.
// Catalog is what a tap discovers and a user edits to select streams and
// properties; its Metadata (breadcrumbs with inclusion, selected,
// replication-method, replication-key) follows the Singer spec. Log writes
// the Singer metrics (INFO METRIC: lines) on stderr.
package singer
