// Package chunkbuf is a byte buffer for bulk loads that never grows by
// copying: a list of fixed-size chunks taken from a pool that every batch of
// a process shares, and given back when the batch is reset.
//
// A batch that grows by doubling (or by 1.25x, as Go's append does for large
// slices) copies its bytes several times over before it is flushed, and
// keeps the grown buffer for as long as the stream lives: with many streams,
// or wide rows, that copying and that memory dominate the load. A chunk list
// copies nothing, holds at most one partly filled chunk per batch, and hands
// its chunks to the next batch of any stream.
//
// Rows are encoded with append, straight into the current chunk:
//
//	buf := b.Begin()
//	buf = append(buf, row...) // or any encoder of the append style
//	b.Commit(buf)             // or b.Abort() to take the row back
//
// Begin leaves room in the chunk for a row as large as the largest so far
// (up to an eighth of a chunk); a row that outgrows the room anyway is moved
// into the next chunk, and rows larger than that are encoded into a scratch
// row and copied in. A row of four chunks or more keeps the array it was
// encoded in. The bytes are read back, in order, with Reader.
package chunkbuf

import (
	"io"
	"sync"
)

// DefaultChunkSize is the size of a pool's chunks unless NewPool is told
// otherwise: 256 KiB keeps a stream's partly filled chunk small next to
// batch_size_bytes even with a hundred streams, and makes a 64 MiB batch
// 256 chunks.
const DefaultChunkSize = 256 << 10

// Pool hands out chunks of one size and keeps those given back for reuse.
// It is safe for concurrent use.
type Pool struct {
	size int
	mu   sync.Mutex
	free [][]byte
	// live counts the chunks handed out and not given back.
	live int
}

// NewPool returns a pool of chunks of size bytes (DefaultChunkSize if size
// is not positive).
func NewPool(size int) *Pool {
	if size <= 0 {
		size = DefaultChunkSize
	}
	return &Pool{size: size}
}

// ChunkSize is the size of the pool's chunks.
func (p *Pool) ChunkSize() int { return p.size }

// Live returns how many chunks are in use (handed out, not given back).
func (p *Pool) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

func (p *Pool) get() []byte {
	p.mu.Lock()
	p.live++
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return c[:0]
	}
	p.mu.Unlock()
	return make([]byte, 0, p.size)
}

// put gives chunks back; slices that are not whole chunks of the pool (a
// row larger than a chunk has an array of its own) are left to the
// collector.
func (p *Pool) put(chunks [][]byte) {
	p.mu.Lock()
	for _, c := range chunks {
		if cap(c) == p.size {
			p.live--
			p.free = append(p.free, c[:0])
		}
	}
	p.mu.Unlock()
}

// Buffer is a byte buffer of chunks from a Pool. The zero value is not
// usable: make one with New. A Buffer is not safe for concurrent use; its
// Reader may run on another goroutine while the Buffer is left alone.
type Buffer struct {
	pool *Pool
	full [][]byte // filled chunks, in order
	n    int      // bytes in full
	cur  []byte   // the chunk being written (nil: none yet)
	mark int      // len(cur) at Begin
	room int      // room Begin keeps in cur: the largest row so far
	big  bool     // Begin returned row, not cur
	row  []byte   // scratch for rows larger than an eighth of a chunk
}

// New returns an empty buffer drawing chunks from p. It takes no chunk
// before the first row.
func New(p *Pool) *Buffer { return &Buffer{pool: p} }

// Len is the number of bytes written.
func (b *Buffer) Len() int { return b.n + len(b.cur) }

// Begin returns the slice to append one row to. Pass the result of the
// appends to Commit, or call Abort.
func (b *Buffer) Begin() []byte {
	if b.room > b.pool.size/8 {
		b.big = true
		return b.row[:0]
	}
	if b.cur == nil || cap(b.cur)-len(b.cur) < b.room {
		b.seal()
		b.cur = b.pool.get()
	}
	b.mark = len(b.cur)
	return b.cur
}

