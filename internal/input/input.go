// Package input reads a target's input (stdin or --input) in a goroutine of
// its own, so that the target can stop on a signal, and flush batches that
// grew too old, while no line arrives.
package input

import (
	"context"
	"io"
	"time"
)

// Reader reads a target's input in a goroutine and hands it over in
// chunks, so that the target's goroutine never blocks in a read it cannot
// leave: Read waits on a channel, the context and an optional ticker, and
// returns ctx.Err() once the context is cancelled (a signal). While it waits
// it runs the tick function (flush batches that are too old) on the
// caller's own goroutine. The reading goroutine may stay blocked in the
// source's Read until the process exits: a pipe read cannot be abandoned.
type Reader struct {
	ctx    context.Context
	chunks chan []byte
	free   chan []byte
	errc   chan error
	cur    []byte
	back   []byte // the buffer cur came from, returned to free when used up
	tick   <-chan time.Time
	onTick func()
	err    error
}

const chunkSize = 256 << 10

// NewReader starts reading r. tick and onTick may be nil.
func NewReader(ctx context.Context, r io.Reader, tick <-chan time.Time, onTick func()) *Reader {
	c := &Reader{
		ctx:    ctx,
		chunks: make(chan []byte, 4),
		free:   make(chan []byte, 6),
		errc:   make(chan error, 1),
		tick:   tick,
		onTick: onTick,
	}
	for i := 0; i < 6; i++ {
		c.free <- make([]byte, chunkSize)
	}
	go c.pump(r)
	return c
}

func (c *Reader) pump(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-c.free:
		case <-c.ctx.Done():
			return
		}
		n, err := r.Read(buf[:cap(buf)])
		if n > 0 {
			select {
			case c.chunks <- buf[:n]:
			case <-c.ctx.Done():
				return
			}
		} else {
			c.free <- buf
		}
		if err != nil {
			c.errc <- err
			close(c.chunks)
			return
		}
	}
}

// Read implements io.Reader.
func (c *Reader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.back != nil {
			c.free <- c.back[:cap(c.back)]
			c.back = nil
		}
		if c.err != nil {
			return 0, c.err
		}
		// Tick first without blocking: a busy input still gets its batches
		// flushed by age.
		if c.tick != nil {
			select {
			case <-c.tick:
				c.onTick()
			default:
			}
		}
		select {
		case b, ok := <-c.chunks:
			if !ok {
				c.err = <-c.errc
				continue
			}
			c.cur, c.back = b, b
		case <-c.tick:
			c.onTick()
		case <-c.ctx.Done():
			c.err = c.ctx.Err()
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}
