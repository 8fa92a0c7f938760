// Package singerlog is the central log engine: it writes a Singer stream to
// an append-only, replicated log (a NATS JetStream stream, a Kafka topic)
// and reads it back, so that one extraction feeds any number of loads.
//
// The engine imports no broker client. A backend is a small implementation
// of Writer (publish asynchronously, keep the latest SCHEMA of each Singer
// stream) and of Source (bounds, read from a position, find a kept SCHEMA);
// the Singer semantics live here once:
//
//   - Write publishes every message of its input, in order and byte for
//     byte (the tap's line is the log message's body), with a header
//     envelope: a unique id, the producer, the Singer stream, the message
//     type and the time it was written. A STATE is echoed on stdout only
//     once it and every message before it are acknowledged by the log; a
//     SCHEMA is also handed to Writer.KeepSchema once it is stored, so a
//     reader that starts in the middle of the log finds it.
//   - Read writes the log's messages from a position (its state), from the
//     beginning or from a time, emits each stream's SCHEMA before its first
//     record, and emits STATE values that hold the log position and the
//     upstream tap's latest state. A position the log no longer holds is an
//     error, never a silent skip.
//
// target-nats is
//
//	singerlog.Write(ctx, natsWriter, singerlog.WriteOptions{...}, env.Log, in, out)
//
// and tap-nats is
//
//	singerlog.Read(ctx, natsSource, singerlog.ReadOptions{...}, env.Log, state, out)
package singerlog
