package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// natsSource publishes the tracer, as a SCHEMA and a RECORD of the stream
// singer_canary, to a topic of the NATS servers the tap reads, with the
// tap's own connection settings: a tap-nats reading the topic passes it
// on like any other stream.
type natsSource struct {
	connName string
	conn     natslog.Conn
}

func newNATSSource(tap *project.Connector, topic string) (*natsSource, error) {
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
	return &natsSource{connName: tap.Name, conn: c}, nil
}

func (s *natsSource) where() string  { return s.connName + ":topic " + s.conn.Topic }
func (s *natsSource) stream() string { return Stream }

// init has nothing to create: the topic is the upstream target's.
func (s *natsSource) init(context.Context) error { return nil }

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

func (s *natsSource) send(ctx context.Context, pipeline, id string, at time.Time) error {
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	enc.Encode(map[string]any{"type": "SCHEMA", "stream": Stream, "schema": tracerSchema, "key_properties": []string{"pipeline"}})
	enc.Encode(map[string]any{"type": "RECORD", "stream": Stream, "record": map[string]any{"pipeline": pipeline, "id": id, "sent_at": at.UTC().Format(time.RFC3339Nano)}, "time_extracted": at.UTC().Format(time.RFC3339Nano)})
	host, _ := os.Hostname()
	producer := singerlog.ProducerName("singer-canary", host)
	var logBuf bytes.Buffer
	log := singer.NewLog(&logBuf)
	w, err := natslog.NewWriter(ctx, &s.conn, producer, natslog.WriterOptions{
		CreateIfMissing: false, // the topic is the upstream target's, with its retention
		Replicas:        1,
		DuplicateWindow: 2 * time.Minute,
		MaxInFlight:     4,
		RetryFor:        30 * time.Second,
	}, log)
	if err != nil {
		return fmt.Errorf("publishing the tracer to %s: %w", s.where(), err)
	}
	defer w.Close()
	err = singerlog.Write(ctx, w, singerlog.WriteOptions{Producer: producer, MaxInFlight: 4, BatchRecords: 1, BatchBytes: 1 << 20}, log, &in, singer.NewEncoder(io.Discard))
	if err != nil {
		return fmt.Errorf("publishing the tracer to %s: %w", s.where(), err)
	}
	return nil
}

func (s *natsSource) close() {}
