package singerlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/input"

	"github.com/singerkit/singerkit/singer"
)

// Writer is a backend's write side.
type Writer interface {
	// Publish appends m to the log without waiting for the log's
	// acknowledgement. Messages land in the order Publish is called; a
	// backend that retries keeps that order and deduplicates by m.ID, so a
	// retried message is stored once.
	Publish(ctx context.Context, m *Message) (Ack, error)
	// KeepSchema records line, the SCHEMA of a Singer stream stored at
	// position pos, where a reader that starts after pos finds it. It is
	// called in log order, after the SCHEMA's Ack.
	KeepSchema(ctx context.Context, stream string, pos uint64, line []byte) error
}

// A MessageLimiter is a Writer whose log takes messages up to a size,
// headers included (NATS: the server's max_payload): Write keeps its
// batches under it, less room for the headers, and refuses a longer line
// with one clear error.
type MessageLimiter interface {
	MaxMessageBytes() int
}

// Ack is the outcome of one Publish.
type Ack interface {
	// Wait blocks until the message is stored (replicated as the log is
	// configured) and returns its position, or the error that made the
	// backend give up. Acks are waited for in publish order.
	Wait(ctx context.Context) (uint64, error)
}

// WriteOptions tune Write.
type WriteOptions struct {
	// Producer names the writer in each message's envelope.
	Producer string
	// MaxInFlight bounds the messages published and not yet acknowledged.
	MaxInFlight int
	// MaxInFlightBytes bounds the bytes of their bodies (0: no bound); a
	// message larger than it is still published, alone in the window.
	MaxInFlightBytes int
	// BatchRecords is how many consecutive RECORD lines of one stream may
	// share a log message (1: one message per line).
	BatchRecords int
	// BatchBytes bounds a shared message's body (before compression).
	BatchBytes int
	// Compression is how the body of a RECORD message (a batch, or one
	// record when BatchRecords is 1) is compressed: CompressionS2,
	// CompressionZstd, or CompressionNone (""). A body under 1 KB, or one
	// that compression would not make smaller, goes as it is.
	Compression string
	// Now is the clock of the Singer-Written-At header (time.Now if nil).
	Now func() time.Time
}

// batchAge is how long a batch of records waits for more.
const batchAge = 200 * time.Millisecond

// pending is one published message waiting for its acknowledgement.
type pending struct {
	ack    Ack
	typ    singer.MessageType
	stream string
	body   []byte // SCHEMA: the line to keep
	state  []byte // STATE: the value to echo
	size   int    // bytes of the body, in flight until acknowledged
}

// headerRoom is what Write keeps of a MessageLimiter's message size for
// the headers.
const headerRoom = 8 << 10

