// Package kafkalog is the Kafka backend of the central log engine
// (internal/singerlog), on franz-go: the connection settings shared by
// target-kafka and tap-kafka, a singerlog.Writer and a singerlog.Source.
//
// A topic has one partition, so that it holds the Singer messages in their
// original order; a log position is the record's offset plus one. The
// producer is idempotent (acks from every in-sync replica), so a retried
// produce is never stored twice. The SCHEMAs of each Singer stream are also
// written to the compacted topic <topic>_schemas (key: the Singer stream),
// each with the position it landed at, where a reader that starts in the
// middle of the log finds them.
package kafkalog
