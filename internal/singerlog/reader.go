package singerlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// Source is a backend's read side.
type Source interface {
	// Bounds returns the position of the oldest message the log still
	// holds and of the newest; last is first-1 when the log is empty.
	Bounds(ctx context.Context) (first, last uint64, err error)
	// Seek returns the position of the first message written at or after
	// t (last+1 when there is none).
	Seek(ctx context.Context, t time.Time) (uint64, error)
	// Read returns a cursor over the messages from position from on.
	Read(ctx context.Context, from uint64) (Cursor, error)
	// Schema returns the latest SCHEMA line of a Singer stream kept by
	// Writer.KeepSchema at a position before the given one.
	Schema(ctx context.Context, stream string, before uint64) (line []byte, found bool, err error)
}

// Cursor reads the log in order.
type Cursor interface {
	// Next returns the next message, waiting for one to be written.
	Next(ctx context.Context) (*Message, error)
	Close() error
}

// ReadOptions tune Read.
type ReadOptions struct {
	// Topic is the log's name; the state records it, and a state of
	// another topic is refused.
	Topic string
	// StartFrom is where a run without a position in its state starts:
	// the beginning of the log (zero), or the first message written at or
	// after this time.
	StartFrom time.Time
	// Follow keeps reading after the end of the log, until a signal.
	// Without it, Read stops at the last message the log held when it
	// started (drain and exit).
	Follow bool
}

// Position is the log part of a reader's state.
type Position struct {
	Topic string `json:"topic"`
	// Next is the position of the next message to read.
	Next uint64 `json:"next"`
}

// readerState is the state value a reader emits: its position, and the
// value of the latest STATE message it read (the upstream tap's state).
type readerState struct {
	Log      Position        `json:"log"`
	Upstream json.RawMessage `json:"upstream,omitempty"`
}

// PositionError is a position the log no longer holds (or never held): the
// reader stops instead of skipping what it cannot read.
type PositionError struct{ Msg string }

func (e *PositionError) Error() string { return e.Msg }

// stateError is a state that cannot be used with this config (exit 2).
type stateError struct{ msg string }

func (e *stateError) Error() string { return e.msg }
func (e *stateError) ExitCode() int { return cli.ExitUsage }

// Read writes the log's messages to out, from the position in state (or,
// without one, from opts.StartFrom), each line as the tap wrote it. Before
// the first RECORD, BATCH or ACTIVATE_VERSION of a Singer stream whose
// SCHEMA the run has not met in the log, it emits the latest SCHEMA of
// that stream kept from before the starting position. At each STATE in the
// log, at the end and on ctx cancellation it emits its own state: the
// position after the last message written out and the upstream state.
func Read(ctx context.Context, src Source, opts ReadOptions, log *singer.Log, state *singer.State, out *singer.Encoder) error {
	st := readerState{Log: Position{Topic: opts.Topic}}
	fromState := false
	if state != nil {
		if raw, ok := state.Extra["log"]; ok {
			if err := json.Unmarshal(raw, &st.Log); err != nil {
				return &stateError{fmt.Sprintf(`state "log" must be {"topic": ..., "next": ...}: %v`, err)}
			}
			if st.Log.Topic != opts.Topic {
				return &stateError{fmt.Sprintf("the state is a position in topic %q, the config reads topic %q: use a state of this topic, or none", st.Log.Topic, opts.Topic)}
			}
			fromState = true
		}
		if raw, ok := state.Extra["upstream"]; ok && string(raw) != "null" {
			st.Upstream = raw
		}
	}
	first, last, err := src.Bounds(ctx)
	if err != nil {
		return err
	}
	switch {
	case fromState:
		if st.Log.Next < first {
			return &PositionError{Msg: fmt.Sprintf("topic %q: the state's position %d is no longer in the log (its retention deleted messages %d to %d; the oldest kept is %d): nothing was skipped; reload from the source, or remove \"log\" from the state to start over from start_from",
				opts.Topic, st.Log.Next, st.Log.Next, first-1, first)}
		}
		if st.Log.Next > last+1 {
			return &PositionError{Msg: fmt.Sprintf("topic %q: the state's position %d is past the end of the log (last message %d): was the topic deleted and created again? remove \"log\" from the state to start over from start_from",
				opts.Topic, st.Log.Next, last)}
		}
	case opts.StartFrom.IsZero():
		st.Log.Next = first
	default:
		if st.Log.Next, err = src.Seek(ctx, opts.StartFrom); err != nil {
			return err
		}
	}
	r := &reader{
		src: src, opts: opts, log: log, out: out, st: st,
		start:   st.Log.Next,
		schemas: make(map[string]bool),
		metrics: singer.NewCounters(log, "record_count", 60*time.Second),
	}
	defer r.metrics.Close()
	defer r.decoder.close()
	err = r.run(ctx, last)
	// The state covers what was written out, whatever stopped the run:
	// the end, a signal, or an error (a rerun meets the error again).
	if werr := r.emitState(); werr != nil && err == nil {
		err = werr
	}
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		return ctx.Err()
	}
	return err
}

