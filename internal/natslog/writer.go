package natslog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

var b64 = base64.RawURLEncoding

// WriterOptions are the log settings of target-nats.
type WriterOptions struct {
	CreateIfMissing bool
	Replicas        int
	Memory          bool          // memory storage instead of file
	MaxAge          time.Duration // 0: no limit
	MaxBytes        int64         // 0: no limit
	DuplicateWindow time.Duration
	MaxInFlight     int
	// RetryFor is how long a failed publish is retried (leader elections,
	// reconnects) before the run fails.
	RetryFor time.Duration
}

// Writer publishes to a topic; it implements singerlog.Writer.
type Writer struct {
	conn *Conn
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	log  *singer.Log
	opts WriterOptions

	mu sync.Mutex // held by Publish and by a recovery, which stops publishing
	// window holds the published messages not yet waited for, oldest
	// first: a recovery re-sends them in order.
	window []*ack
	// lastID is the id of the last message published.
	lastID        string
	warnedReorder bool
}

// ackTimeout bounds the wait for one asynchronous acknowledgement before
// the writer retries.
const ackTimeout = 5 * time.Second

// NewWriter connects, and creates the topic and its schema bucket when
// missing and allowed.
func NewWriter(ctx context.Context, c *Conn, producer string, opts WriterOptions, log *singer.Log) (*Writer, error) {
	nc, js, err := c.Connect(ctx, producer, log,
		jetstream.WithPublishAsyncMaxPending(opts.MaxInFlight+64), // never stalls: the engine bounds the window
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		return nil, err
	}
	w := &Writer{conn: c, nc: nc, js: js, log: log, opts: opts}
	if err := w.ensure(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return w, nil
}

func (w *Writer) ensure(ctx context.Context) error {
	storage := jetstream.FileStorage
	if w.opts.Memory {
		storage = jetstream.MemoryStorage
	}
	s, err := w.conn.stream(ctx, w.js)
	var missing *missingTopicError
	switch {
	case errors.As(err, &missing) && w.opts.CreateIfMissing:
		cfg := jetstream.StreamConfig{
			Name:        w.conn.Topic,
			Description: "Singer messages (singerkit central log)",
			Subjects:    []string{w.conn.Topic},
			Storage:     storage,
			Replicas:    w.opts.Replicas,
			MaxAge:      w.opts.MaxAge,
			MaxBytes:    w.opts.MaxBytes,
			Duplicates:  w.opts.DuplicateWindow,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
		}
		if cfg.MaxBytes == 0 {
			cfg.MaxBytes = -1
		}
		if _, err := w.js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("creating topic %q: %w", w.conn.Topic, err)
		}
		kind := "file"
		if w.opts.Memory {
			kind = "memory"
		}
		w.log.Infof("created topic %q (JetStream stream, %d replica(s), %s storage)", w.conn.Topic, w.opts.Replicas, kind)
	case err != nil:
		return err
	default:
		info := s.CachedInfo()
		if !hasSubject(info.Config.Subjects, w.conn.Topic) {
			return &config.Error{Problems: []string{fmt.Sprintf("topic: the JetStream stream %q exists but does not take subject %q (its subjects: %v): target-nats publishes on the topic's name", w.conn.Topic, w.conn.Topic, info.Config.Subjects)}}
		}
	}
	kv, err := w.js.KeyValue(ctx, w.conn.SchemaBucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = w.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      w.conn.SchemaBucket(),
			Description: "latest SCHEMA messages of each Singer stream of topic " + w.conn.Topic,
			History:     64,
			Storage:     storage,
			Replicas:    w.opts.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = w.js.KeyValue(ctx, w.conn.SchemaBucket())
		}
	}
	if err != nil {
		return fmt.Errorf("schema bucket %q: %w", w.conn.SchemaBucket(), err)
	}
	w.kv = kv
	return nil
}

func hasSubject(subjects []string, s string) bool {
	for _, x := range subjects {
		if x == s {
			return true
		}
	}
	return false
}

// MaxMessageBytes implements singerlog.MessageLimiter: the server's
// max_payload.
func (w *Writer) MaxMessageBytes() int { return int(w.nc.MaxPayload()) }

// Close closes the connection.
func (w *Writer) Close() error {
	w.nc.Close()
	return nil
}

type ack struct {
	w   *Writer
	msg *nats.Msg
	fut jetstream.PubAckFuture
	// Set when a recovery settled the message.
	done bool
	pos  uint64
	err  error
}

// natsMsg is the NATS message of m in topic, with the envelope headers
// and m.ID as JetStream's deduplication id.
func natsMsg(topic string, m *singerlog.Message) *nats.Msg {
	msg := &nats.Msg{Subject: topic, Data: m.Body, Header: nats.Header{}}
	msg.Header[jetstream.MsgIDHeader] = []string{m.ID}
	msg.Header[jetstream.ExpectedStreamHeader] = []string{topic}
	msg.Header[singerlog.HeaderType] = []string{singerlog.TypeName(m.Type)}
	if m.Encoding != "" {
		msg.Header[singerlog.HeaderEncoding] = []string{m.Encoding}
	}
	if m.Stream != "" {
		msg.Header[singerlog.HeaderStream] = []string{m.Stream}
	}
	if m.Producer != "" {
		msg.Header[singerlog.HeaderProducer] = []string{m.Producer}
	}
	msg.Header[singerlog.HeaderWrittenAt] = []string{m.WrittenAt.UTC().Format(singerlog.FormatTime)}
	return msg
}

