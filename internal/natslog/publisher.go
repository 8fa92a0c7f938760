package natslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// Publisher stores requests of messages in any number of topics, for many
// concurrent callers (singer gate). Unlike Writer, which is one run's
// ordered stream, a Publisher's callers are independent: it does not chain
// the messages of different calls (several gates may share a topic), and a
// call that fails is not retried on its own later; its caller answers
// "not stored" and its client retries with the same message ids, which
// the topic's duplicate window drops when they were stored after all.
type Publisher struct {
	conn Conn // Topic unused: every call names its topic
	nc   *nats.Conn
	js   jetstream.JetStream
	log  *singer.Log
	opts WriterOptions

	mu     sync.Mutex
	topics map[string]*topicHandle
}

// topicHandle is a topic the publisher checked (or created) and its
// schema bucket.
type topicHandle struct {
	once sync.Once
	err  error
	kv   jetstream.KeyValue

	mu   sync.Mutex
	kept map[string][]byte // stream: the SCHEMA line last kept
}

// keep reports whether line differs from the SCHEMA last kept for stream
// by this publisher (an identical one kept before serves readers as well).
func (h *topicHandle) changed(stream string, line []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !bytes.Equal(h.kept[stream], line)
}

func (h *topicHandle) setKept(stream string, line []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kept == nil {
		h.kept = make(map[string][]byte)
	}
	h.kept[stream] = bytes.Clone(line)
}

// ConflictError is a message id the topic already holds with another
// body: a client reused an idempotency key for a different request.
type ConflictError struct {
	Topic string
	ID    string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("topic %q already holds a different message with id %s", e.Topic, e.ID)
}

// NewPublisher connects. Topics are checked or created on first use.
func NewPublisher(ctx context.Context, c *Conn, name string, opts WriterOptions, log *singer.Log) (*Publisher, error) {
	// While disconnected a publish fails at once instead of waiting in
	// the client's buffer: a request answered 503 must not be stored
	// later behind its client's back by a reconnect.
	nc, js, err := c.connect(ctx, name, log, []nats.Option{nats.ReconnectBufSize(-1)})
	if err != nil {
		return nil, err
	}
	return &Publisher{conn: *c, nc: nc, js: js, log: log, opts: opts, topics: make(map[string]*topicHandle)}, nil
}

// Close closes the connection.
func (p *Publisher) Close() error {
	p.nc.Close()
	return nil
}

// Ping reports whether the server answers JetStream requests.
func (p *Publisher) Ping(ctx context.Context) error {
	if !p.nc.IsConnected() {
		return fmt.Errorf("not connected to NATS (%s)", p.nc.Status())
	}
	_, err := p.js.AccountInfo(ctx)
	return err
}

// topic returns the handle of a topic, checking or creating it once; a
// failure is not cached, so the next call tries again.
func (p *Publisher) topic(ctx context.Context, topic string) (*topicHandle, error) {
	p.mu.Lock()
	h := p.topics[topic]
	if h == nil {
		h = &topicHandle{}
		p.topics[topic] = h
	}
	p.mu.Unlock()
	h.once.Do(func() {
		c := p.conn
		c.Topic = topic
		w := &Writer{conn: &c, nc: p.nc, js: p.js, log: p.log, opts: p.opts}
		h.err = w.ensure(ctx)
		h.kv = w.kv
	})
	if h.err != nil {
		p.mu.Lock()
		if p.topics[topic] == h {
			delete(p.topics, topic)
		}
		p.mu.Unlock()
		return nil, h.err
	}
	return h, nil
}

