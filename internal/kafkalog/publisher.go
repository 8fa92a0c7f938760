package kafkalog

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// Publisher stores requests of messages in any number of topics, for many
// concurrent callers (singer gate), on Kafka, with an idempotent producer
// (a record the client retries on its own is stored once, in order).
//
// Kafka has no message-id deduplication, so the publisher keeps it: it
// remembers the id and body hash of every message a broker acknowledged
// within the duplicate window, and a call that stores a message again
// (a client's retry of a request that failed or whose answer was lost)
// skips the ones already acknowledged. The topic itself is the durable
// record: the first call that uses a topic reads the topic's messages
// written within the window (their id header) before it stores anything,
// so a gate that restarted still recognises a retry. What it cannot see
// is a message another gate process stores in the same topic after that
// read: the guarantee is exactly once per gate process over the window,
// at least once across several gates writing one topic.
type Publisher struct {
	conn   Conn // Topic unused: every call names its topic
	cl     *kgo.Client
	adm    *kadm.Client
	kopts  []kgo.Opt
	log    *singer.Log
	opts   WriterOptions
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex
	topics map[string]*pubTopic
}

// pubTopic is what the publisher knows of a topic.
type pubTopic struct {
	ready   bool
	kept    map[string][]byte // stream: the SCHEMA line last kept
	acked   map[string][32]byte
	pending map[string]bool
	ackedAt []ackedID // in order, to forget them after the window
}

type ackedID struct {
	id string
	at time.Time
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

// Conflict marks the error for the gate (409).
func (e *ConflictError) Conflict() bool { return true }

// inFlightError is a message another call is storing right now.
type inFlightError struct{ topic, id string }

func (e *inFlightError) Error() string {
	return fmt.Sprintf("topic %q: message %s is being stored by another request right now", e.topic, e.id)
}

// NewPublisher makes the producer; topics are checked (or created) and
// their recent ids read on first use.
func NewPublisher(ctx context.Context, c *Conn, producer string, opts WriterOptions, window time.Duration, log *singer.Log) (*Publisher, error) {
	kopts, err := c.options(producer)
	if err != nil {
		return nil, err
	}
	popts := append(append([]kgo.Opt(nil), kopts...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), // what idempotence needs
		kgo.RecordDeliveryTimeout(opts.RetryFor),
		kgo.ProducerBatchMaxBytes(16<<20),
		kgo.ProducerLinger(0),
	)
	cl, err := kgo.NewClient(popts...)
	if err != nil {
		return nil, &config.Error{Problems: []string{err.Error()}}
	}
	return &Publisher{
		conn: *c, cl: cl, adm: kadm.NewClient(cl), kopts: kopts, log: log, opts: opts,
		window: window, now: time.Now, topics: map[string]*pubTopic{},
	}, nil
}

// Close closes the client.
func (p *Publisher) Close() error {
	p.cl.Close()
	return nil
}

// Ping reports whether a broker answers.
func (p *Publisher) Ping(ctx context.Context) error {
	if err := p.cl.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach Kafka at %v: %v", p.conn.Brokers, err)
	}
	return nil
}

// topic returns the topic's state, checking or creating the topic and
// reading the ids of its messages of the window on first use. p.mu is held.
func (p *Publisher) topic(ctx context.Context, topic string) (*pubTopic, error) {
	t := p.topics[topic]
	if t != nil && t.ready {
		return t, nil
	}
	c := p.conn
	c.Topic = topic
	w := &Writer{conn: &c, cl: p.cl, adm: p.adm, log: p.log}
	if err := w.ensure(ctx, p.opts); err != nil {
		return nil, err
	}
	t = &pubTopic{kept: map[string][]byte{}, acked: map[string][32]byte{}, pending: map[string]bool{}}
	if err := p.recent(ctx, topic, t); err != nil {
		return nil, fmt.Errorf("topic %q: reading the ids of its last %s: %w", topic, p.window, err)
	}
	t.ready = true
	p.topics[topic] = t
	return t, nil
}

// recent reads the ids and body hashes of the messages written to topic
// within the window.
func (p *Publisher) recent(ctx context.Context, topic string, t *pubTopic) error {
	e, err := p.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	eo, ok := e.Lookup(topic, 0)
	if !ok || eo.Offset <= 0 {
		return nil // a topic just created, or empty
	}
	if eo.Err != nil {
		return fmt.Errorf("listing offsets: %w", eo.Err)
	}
	from := p.now().Add(-p.window)
	l, err := p.adm.ListOffsetsAfterMilli(ctx, from.UnixMilli(), topic)
	if err != nil {
		return err
	}
	o, ok := l.Lookup(topic, 0)
	switch {
	case !ok:
		return fmt.Errorf("listing offsets: no partition 0")
	case o.Err != nil:
		return fmt.Errorf("listing offsets: %w", o.Err)
	}
	start, end := o.Offset, eo.Offset
	if start < 0 || start >= end {
		return nil // nothing written within the window
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), p.kopts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(start)}}))...)
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
			return err
		}
		for _, r := range fs.Records() {
			for _, h := range r.Headers {
				if h.Key == singerlog.HeaderID {
					id := string(h.Value)
					t.acked[id] = sha256.Sum256(r.Value)
					t.ackedAt = append(t.ackedAt, ackedID{id, r.Timestamp})
				}
			}
			if r.Offset >= end-1 {
				return nil
			}
		}
	}
}

