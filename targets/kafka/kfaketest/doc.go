// Package kfaketest runs target-kafka and tap-kafka against kfake, franz-go's
// in-process Kafka-protocol cluster, in a module of its own so that kfake
// stays out of the binaries' build. No Kafka broker runs on the machines of
// this project: what kfake does not prove (real brokers' replication,
// leader failover, SASL and TLS, retention and compaction actually running)
// is listed in docs/target-kafka.md.
package kfaketest