// Store publishes msgs to topic one after the other, each only once the
// log acknowledged the one before (so they land in their order whatever
// fails), and keeps each SCHEMA for readers. It returns the positions, or
// the first error: then the messages before it are stored, those from it
// on are not, and storing the same messages again (same ids) within the
// topic's duplicate window completes the request without duplicating any.
func (p *Publisher) Store(ctx context.Context, topic string, msgs []*singerlog.Message) ([]uint64, error) {
	h, err := p.topic(ctx, topic)
	if err != nil {
		return nil, err
	}
	pos := make([]uint64, len(msgs))
	// A closing STATE travels with the message before it (one round trip
	// less): should it be stored and that message not, the retry stores
	// the message after the STATE, which a reader still reaches (its
	// position is past the STATE's), so nothing is skipped downstream.
	var stateFut jetstream.PubAckFuture
	var stateMsg *nats.Msg
	last := len(msgs) - 1
	for i, m := range msgs {
		msg := natsMsg(topic, m)
		var pa *jetstream.PubAck
		var err error
		switch {
		case i == last && stateFut != nil:
			pa, err = p.settle(ctx, topic, stateMsg, stateFut)
		case i == last-1 && msgs[last].Type == singer.TypeState:
			fut, ferr := p.js.PublishMsgAsync(msg, jetstream.WithRetryAttempts(0))
			stateMsg = natsMsg(topic, msgs[last])
			if ferr == nil {
				stateFut, _ = p.js.PublishMsgAsync(stateMsg, jetstream.WithRetryAttempts(0))
			}
			pa, err = p.settle(ctx, topic, msg, fut)
		default:
			pa, err = p.publish(ctx, topic, msg)
		}
		if err != nil {
			return pos[:i], err
		}
		pos[i] = pa.Sequence
		if pa.Duplicate {
			if err := p.sameAsStored(ctx, topic, m, pa.Sequence); err != nil {
				return pos[:i], err
			}
		}
		if line := schemaLine(m.Body); m.Type == singer.TypeSchema && h.changed(m.Stream, line) {
			if err := keepSchema(ctx, h.kv, topic, m.Stream, pos[i], line, p.opts.RetryFor); err != nil {
				return pos[:i+1], fmt.Errorf("stream %q: keeping its SCHEMA for readers: %w", m.Stream, err)
			}
			h.setKept(m.Stream, line)
		}
	}
	return pos, nil
}

// publish publishes one message, again (with its id) after a timeout,
// until the log acknowledges it or ctx ends or p.opts.RetryFor passes.
func (p *Publisher) publish(ctx context.Context, topic string, msg *nats.Msg) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(p.opts.RetryFor)
	wait := 50 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, ackTimeout)
		pa, err := p.js.PublishMsg(pctx, msg, jetstream.WithRetryAttempts(0))
		cancel()
		if err == nil {
			return pa, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.Code != 408 {
			return nil, fmt.Errorf("topic %q refused the message: %w", topic, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("topic %q: no acknowledgement: %w", topic, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		wait = min(2*wait, time.Second)
	}
}

// schemaLine is the first line of a message body: a SCHEMA message may be
// followed by RECORD lines of its stream in the same message.
func schemaLine(body []byte) []byte {
	if i := bytes.IndexByte(body, '\n'); i >= 0 {
		return body[:i]
	}
	return body
}

// settle waits for an asynchronous publish (fut nil: it was not sent),
// and publishes msg again (same id) when it failed.
func (p *Publisher) settle(ctx context.Context, topic string, msg *nats.Msg, fut jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	if fut != nil {
		t := time.NewTimer(ackTimeout)
		defer t.Stop()
		select {
		case pa := <-fut.Ok():
			return pa, nil
		case <-fut.Err():
		case <-t.C:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return p.publish(ctx, topic, msg)
}

// sameAsStored checks that the message the topic holds at seq (which the
// log called a duplicate of m) has m's body.
func (p *Publisher) sameAsStored(ctx context.Context, topic string, m *singerlog.Message, seq uint64) error {
	s, err := p.js.Stream(ctx, topic)
	if err != nil {
		return fmt.Errorf("topic %q: %w", topic, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("topic %q: reading message %d to compare a duplicate: %w", topic, seq, err)
	}
	if !bytes.Equal(raw.Data, m.Body) {
		return &ConflictError{Topic: topic, ID: m.ID}
	}
	return nil
}
