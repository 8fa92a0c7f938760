package streammap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/singerkit/singerkit/singer"
)

// This file connects a Mapper to the three places it runs: a whole
// stream (singer map), a tap's output (a Writer under its Encoder) and a
// target's input (a Reader over stdin).

// Run reads Singer messages from r, maps them and writes them to w, in
// order, one message at a time (memory does not grow with the input).
// STATE messages are flushed as they pass, so a downstream target sees
// each one as soon as the records before it.
func (m *Mapper) Run(ctx context.Context, r io.Reader, w io.Writer, warn func(string)) error {
	dec := singer.NewDecoder(r)
	dec.Warn = warn
	enc := singer.NewEncoder(w)
	n := 0
	for dec.Next() {
		if n++; n&1023 == 0 && ctx.Err() != nil {
			_ = enc.Flush()
			return ctx.Err()
		}
		if err := m.Apply(dec.Message(), enc); err != nil {
			_ = enc.Flush()
			return err
		}
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	return dec.Err()
}

// Writer maps the lines written to it (a tap's Encoder output) and writes
// the result to the underlying writer. Close writes what is buffered and
// reports a last line without its newline.
type Writer struct {
	m       *Mapper
	dec     *singer.Decoder
	enc     *singer.Encoder
	partial []byte
	line    int64
	err     error
}

// NewWriter returns a Writer that maps messages into w.
func (m *Mapper) NewWriter(w io.Writer) *Writer {
	// The tap's own encoder wrote the lines: their records need no second
	// grammar check.
	dec := singer.NewDecoder(bytes.NewReader(nil))
	dec.OpenRecords = true
	return &Writer{m: m, dec: dec, enc: singer.NewEncoder(w)}
}

// Write maps every complete line of p.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	total := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		line := p[:i]
		if len(w.partial) > 0 {
			w.partial = append(w.partial, line...)
			line = w.partial
		}
		if err := w.mapLine(line); err != nil {
			w.err = err
			return 0, err
		}
		w.partial = w.partial[:0]
		p = p[i+1:]
	}
	return total, nil
}

func (w *Writer) mapLine(line []byte) error {
	w.line++
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	err := w.dec.DecodeLine(line)
	if errors.Is(err, singer.ErrUnknownType) {
		return w.enc.WriteRaw(line)
	}
	if err != nil {
		return fmt.Errorf("stream maps: message %d written by the tap: %v", w.line, err)
	}
	msg := w.dec.Message()
	msg.Line = w.line
	return w.m.apply(msg, w.enc, w.dec.FinishRecord)
}

// Close maps a last unterminated line and flushes.
func (w *Writer) Close() error {
	if w.err == nil && len(w.partial) > 0 {
		w.err = w.mapLine(w.partial)
		w.partial = nil
	}
	if err := w.enc.Flush(); w.err == nil {
		w.err = err
	}
	return w.err
}

// Reader maps the messages read from r: a target reads mapped input
// through it. It runs on the goroutine that calls Read.
type Reader struct {
	m   *Mapper
	dec *singer.Decoder
	buf bytes.Buffer
	enc *singer.Encoder
	err error // of the reading goroutine

	mu     sync.Mutex
	failed error // what Err reports to another goroutine
}

// NewReader returns a Reader of the mapped messages of r.
func (m *Mapper) NewReader(r io.Reader, warn func(string)) *Reader {
	rd := &Reader{m: m, dec: singer.NewDecoder(r)}
	rd.dec.Warn = warn
	// The target checks every record it reads, mapped or passed through,
	// in full: here each record is read once, for its members only (a
	// malformed one is an error of the mapping or of the target, never
	// passed silently).
	rd.dec.OpenRecords = true
	rd.enc = singer.NewEncoder(&rd.buf)
	return rd
}

// Err returns the error that ended the mapping (a bad input line, a map
// that does not fit a SCHEMA, a failed expression), or nil.
func (r *Reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// Read returns mapped lines.
func (r *Reader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 {
		if r.err != nil {
			return 0, r.err
		}
		// Map messages until some output is ready (a filter may drop
		// many records in a row) or the input ends.
		for i := 0; i < 256 && r.buf.Len() < 64<<10; i++ {
			if !r.dec.Next() {
				r.err = r.dec.Err()
				if r.err == nil {
					r.err = io.EOF
				}
				break
			}
			if err := r.m.apply(r.dec.Message(), r.enc, r.dec.FinishRecord); err != nil {
				r.err = err
				break
			}
		}
		if err := r.enc.Flush(); err != nil && r.err == nil {
			r.err = err
		}
		if r.err != nil && r.err != io.EOF {
			r.mu.Lock()
			r.failed = r.err
			r.mu.Unlock()
		}
	}
	return r.buf.Read(p)
}