// Write publishes every Singer message read from in to w, in order, and
// echoes each STATE value on out once it and every message before it are
// acknowledged. On ctx cancellation (a signal) or a bad line it stops
// reading, waits for what it has published, echoes the states that covers
// and returns ctx.Err() or the line's error. On a publish error it echoes
// nothing more and returns it: rerunning the tap from the last echoed
// state repeats messages, never loses one.
func Write(ctx context.Context, w Writer, opts WriteOptions, log *singer.Log, in io.Reader, out *singer.Encoder) error {
	if opts.MaxInFlight < 1 {
		opts.MaxInFlight = 1
	}
	if opts.BatchRecords < 1 {
		opts.BatchRecords = 1
	}
	maxBody, maxMsg := 0, 0
	if ml, ok := w.(MessageLimiter); ok {
		maxMsg = ml.MaxMessageBytes()
		maxBody = max(maxMsg-headerRoom, maxMsg/2)
		if opts.BatchBytes > maxBody {
			log.Infof("batch_bytes lowered from %d to %d: the log takes messages up to %d bytes with their headers", opts.BatchBytes, maxBody, maxMsg)
			opts.BatchBytes = maxBody
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	runID, err := newRunID()
	if err != nil {
		return err
	}
	comp, err := newCompressor(opts.Compression)
	if err != nil {
		return err
	}
	defer comp.close()
	// Work that must finish after the first signal (waiting for acks of
	// what was published) runs on the abort context: only a second signal
	// stops it.
	actx, cancelAckers := context.WithCancel(cli.AbortContext(ctx))
	defer cancelAckers()

	queue := make(chan pending, opts.MaxInFlight)
	a := &acker{w: w, out: out, log: log, done: make(chan struct{}), acked: make(chan struct{}, 1)}
	go a.run(actx, queue)

	metrics := singer.NewCounters(log, "record_count", 60*time.Second)
	defer metrics.Close()

	var seq uint64
	// publish sends one log message and queues it for the acker, once the
	// bodies in flight leave room for it.
	publish := func(typ singer.MessageType, stream string, body []byte, encoding string, state []byte) error {
		for opts.MaxInFlightBytes > 0 && a.inFlight.Load() > 0 && a.inFlight.Load()+int64(len(body)) > int64(opts.MaxInFlightBytes) {
			select {
			case <-a.acked:
			case <-a.done:
				return a.failure()
			}
		}
		a.inFlight.Add(int64(len(body)))
		seq++
		msg := &Message{
			ID:        runID + "." + strconv.FormatUint(seq, 10),
			Type:      typ,
			Stream:    stream,
			Producer:  opts.Producer,
			WrittenAt: now(),
			Body:      body,
			Encoding:  encoding,
		}
		ack, err := w.Publish(actx, msg)
		if err != nil {
			return fmt.Errorf("publishing to the log: %w", err)
		}
		p := pending{ack: ack, typ: typ, stream: stream, state: state, size: len(body)}
		if typ == singer.TypeSchema {
			p.body = body
		}
		select {
		case queue <- p:
			return nil
		case <-a.done:
			return a.failure()
		}
	}
	// Consecutive RECORDs of one stream share a log message (lines
	// joined by newlines), up to opts.BatchRecords lines and
	// opts.BatchBytes bytes: each message costs the log an
	// acknowledgement, the lines themselves are the tap's bytes. They
	// gather in one buffer kept for the whole run; a full batch goes out
	// as a copy of its exact size, compressed as opts.Compression says
	// (allocating a batch's room for each message instead cost a clearing
	// of every byte and held the unused room in flight).
	var batch struct {
		stream string
		body   []byte
		lines  int
	}
	flush := func() error {
		if batch.lines == 0 {
			return nil
		}
		body, encoding := comp.compress(batch.body)
		batch.body, batch.lines = batch.body[:0], 0
		return publish(singer.TypeRecord, batch.stream, body, encoding, nil)
	}
	// A batch waits at most batchAge for more records: a tap that pauses
	// does not hold its records back from the log's readers.
	ticker := time.NewTicker(batchAge)
	defer ticker.Stop()
	var tickErr error
	onTick := func() {
		if tickErr == nil {
			tickErr = flush()
		}
	}
	dec := singer.NewDecoder(input.NewReader(ctx, in, ticker.C, onTick))
	dec.Warn = func(msg string) { log.Warnf("%s", msg) }
	schemas := make(map[string]bool)
	readErr := func() error {
		for dec.Next() {
			if tickErr != nil {
				return tickErr
			}
			m := dec.Message()
			switch m.Type {
			case singer.TypeSchema:
				schemas[m.Stream] = true
			case singer.TypeRecord, singer.TypeBatch, singer.TypeActivateVersion:
				if !schemas[m.Stream] {
					return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("%s for stream %q comes before any SCHEMA for that stream", m.Type, m.Stream)}
				}
				if m.Type == singer.TypeRecord {
					metrics.For(m.Stream).Add(1)
				}
			case singer.TypeState:
			default:
				continue
			}
			if maxBody > 0 && len(m.Raw) > maxBody {
				return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("the %s line is %d bytes, more than the log takes in one message (%d bytes with its headers): raise the server's limit (NATS max_payload)", m.Type, len(m.Raw), maxMsg)}
			}
			if batch.lines > 0 && (m.Type != singer.TypeRecord || m.Stream != batch.stream ||
				batch.lines >= opts.BatchRecords || len(batch.body)+1+len(m.Raw) > opts.BatchBytes) {
				if err := flush(); err != nil {
					return fmt.Errorf("line %d: %w", m.Line, err)
				}
			}
			if m.Type == singer.TypeRecord && opts.BatchRecords > 1 {
				if batch.lines > 0 {
					batch.body = append(batch.body, '\n')
				} else {
					batch.stream = m.Stream
					if batch.body == nil {
						batch.body = make([]byte, 0, opts.BatchBytes)
					}
				}
				batch.body = append(batch.body, m.Raw...)
				batch.lines++
				continue
			}
			var state []byte
			if m.Type == singer.TypeState {
				state = bytes.Clone(m.Value)
			}
			body, encoding := bytes.Clone(m.Raw), ""
			if m.Type == singer.TypeRecord {
				// One record a message (BatchRecords 1): compressed
				// as a batch of one.
				body, encoding = comp.compress(m.Raw)
			}
			if err := publish(m.Type, m.Stream, body, encoding, state); err != nil {
				return fmt.Errorf("line %d: %w", m.Line, err)
			}
		}
		if tickErr != nil {
			return tickErr
		}
		err := dec.Err()
		if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// The end, or a signal: what was read goes to the log.
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		return err
	}()
	close(queue)
	// What was published before the end, a signal or a bad line is waited
	// for, and the states it covers are echoed: a rerun from the last one
	// repeats as little as it can.
	<-a.done
	ackErr := a.failure()
	interrupted := readErr != nil && ctx.Err() != nil && errors.Is(readErr, ctx.Err())
	switch {
	case readErr != nil && !interrupted:
		if ackErr != nil && !errors.Is(readErr, ackErr) {
			log.Warnf("%s", ackErr)
		}
		return readErr
	case ackErr != nil:
		return ackErr
	case interrupted:
		return ctx.Err()
	}
	return nil
}

// acker waits for the acknowledgements in publish order, keeps schemas and
// echoes states.
type acker struct {
	w    Writer
	out  *singer.Encoder
	log  *singer.Log
	done chan struct{}
	mu   sync.Mutex
	err  error
	// inFlight is the bytes of the bodies published and not yet
	// acknowledged; acked is signalled after each acknowledgement.
	inFlight atomic.Int64
	acked    chan struct{}
}

func (a *acker) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *acker) run(ctx context.Context, queue <-chan pending) {
	defer close(a.done)
	fail := func(err error) {
		a.mu.Lock()
		a.err = err
		a.mu.Unlock()
	}
	for p := range queue {
		pos, err := p.ack.Wait(ctx)
		if err != nil {
			fail(fmt.Errorf("the log did not acknowledge a %s message: %w", p.typ, err))
			return
		}
		a.inFlight.Add(-int64(p.size))
		select {
		case a.acked <- struct{}{}:
		default:
		}
		switch p.typ {
		case singer.TypeSchema:
			if err := a.w.KeepSchema(ctx, p.stream, pos, p.body); err != nil {
				fail(fmt.Errorf("stream %q: keeping its SCHEMA for readers: %w", p.stream, err))
				return
			}
		case singer.TypeState:
			if err := a.out.WriteStateValue(p.state); err != nil {
				fail(fmt.Errorf("writing state to stdout: %w", err))
				return
			}
		}
	}
}

// newRunID returns a random id for this run: message ids are the run id and
// a sequence number, unique across runs and producers.
func newRunID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
