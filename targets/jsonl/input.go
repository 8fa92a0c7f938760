package jsonl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// inputChunk is how much of the input the reading goroutine reads at a time.
const inputChunk = 256 << 10

// ctxReader reads its source in a goroutine, so that a Read blocked on a
// pipe with no data does not hold the target when its context is cancelled:
// Read returns ctx.Err() at once. The goroutine may stay blocked in the
// source's Read until the process exits (a pipe read cannot be abandoned).
type ctxReader struct {
	ctx    context.Context
	chunks chan readChunk
	free   chan []byte
	cur    []byte
	back   []byte // buffer cur points into, returned to free once read
	err    error
}

type readChunk struct {
	b   []byte
	err error
}

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	c := &ctxReader{ctx: ctx, chunks: make(chan readChunk, 1), free: make(chan []byte, 2)}
	c.free <- make([]byte, inputChunk)
	c.free <- make([]byte, inputChunk)
	go c.pump(r)
	return c
}

func (c *ctxReader) pump(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-c.free:
		case <-c.ctx.Done():
			return
		}
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			c.free <- buf
			continue
		}
		select {
		case c.chunks <- readChunk{b: buf[:n], err: err}:
		case <-c.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *ctxReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.back != nil {
			c.free <- c.back[:cap(c.back)]
			c.back = nil
		}
		if c.err != nil {
			return 0, c.err
		}
		if err := c.ctx.Err(); err != nil {
			c.err = err
			return 0, err
		}
		select {
		case ch := <-c.chunks:
			c.cur, c.back, c.err = ch.b, ch.b, ch.err
		case <-c.ctx.Done():
			c.err = c.ctx.Err()
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// batchFile is one file of a BATCH manifest, read a line at a time.
type batchFile struct {
	path string
	f    *os.File
	gz   *gzip.Reader
	r    *bufio.Reader
	long []byte
	line int64
}

// openBatchFile opens a manifest entry: a file:// URL or a local path.
func openBatchFile(entry, compression string) (*batchFile, error) {
	path := entry
	if strings.Contains(entry, "://") {
		u, err := url.Parse(entry)
		if err != nil {
			return nil, fmt.Errorf("manifest entry %q is not a URL: %v", entry, err)
		}
		if u.Scheme != "file" {
			return nil, fmt.Errorf("manifest entry %q: only file:// URLs and local paths are supported", entry)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("manifest entry %q: file URL names host %q; only local files are supported", entry, u.Host)
		}
		path = u.Path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("batch file %s: %w", path, unwrapPath(err))
	}
	b := &batchFile{path: path, f: f}
	var src io.Reader = f
	switch compression {
	case "gzip":
		if b.gz, err = gzip.NewReader(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("batch file %s: not gzip: %v", path, err)
		}
		src = b.gz
	case "", "none":
	default:
		f.Close()
		return nil, fmt.Errorf(`batch file %s: unsupported compression %q (use "gzip" or "none")`, path, compression)
	}
	b.r = bufio.NewReaderSize(src, inputChunk)
	return b, nil
}

// next returns the next non-blank line without its line ending, io.EOF at
// the end. The line is valid until the next call.
func (b *batchFile) next() ([]byte, error) {
	for {
		line, err := b.readLine()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("batch file %s after line %d: %w", b.path, b.line, err)
			}
			return nil, err
		}
		b.line++
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			return bytes.TrimSpace(line), nil
		}
	}
}

func (b *batchFile) readLine() ([]byte, error) {
	s, err := b.r.ReadSlice('\n')
	if err == nil {
		return s[:len(s)-1], nil
	}
	if err != bufio.ErrBufferFull {
		if err == io.EOF && len(s) > 0 {
			return s, nil
		}
		return nil, err
	}
	b.long = append(b.long[:0], s...)
	for {
		s, err = b.r.ReadSlice('\n')
		b.long = append(b.long, s...)
		switch err {
		case nil:
			return b.long[:len(b.long)-1], nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return b.long, nil
		}
		return nil, err
	}
}

func (b *batchFile) close() {
	if b.gz != nil {
		b.gz.Close()
	}
	b.f.Close()
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
