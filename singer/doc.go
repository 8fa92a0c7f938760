// Package singer implements the Singer protocol: the messages a tap writes and
// a target reads, a fast decoder and encoder for newline-delimited JSON, schema
// compilation and validation (with a schema-directed fast path in front of
// jsonschema/v5), state and bookmarks, the STATE watermark targets use, catalogs
// and metadata, config loading and the command line shared by every binary.
//
// The package has no database imports; taps and targets build on it.
//
//	dec := singer.NewDecoder(os.Stdin)
//	for dec.Next() {
//		msg := dec.Message()
//		switch msg.Type {
//		case singer.TypeRecord:
//			// msg.Record is the raw JSON object of the record
//		}
//	}
//	if err := dec.Err(); err != nil {
//		// err names the 1-based input line
//	}
package singer
