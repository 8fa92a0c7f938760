package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/singerkit/singerkit/internal/kafkalog"
	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// logSource publishes the tracer, as a SCHEMA and a RECORD of the stream
// singer_canary, to a topic of the log the tap reads (NATS JetStream or
// Kafka), with the tap's own connection settings: a tap-nats or tap-kafka
// reading the topic passes it on like any other stream.
type logSource struct {
	connName, topic string
	// open connects a writer to the topic, as target-nats or target-kafka
	// would, without creating it (the topic is the upstream target's,
	// with its retention).
	open func(ctx context.Context, producer string, log *singer.Log) (singerlog.Writer, io.Closer, error)
}

func newNATSSource(tap *project.Connector, topic string) (*logSource, error) {
	cfg, err := connectorConfig(tap, "tap-nats")
	if err != nil {
		return nil, err
	}
	c := natslog.DefaultConn()
	if err := cfg.Decode(&c); err != nil {
		return nil, fmt.Errorf("connector %s: %v", tap.Name, err)
	}
	if topic != "" {
		c.Topic = topic
	}
	if p := c.Check(); len(p) > 0 {
		return nil, fmt.Errorf("connector %s: %v", tap.Name, p)
	}
	return &logSource{connName: tap.Name, topic: c.Topic, open: func(ctx context.Context, producer string, log *singer.Log) (singerlog.Writer, io.Closer, error) {
		w, err := natslog.NewWriter(ctx, &c, producer, natslog.WriterOptions{
			CreateIfMissing: false,
			Replicas:        1,
			DuplicateWindow: 2 * time.Minute,
			MaxInFlight:     4,
			RetryFor:        30 * time.Second,
		}, log)
		return w, w, err
	}}, nil
}

func newKafkaSource(tap *project.Connector, topic string) (*logSource, error) {
	cfg, err := connectorConfig(tap, "tap-kafka")
	if err != nil {
		return nil, err
	}
	c := kafkalog.DefaultConn()
	if err := cfg.Decode(&c); err != nil {
		return nil, fmt.Errorf("connector %s: %v", tap.Name, err)
	}
	if topic != "" {
		c.Topic = topic
	}
	if p := c.Check(); len(p) > 0 {
		return nil, fmt.Errorf("connector %s: %v", tap.Name, p)
	}
	return &logSource{connName: tap.Name, topic: c.Topic, open: func(ctx context.Context, producer string, log *singer.Log) (singerlog.Writer, io.Closer, error) {
		w, err := kafkalog.NewWriter(ctx, &c, producer, kafkalog.WriterOptions{
			CreateIfMissing: false,
			Replicas:        1,
			MaxInFlight:     4,
			RetryFor:        30 * time.Second,
		}, log)
		return w, w, err
	}}, nil
}

func (s *logSource) where() string  { return s.connName + ":topic " + s.topic }
func (s *logSource) stream() string { return Stream }

// init has nothing to create: the topic is the upstream target's.
func (s *logSource) init(context.Context) error { return nil }

// tracerSchema is the SCHEMA of the canary stream.
var tracerSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"pipeline": map[string]any{"type": "string"},
		"id":       map[string]any{"type": "string"},
		"sent_at":  map[string]any{"type": "string", "format": "date-time"},
	},
	"required": []string{"pipeline", "id", "sent_at"},
}

func (s *logSource) send(ctx context.Context, pipeline, id string, at time.Time) error {
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	enc.Encode(map[string]any{"type": "SCHEMA", "stream": Stream, "schema": tracerSchema, "key_properties": []string{"pipeline"}})
	enc.Encode(map[string]any{"type": "RECORD", "stream": Stream, "record": map[string]any{"pipeline": pipeline, "id": id, "sent_at": at.UTC().Format(time.RFC3339Nano)}, "time_extracted": at.UTC().Format(time.RFC3339Nano)})
	host, _ := os.Hostname()
	producer := singerlog.ProducerName("singer-canary", host)
	var logBuf bytes.Buffer
	log := singer.NewLog(&logBuf)
	w, closer, err := s.open(ctx, producer, log)
	if err != nil {
		return fmt.Errorf("publishing the tracer to %s: %w", s.where(), err)
	}
	defer closer.Close()
	err = singerlog.Write(ctx, w, singerlog.WriteOptions{Producer: producer, MaxInFlight: 4, BatchRecords: 1, BatchBytes: 1 << 20}, log, &in, singer.NewEncoder(io.Discard))
	if err != nil {
		return fmt.Errorf("publishing the tracer to %s: %w", s.where(), err)
	}
	return nil
}

func (s *logSource) close() {}
