// Package streammap implements stream maps: the stream_maps,
// stream_map_config, flattening_enabled and flattening_max_depth settings
// of Meltano's SDK, read by every tap (applied to what it writes), every
// target (applied to what it reads) and `singer map` (a filter between any
// two). A map filters records, renames or drops streams and properties,
// adds computed ones, hashes or masks personal data and flattens nested
// objects, and rewrites each SCHEMA to match the records.
//
// Expressions are github.com/expr-lang/expr programs, compiled once when
// the config is read (config.go): a mistake is a *config.Error naming the
// stream, the property and the column, before any data moves. expr was
// chosen over cel-go because its programs take a plain map of the record's
// values and run in a reusable VM without per-call setup (CEL needs its
// values wrapped in ref.Val and declared types for every property, which a
// stream only tells us when its SCHEMA arrives), and its syntax is close
// to the Python of Meltano's documentation (config['seed'] + email,
// a > 1 and b == "x"); the common Python string methods (email.lower(),
// .endswith(), .split()) are rewritten to our functions.
//
// The per-message work (transform.go) reads each record's members in
// place and copies the values no expression touches byte for byte:
// numbers keep their exact text, and decimal(amount) reads the number's
// input text, never a float64. Functions are in functions.go; Run, Writer
// and Reader (stream.go) put a Mapper on a whole stream, under a tap's
// encoder or over a target's input. A target that decodes its own input
// hands each message to ApplyTo (sink.go) and gets the mapped messages
// back without their being written and parsed again; one that decodes
// records into singer.Row values (the SQL targets' engine) maps them on
// those values with a RowMap (rows.go): each record is decoded once.
//
//	s, err := streammap.SettingsFrom(cfg.Values)
//	m, err := streammap.Compile(s) // nil when there is nothing to map
//	if m != nil {
//		err = m.Run(ctx, os.Stdin, os.Stdout, warn)
//	}
//
// The syntax, every function and the differences from Meltano's stream
// maps are documented in docs/stream-maps.md.
package streammap