// forget drops the ids acknowledged before the window.
func (t *pubTopic) forget(cut time.Time) {
	i := 0
	for i < len(t.ackedAt) && t.ackedAt[i].at.Before(cut) {
		delete(t.acked, t.ackedAt[i].id)
		i++
	}
	t.ackedAt = t.ackedAt[i:]
}

// Store produces msgs to topic, in order, and returns once every one is
// acknowledged by the in-sync replicas, with their positions (offset+1;
// 0 for a message stored by an earlier call), or the first error: then a
// prefix of msgs may be stored, and storing the same messages again (same
// ids) within the window stores only the rest.
func (p *Publisher) Store(ctx context.Context, topic string, msgs []*singerlog.Message) ([]uint64, error) {
	sums := make([][32]byte, len(msgs))
	for i, m := range msgs {
		sums[i] = sha256.Sum256(m.Body)
	}
	var t *pubTopic
	send := make([]int, 0, len(msgs))
	err := func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		var err error
		if t, err = p.topic(ctx, topic); err != nil {
			return err
		}
		t.forget(p.now().Add(-p.window))
		for i, m := range msgs {
			if s, ok := t.acked[m.ID]; ok {
				if s != sums[i] {
					return &ConflictError{Topic: topic, ID: m.ID}
				}
				continue
			}
			if t.pending[m.ID] {
				return &inFlightError{topic, m.ID}
			}
			send = append(send, i)
		}
		for _, i := range send {
			t.pending[msgs[i].ID] = true
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	recs := make([]*kgo.Record, len(send))
	for j, i := range send {
		recs[j] = record(topic, msgs[i])
	}
	res := p.cl.ProduceSync(ctx, recs...)
	pos := make([]uint64, len(msgs))
	var first error
	p.mu.Lock()
	at := p.now()
	for j, i := range send {
		delete(t.pending, msgs[i].ID)
		if res[j].Err != nil {
			if first == nil {
				first = fmt.Errorf("topic %q: not acknowledged: %w", topic, res[j].Err)
			}
			continue
		}
		pos[i] = uint64(recs[j].Offset) + 1
		t.acked[msgs[i].ID] = sums[i]
		t.ackedAt = append(t.ackedAt, ackedID{msgs[i].ID, at})
	}
	p.mu.Unlock()
	if first != nil {
		return nil, first
	}
	if err := p.keepSchemas(ctx, topic, t, msgs, pos); err != nil {
		return nil, err
	}
	return pos, nil
}

// keepSchemas writes the schema topic's entries of the SCHEMA messages
// stored (a SCHEMA the publisher kept before is not written again).
func (p *Publisher) keepSchemas(ctx context.Context, topic string, t *pubTopic, msgs []*singerlog.Message, pos []uint64) error {
	c := p.conn
	c.Topic = topic
	var recs []*kgo.Record
	var lines [][]byte
	p.mu.Lock()
	for i, m := range msgs {
		if m.Type != singer.TypeSchema || pos[i] == 0 {
			continue
		}
		line := firstLine(m.Body)
		if string(t.kept[m.Stream]) == string(line) {
			continue
		}
		v, err := json.Marshal(schemaEntry{Position: pos[i], Schema: line})
		if err != nil {
			p.mu.Unlock()
			return err
		}
		recs = append(recs, &kgo.Record{Topic: c.SchemaTopic(), Partition: 0, Key: []byte(m.Stream), Value: v})
		lines = append(lines, line)
	}
	p.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("topic %q: keeping a SCHEMA for readers: %w", topic, err)
	}
	p.mu.Lock()
	for i, r := range recs {
		t.kept[string(r.Key)] = append([]byte(nil), lines[i]...)
	}
	p.mu.Unlock()
	return nil
}

// record is the Kafka record of a log message, for Writer.Publish and the
// Publisher alike.
func record(topic string, m *singerlog.Message) *kgo.Record {
	rec := &kgo.Record{
		Topic:     topic,
		Partition: 0,
		Value:     m.Body,
		Headers: []kgo.RecordHeader{
			{Key: singerlog.HeaderID, Value: []byte(m.ID)},
			{Key: singerlog.HeaderType, Value: []byte(singerlog.TypeName(m.Type))},
			{Key: singerlog.HeaderStream, Value: []byte(m.Stream)},
			{Key: singerlog.HeaderProducer, Value: []byte(m.Producer)},
			{Key: singerlog.HeaderWrittenAt, Value: []byte(m.WrittenAt.UTC().Format(singerlog.FormatTime))},
		},
	}
	if m.Stream != "" {
		rec.Key = []byte(m.Stream)
	}
	if m.Encoding != "" {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: singerlog.HeaderEncoding, Value: []byte(m.Encoding)})
	}
	return rec
}

func firstLine(b []byte) []byte {
	for i, c := range b {
		if c == '\n' {
			return b[:i]
		}
	}
	return b
}