// Commit keeps the row appended to the slice Begin returned.
func (b *Buffer) Commit(buf []byte) {
	var n int
	switch {
	case b.big:
		b.big = false
		n = len(buf)
		if n >= hugeRow*b.pool.size {
			// A huge row keeps its array: no second copy of it, and no
			// scratch of its size pinned after it.
			b.adopt(buf)
			b.row = nil
		} else {
			b.write(buf)
			b.row = buf[:0]
		}
	case cap(buf) == cap(b.cur) && &buf[:1][0] == &b.cur[:1][0]:
		// Still in the chunk (the same array: appends stayed in place).
		n = len(buf) - b.mark
		b.cur = buf
	default:
		// The row outgrew the chunk and append moved it to a new array;
		// the chunk still holds everything before the row.
		n = len(buf) - b.mark
		b.cur = b.cur[:b.mark]
		if n >= hugeRow*b.pool.size {
			b.adopt(buf[b.mark:])
		} else {
			b.write(buf[b.mark:])
		}
	}
	if n > b.room {
		b.room = n
	}
}

// hugeRow: a row of this many chunks or more stays in the array it was
// encoded in, a part of the buffer of its own.
const hugeRow = 4

// adopt appends p, a row in an array of its own, as a part of the buffer.
// The pool does not take it back (it is not a chunk).
func (b *Buffer) adopt(p []byte) {
	b.seal()
	b.full = append(b.full, p)
	b.n += len(p)
}

// Abort drops the row begun with Begin.
func (b *Buffer) Abort() { b.big = false }

// write copies p to the end of the buffer, chunk by chunk.
func (b *Buffer) write(p []byte) {
	for len(p) > 0 {
		if b.cur == nil || len(b.cur) == cap(b.cur) {
			b.seal()
			b.cur = b.pool.get()
		}
		k := copy(b.cur[len(b.cur):cap(b.cur)], p)
		b.cur = b.cur[:len(b.cur)+k]
		p = p[k:]
	}
}

// seal moves the current chunk to the filled ones.
func (b *Buffer) seal() {
	if len(b.cur) == 0 {
		if b.cur != nil {
			b.pool.put([][]byte{b.cur})
			b.cur = nil
		}
		return
	}
	b.full = append(b.full, b.cur)
	b.n += len(b.cur)
	b.cur = nil
}

// Reset empties the buffer and gives its chunks back to the pool. A Reader
// of the buffer must have been closed.
func (b *Buffer) Reset() {
	b.seal()
	b.pool.put(b.full)
	clear(b.full)
	b.full = b.full[:0]
	b.n = 0
	b.big = false
}

// Reader reads head, the buffer's bytes and tail, in that order. Close it
// before the buffer is reset or written to again: after Close returns, no
// Read is under way and the next one fails (a reader still running on
// another goroutine never sees reused chunks).
func (b *Buffer) Reader(head, tail []byte) *Reader {
	parts := make([][]byte, 0, len(b.full)+3)
	parts = append(parts, head)
	parts = append(parts, b.full...)
	parts = append(parts, b.cur, tail)
	return &Reader{parts: parts}
}

// Reader reads a Buffer; see Buffer.Reader.
type Reader struct {
	mu     sync.Mutex
	parts  [][]byte
	closed bool
}

// ErrClosed is what Read returns after Close.
var ErrClosed = io.ErrClosedPipe

// Read copies the next bytes to p.
func (r *Reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, ErrClosed
	}
	n := 0
	for n < len(p) && len(r.parts) > 0 {
		k := copy(p[n:], r.parts[0])
		n += k
		if k == len(r.parts[0]) {
			r.parts[0] = nil
			r.parts = r.parts[1:]
		} else {
			r.parts[0] = r.parts[0][k:]
		}
	}
	if n == 0 && len(r.parts) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Close ends the reader: it waits for a Read under way, and fails those
// that come after.
func (r *Reader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.parts = nil
	r.mu.Unlock()
	return nil
}
