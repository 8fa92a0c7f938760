// Package kafkatap is tap-kafka: a Singer tap that reads the messages
// target-kafka wrote to a Kafka topic and writes them out exactly as the
// upstream tap wrote them. Its state is its offset in the topic plus the
// upstream tap's latest state; readers use no consumer group, so any
// number of them read one topic independently.
//
//	tap-kafka --config kafka.json --state state.json | target-postgres --config pg.json >> state.json
package kafkatap
