// Package kafkatarget is target-kafka: a Singer target that produces every
// message of its input, byte for byte and in order, to a one-partition
// Kafka topic with an idempotent producer, and echoes a STATE value only
// once the topic acknowledged it and every message before it. tap-kafka
// reads the topic back. The engine is internal/singerlog, the backend
// internal/kafkalog.
//
//	tap-postgres --config tap.json | target-kafka --config kafka.json >> state.json
package kafkatarget
