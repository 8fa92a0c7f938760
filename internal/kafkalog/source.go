package kafkalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/singerkit/singerkit/internal/singerlog"
)

// Source reads a topic; it implements singerlog.Source. It reads the
// partition directly (no consumer group), so any number of readers are
// independent.
type Source struct {
	conn  *Conn
	name  string
	cl    *kgo.Client
	adm   *kadm.Client
	kopts []kgo.Opt

	schemas map[string][]schemaEntry // loaded at the first lookup
}

// NewSource connects to an existing topic.
func NewSource(ctx context.Context, c *Conn, name string) (*Source, error) {
	kopts, err := c.options(name)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, &config.Error{Problems: []string{err.Error()}}
	}
	s := &Source{conn: c, name: name, cl: cl, adm: kadm.NewClient(cl), kopts: kopts}
	exists, err := checkTopic(ctx, s.adm, c.Topic, c.Brokers)
	if err == nil && !exists {
		err = &missingTopicError{c.Topic}
	}
	if err != nil {
		cl.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the client.
func (s *Source) Close() error {
	s.cl.Close()
	return nil
}

func (s *Source) offsets(ctx context.Context, topic string, list func(context.Context, ...string) (kadm.ListedOffsets, error)) (int64, error) {
	l, err := list(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("topic %q: listing offsets: %w", topic, err)
	}
	o, ok := l.Lookup(topic, 0)
	if !ok {
		return 0, fmt.Errorf("topic %q: no partition 0", topic)
	}
	if o.Err != nil {
		return 0, fmt.Errorf("topic %q: listing offsets: %w", topic, o.Err)
	}
	return o.Offset, nil
}

// Bounds implements singerlog.Source.
func (s *Source) Bounds(ctx context.Context) (first, last uint64, err error) {
	start, err := s.offsets(ctx, s.conn.Topic, s.adm.ListStartOffsets)
	if err != nil {
		return 0, 0, err
	}
	end, err := s.offsets(ctx, s.conn.Topic, s.adm.ListEndOffsets)
	if err != nil {
		return 0, 0, err
	}
	return uint64(start) + 1, uint64(end), nil
}

// Seek implements singerlog.Source.
func (s *Source) Seek(ctx context.Context, t time.Time) (uint64, error) {
	l, err := s.adm.ListOffsetsAfterMilli(ctx, t.UnixMilli(), s.conn.Topic)
	if err != nil {
		return 0, fmt.Errorf("topic %q: listing offsets: %w", s.conn.Topic, err)
	}
	o, ok := l.Lookup(s.conn.Topic, 0)
	if ok && o.Err == nil && o.Offset >= 0 {
		return uint64(o.Offset) + 1, nil
	}
	_, last, err := s.Bounds(ctx)
	return last + 1, err
}

// Read implements singerlog.Source.
func (s *Source) Read(ctx context.Context, from uint64) (singerlog.Cursor, error) {
	opts := append(append([]kgo.Opt(nil), s.kopts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.conn.Topic: {0: kgo.NewOffset().At(int64(from) - 1)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &cursor{topic: s.conn.Topic, cl: cl}, nil
}

type cursor struct {
	topic string
	cl    *kgo.Client
	recs  []*kgo.Record
	m     singerlog.Message
}

func (c *cursor) Next(ctx context.Context) (*singerlog.Message, error) {
	for len(c.recs) == 0 {
		fs := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := fs.Err0(); err != nil {
			return nil, fmt.Errorf("topic %q: reading: %w", c.topic, err)
		}
		c.recs = fs.Records()
	}
	r := c.recs[0]
	c.recs[0] = nil
	c.recs = c.recs[1:]
	c.m = singerlog.Message{Position: uint64(r.Offset) + 1, Body: r.Value}
	for _, h := range r.Headers {
		switch h.Key {
		case singerlog.HeaderID:
			c.m.ID = string(h.Value)
		case singerlog.HeaderType:
			c.m.Type = singerlog.ParseType(string(h.Value))
		case singerlog.HeaderEncoding:
			c.m.Encoding = string(h.Value)
		case singerlog.HeaderStream:
			c.m.Stream = string(h.Value)
		case singerlog.HeaderProducer:
			c.m.Producer = string(h.Value)
		case singerlog.HeaderWrittenAt:
			c.m.WrittenAt, _ = time.Parse(singerlog.FormatTime, string(h.Value))
		}
	}
	return &c.m, nil
}

func (c *cursor) Close() error {
	c.cl.Close()
	return nil
}

// Schema implements singerlog.Source: it reads the schema topic once, to
// its end, and keeps every entry still there (compaction keeps at least
// the latest of each Singer stream).
func (s *Source) Schema(ctx context.Context, stream string, before uint64) ([]byte, bool, error) {
	if s.schemas == nil {
		if err := s.loadSchemas(ctx); err != nil {
			return nil, false, err
		}
	}
	es := s.schemas[stream]
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Position < before {
			return es[i].Schema, true, nil
		}
	}
	return nil, false, nil
}

func (s *Source) loadSchemas(ctx context.Context) error {
	s.schemas = make(map[string][]schemaEntry)
	topic := s.conn.SchemaTopic()
	exists, err := checkTopic(ctx, s.adm, topic, s.conn.Brokers)
	if err != nil || !exists {
		return err
	}
	end, err := s.offsets(ctx, topic, s.adm.ListEndOffsets)
	if err != nil || end == 0 {
		return err
	}
	opts := append(append([]kgo.Opt(nil), s.kopts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("topic %q: reading: %w", topic, err)
		}
		for _, r := range fs.Records() {
			var e schemaEntry
			if err := json.Unmarshal(r.Value, &e); err != nil {
				return fmt.Errorf("topic %q: offset %d: %w", topic, r.Offset, err)
			}
			s.schemas[string(r.Key)] = append(s.schemas[string(r.Key)], e)
			if r.Offset >= end-1 {
				return nil
			}
		}
	}
}