// Publish implements singerlog.Writer.
func (w *Writer) Publish(ctx context.Context, m *singerlog.Message) (singerlog.Ack, error) {
	msg := natsMsg(w.conn.Topic, m)
	a := &ack{w: w, msg: msg}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Each message of a run is stored only right after its predecessor:
	// when a failover loses one, the stream refuses every later one until
	// the recovery re-sends them in order, so none lands out of order.
	if w.lastID != "" {
		msg.Header[jetstream.ExpectedLastMsgIDHeader] = []string{w.lastID}
	}
	w.lastID = m.ID
	fut, err := w.js.PublishMsgAsync(msg, jetstream.WithRetryAttempts(0), jetstream.WithStallWait(w.opts.RetryFor))
	if err != nil {
		// Not sent: settled by the next recovery, in order.
		a.err = err
	}
	a.fut = fut
	w.window = append(w.window, a)
	return a, nil
}

// Wait implements singerlog.Ack. Acks are waited for in publish order: a
// is the oldest message of the window.
func (a *ack) Wait(ctx context.Context) (uint64, error) {
	w := a.w
	w.mu.Lock()
	settled := a.done
	w.mu.Unlock()
	if !settled && a.err == nil {
		select {
		case pa := <-a.fut.Ok():
			a.pos, a.done = pa.Sequence, true
		case err := <-a.fut.Err():
			a.err = err
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !a.done {
		if err := w.recover(ctx, a.err); err != nil {
			return 0, err
		}
	}
	if len(w.window) > 0 && w.window[0] == a {
		w.window[0] = nil
		w.window = w.window[1:]
	}
	return a.pos, nil
}

// recover re-sends the window in order after its oldest message failed
// (w.mu held, so nothing new is published meanwhile). First every later
// message in flight settles; then each message from the oldest on is
// published again, synchronously, with its id: one the log already holds
// is acknowledged as a duplicate with its original position and not
// stored twice. Each message names its predecessor's id
// (Nats-Expected-Last-Msg-Id), so none is stored after a lost one; should
// the log still hold two out of order, a warning says so.
func (w *Writer) recover(ctx context.Context, cause error) error {
	for _, a := range w.window[1:] {
		if a.done || a.err != nil || a.fut == nil {
			continue
		}
		select {
		case pa := <-a.fut.Ok():
			a.pos, a.done = pa.Sequence, true
		case err := <-a.fut.Err():
			a.err = err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	w.log.Warnf("publishing to topic %q failed (%v); re-sending the %d message(s) not acknowledged in order, with their ids (the log drops those it already holds)", w.conn.Topic, cause, len(w.window))
	deadline := time.Now().Add(w.opts.RetryFor)
	var high uint64
	for _, a := range w.window {
		pos, err := w.publishSync(ctx, a.msg, deadline)
		if err != nil {
			return err
		}
		if pos < high && !w.warnedReorder {
			w.warnedReorder = true
			w.log.Warnf("topic %q: the message %s landed at position %d, after a later one (position %d) that the log stored while it was lost in a failover: the two are out of their original order",
				w.conn.Topic, a.msg.Header.Get(jetstream.MsgIDHeader), pos, high)
		}
		high = max(high, pos)
		a.pos, a.done, a.err = pos, true, nil
	}
	return nil
}

// publishSync publishes msg until the log acknowledges it or the deadline
// passes.
func (w *Writer) publishSync(ctx context.Context, msg *nats.Msg, deadline time.Time) (uint64, error) {
	wait := 100 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, ackTimeout)
		pa, err := w.js.PublishMsg(pctx, &nats.Msg{Subject: msg.Subject, Header: msg.Header, Data: msg.Data}, jetstream.WithRetryAttempts(0))
		cancel()
		if err == nil {
			return pa.Sequence, nil
		}
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeWrongLastMsgID {
			return 0, fmt.Errorf("topic %q: another writer published to the topic meanwhile (%v): one target-nats at a time may write a topic", w.conn.Topic, err)
		}
		if errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.Code != 408 || errors.Is(err, nats.ErrMaxPayload) {
			// Refused (wrong stream, message too large...): retrying will
			// not change the answer.
			return 0, fmt.Errorf("topic %q refused the message: %w", w.conn.Topic, err)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("topic %q: no acknowledgement within publish_timeout_seconds (%s): %w", w.conn.Topic, w.opts.RetryFor, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// schemaEntry is a value of the schema bucket.
type schemaEntry struct {
	Position uint64          `json:"position"`
	Schema   json.RawMessage `json:"schema"`
}

// KeepSchema implements singerlog.Writer: it puts the SCHEMA in the
// topic's bucket, retrying like a publish.
func (w *Writer) KeepSchema(ctx context.Context, stream string, pos uint64, line []byte) error {
	return keepSchema(ctx, w.kv, w.conn.Topic, stream, pos, line, w.opts.RetryFor)
}

// keepSchema puts a SCHEMA line stored at pos in a topic's bucket,
// retrying for retryFor.
func keepSchema(ctx context.Context, kv jetstream.KeyValue, topic, stream string, pos uint64, line []byte, retryFor time.Duration) error {
	v, err := json.Marshal(schemaEntry{Position: pos, Schema: line})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(retryFor)
	wait := 100 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, ackTimeout)
		_, err := kv.Put(pctx, schemaKey(stream), v)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bucket %q: %w", topic+"_schemas", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// errCodeWrongLastMsgID is JetStream's error code for a message whose
// Nats-Expected-Last-Msg-Id is not the stream's last message id.
const errCodeWrongLastMsgID jetstream.ErrorCode = 10070