type reader struct {
	src      Source
	opts     ReadOptions
	log      *singer.Log
	out      *singer.Encoder
	st       readerState
	start    uint64          // where this run started
	schemas  map[string]bool // streams whose SCHEMA was written out
	metrics  *singer.Counters
	emitted  bool // the last message written out is a state of st
	buffered bool // written out since the last flush
	decoder  decompressor
}

func (r *reader) run(ctx context.Context, last uint64) error {
	if !r.opts.Follow && r.st.Log.Next > last {
		return nil
	}
	cur, err := r.src.Read(ctx, r.st.Log.Next)
	if err != nil {
		return err
	}
	defer cur.Close()
	for r.opts.Follow || r.st.Log.Next <= last {
		m, err := r.next(ctx, cur)
		if err != nil {
			return err
		}
		if m.Position != r.st.Log.Next {
			if m.Position < r.st.Log.Next {
				continue // delivered again after a reconnect
			}
			return &PositionError{Msg: fmt.Sprintf("topic %q: messages %d to %d were deleted from the log (retention) before this reader got to them: nothing was skipped; the last state emitted covers everything before %d",
				r.opts.Topic, r.st.Log.Next, m.Position-1, r.st.Log.Next)}
		}
		if err := r.handle(ctx, m); err != nil {
			return err
		}
		r.st.Log.Next = m.Position + 1
	}
	return nil
}

// idleFlush is how long the reader waits for the next message before it
// flushes what it wrote: a follower's downstream sees every message that
// is in the log within about this much, however slowly the log grows.
const idleFlush = 200 * time.Millisecond

// next returns the next message; while output is buffered it waits at most
// idleFlush before flushing it.
func (r *reader) next(ctx context.Context, cur Cursor) (*Message, error) {
	if !r.buffered {
		return cur.Next(ctx)
	}
	wctx, cancel := context.WithTimeout(ctx, idleFlush)
	m, err := cur.Next(wctx)
	cancel()
	if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return m, err
	}
	if err := r.out.Flush(); err != nil {
		return nil, err
	}
	r.buffered = false
	return cur.Next(ctx)
}

func (r *reader) handle(ctx context.Context, m *Message) error {
	if m.Encoding != "" {
		body, err := r.decoder.decode(m.Encoding, m.Body)
		if err != nil {
			return fmt.Errorf("topic %q: position %d: %w", r.opts.Topic, m.Position, err)
		}
		m.Body = body
	}
	switch m.Type {
	case singer.TypeSchema:
		r.schemas[m.Stream] = true
		// singer gate follows a SCHEMA with RECORD lines of its stream
		// in the same message.
		if n := bytes.Count(m.Body, []byte{'\n'}); n > 0 {
			r.metrics.For(m.Stream).Add(int64(n))
		}
	case singer.TypeRecord, singer.TypeBatch, singer.TypeActivateVersion:
		if !r.schemas[m.Stream] {
			line, found, err := r.src.Schema(ctx, m.Stream, r.start)
			if err != nil {
				return fmt.Errorf("stream %q: looking up its SCHEMA: %w", m.Stream, err)
			}
			if !found {
				return &PositionError{Msg: fmt.Sprintf("topic %q: position %d: %s for stream %q, whose SCHEMA is neither in the log since position %d nor kept from before it (the schema store keeps each stream's latest schemas): start from an earlier position",
					r.opts.Topic, m.Position, m.Type, m.Stream, r.start)}
			}
			if err := r.out.WriteRaw(line); err != nil {
				return err
			}
			r.schemas[m.Stream] = true
		}
		if m.Type == singer.TypeRecord {
			// A RECORD message may hold several lines of its stream.
			r.metrics.For(m.Stream).Add(int64(bytes.Count(m.Body, []byte{'\n'}) + 1))
		}
	case singer.TypeState:
		var sm struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(m.Body, &sm); err != nil || len(sm.Value) == 0 || sm.Value[0] != '{' {
			return fmt.Errorf("topic %q: position %d: a STATE message without an object value", r.opts.Topic, m.Position)
		}
		r.st.Upstream = sm.Value
		r.st.Log.Next = m.Position + 1
		r.emitted = false
		return r.emitState()
	default:
		return fmt.Errorf("topic %q: position %d: the message has no %s header of a Singer type: was it written by target-nats or target-kafka?", r.opts.Topic, m.Position, HeaderType)
	}
	r.emitted = false
	r.buffered = true
	return r.out.WriteRaw(m.Body)
}

func (r *reader) emitState() error {
	if r.emitted {
		return nil
	}
	r.emitted = true
	r.buffered = false // WriteState flushes
	b, err := json.Marshal(r.st)
	if err != nil {
		return err
	}
	return r.out.WriteState(b)
}
