// Package natstap is tap-nats: a Singer tap that reads the messages
// target-nats wrote to a NATS JetStream stream (the topic) and writes them
// out exactly as the upstream tap wrote them. Its state is its position in
// the topic plus the upstream tap's latest state; each reader has its own,
// so any number of pipelines read one topic independently.
//
//	tap-nats --config nats.json --state state.json | target-postgres --config pg.json >> state.json
package natstap
