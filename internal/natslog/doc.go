// Package natslog is the NATS JetStream backend of the central log engine
// (internal/singerlog): the connection settings shared by target-nats and
// tap-nats, a singerlog.Writer and a singerlog.Source.
//
// A topic is one JetStream stream of that name with one subject of the
// same name, holding the Singer messages in their original order; its
// sequence numbers are the log positions. The latest SCHEMAs of each Singer
// stream are kept in the key-value bucket <topic>_schemas (the last 64 per
// stream, each with the position it landed at), which the log's retention
// does not touch.
package natslog
