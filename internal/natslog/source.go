package natslog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// Source reads a topic; it implements singerlog.Source. Each Source reads
// with its own ordered consumer (ephemeral, never shared), so any number
// of readers of one topic are independent.
type Source struct {
	conn   *Conn
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	kv     jetstream.KeyValue // nil: the topic has no schema bucket
}

// NewSource connects to an existing topic.
func NewSource(ctx context.Context, c *Conn, name string, log *singer.Log) (*Source, error) {
	nc, js, err := c.Connect(ctx, name, log)
	if err != nil {
		return nil, err
	}
	var s jetstream.Stream
	err = retryTransient(ctx, func(ctx context.Context) (err error) {
		s, err = c.stream(ctx, js)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	src := &Source{conn: c, nc: nc, js: js, stream: s}
	var kv jetstream.KeyValue
	err = retryTransient(ctx, func(ctx context.Context) (err error) {
		kv, err = js.KeyValue(ctx, c.SchemaBucket())
		return err
	})
	switch {
	case err == nil:
		src.kv = kv
	case errors.Is(err, jetstream.ErrBucketNotFound):
	default:
		nc.Close()
		return nil, fmt.Errorf("schema bucket %q: %w", c.SchemaBucket(), err)
	}
	return src, nil
}

// Close closes the connection.
func (s *Source) Close() error {
	s.nc.Close()
	return nil
}

// Bounds implements singerlog.Source.
func (s *Source) Bounds(ctx context.Context) (first, last uint64, err error) {
	var info *jetstream.StreamInfo
	err = retryTransient(ctx, func(ctx context.Context) (err error) {
		info, err = s.stream.Info(ctx)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("topic %q: asking for its first and last positions: %w", s.conn.Topic, err)
	}
	first, last = info.State.FirstSeq, info.State.LastSeq
	if first == 0 {
		first = last + 1
	}
	return first, last, nil
}

// Seek implements singerlog.Source: the first message at or after t.
func (s *Source) Seek(ctx context.Context, t time.Time) (uint64, error) {
	c, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime:  &t,
		HeadersOnly:   true,
	})
	if err != nil {
		return 0, fmt.Errorf("topic %q: %w", s.conn.Topic, err)
	}
	batch, err := c.FetchNoWait(1)
	if err != nil {
		return 0, fmt.Errorf("topic %q: %w", s.conn.Topic, err)
	}
	if m, ok := <-batch.Messages(); ok {
		md, err := m.Metadata()
		if err != nil {
			return 0, err
		}
		return md.Sequence.Stream, nil
	}
	if err := batch.Error(); err != nil {
		return 0, fmt.Errorf("topic %q: %w", s.conn.Topic, err)
	}
	_, last, err := s.Bounds(ctx)
	return last + 1, err
}

// readBytes is how many bytes of messages the consumer asks the server
// for at a time: 8 MB, or four of the largest messages the server takes
// when that is more (a pull limited in bytes must hold at least one). Until
// 2026-12-04 it asked for 1000 messages at a time: reading a 2M-line topic
// took 1.2-1.8 s with target-nats' default 100-line messages and 4.1-5.0 s
// with 1000-line ones; by bytes, 0.8-1.1 s and 0.8-0.95 s, the same lines
// (8 MB: RSS 45-50 MB; 32 MB read no faster and held 50-64 MB).
func (s *Source) readBytes() int { return max(8<<20, 4*int(s.nc.MaxPayload())) }

// readMessages bounds the messages of one pull besides readBytes: the
// client's queue of delivered messages is a channel of that capacity,
// which the garbage collector scans whole at every cycle. Asked by bytes
// alone, nats.go makes room for a million (8 MB of pointers): that scan
// was a third of tap-nats's CPU.
const readMessages = 10000

// Read implements singerlog.Source.
func (s *Source) Read(ctx context.Context, from uint64) (singerlog.Cursor, error) {
	var c jetstream.Consumer
	err := retryTransient(ctx, func(ctx context.Context) (err error) {
		c, err = s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:   from,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("topic %q: creating a consumer from position %d: %w", s.conn.Topic, from, err)
	}
	it, err := c.Messages(jetstream.PullMaxMessagesWithBytesLimit(readMessages, s.readBytes()))
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", s.conn.Topic, err)
	}
	return &cursor{topic: s.conn.Topic, it: it}, nil
}

type cursor struct {
	topic string
	it    jetstream.MessagesContext
	m     singerlog.Message
}

func (c *cursor) Next(ctx context.Context) (*singerlog.Message, error) {
	for {
		msg, err := c.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				continue // the ordered consumer recreates itself
			}
			return nil, fmt.Errorf("topic %q: reading: %w", c.topic, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("topic %q: %w", c.topic, err)
		}
		h := msg.Headers()
		c.m = singerlog.Message{
			Position: md.Sequence.Stream,
			ID:       h.Get(jetstream.MsgIDHeader),
			Type:     singerlog.ParseType(h.Get(singerlog.HeaderType)),
			Stream:   h.Get(singerlog.HeaderStream),
			Producer: h.Get(singerlog.HeaderProducer),
			Body:     msg.Data(),
			Encoding: h.Get(singerlog.HeaderEncoding),
		}
		if t, err := time.Parse(singerlog.FormatTime, h.Get(singerlog.HeaderWrittenAt)); err == nil {
			c.m.WrittenAt = t
		}
		return &c.m, nil
	}
}

func (c *cursor) Close() error {
	c.it.Stop()
	return nil
}

// Schema implements singerlog.Source.
func (s *Source) Schema(ctx context.Context, stream string, before uint64) ([]byte, bool, error) {
	if s.kv == nil {
		return nil, false, nil
	}
	hist, err := s.kv.History(ctx, schemaKey(stream))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("schema bucket %q: %w", s.conn.SchemaBucket(), err)
	}
	for i := len(hist) - 1; i >= 0; i-- {
		var e schemaEntry
		if err := json.Unmarshal(hist[i].Value(), &e); err != nil {
			return nil, false, fmt.Errorf("schema bucket %q: key %s: %w", s.conn.SchemaBucket(), hist[i].Key(), err)
		}
		if e.Position < before {
			return e.Schema, true, nil
		}
	}
	return nil, false, nil
}

// transientFor is how long a request that timed out (a leader election
// in a cluster) is retried before the run fails.
const transientFor = 60 * time.Second

// retryTransient runs f until it succeeds, fails otherwise than by a
// timeout, or transientFor passes. Each attempt gets 5 seconds.
func retryTransient(ctx context.Context, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(transientFor)
	wait := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		transient := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
			errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoHeartbeat)
		if !transient || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, 2*time.Second)
	}
}
