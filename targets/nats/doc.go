// Package natstarget is target-nats: a Singer target that publishes every
// message of its input, byte for byte and in order, to a NATS JetStream
// stream (the topic), and echoes a STATE value on stdout only once the
// stream acknowledged it and every message before it. tap-nats reads the
// topic back; any number of tap-nats pipelines read it independently.
//
// The engine is internal/singerlog, the NATS backend internal/natslog.
//
//	tap-postgres --config tap.json | target-nats --config nats.json >> state.json
package natstarget
