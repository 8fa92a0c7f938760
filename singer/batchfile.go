package singer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// BatchFile is one file of a BATCH message's manifest (a file:// URL or a
// local path; jsonl, gzip or not), read a record line at a time.
type BatchFile struct {
	Path string
	f    *os.File
	gz   *gzip.Reader
	r    *bufio.Reader
	long []byte
	Line int64 // lines read so far
}

// OpenBatchFile opens a manifest entry with the message's compression
// ("gzip", "none" or "").
func OpenBatchFile(entry, compression string) (*BatchFile, error) {
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
		return nil, fmt.Errorf("batch file %s: %w", path, unwrapPathError(err))
	}
	b := &BatchFile{Path: path, f: f}
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
	b.r = bufio.NewReaderSize(src, chunkSize)
	return b, nil
}

// Next returns the next non-blank line without its line ending, io.EOF at
// the end. The line is valid until the next call.
func (b *BatchFile) Next() ([]byte, error) {
	for {
		line, err := b.readLine()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("batch file %s after line %d: %w", b.Path, b.Line, err)
			}
			return nil, err
		}
		b.Line++
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			return bytes.TrimSpace(line), nil
		}
	}
}

func (b *BatchFile) readLine() ([]byte, error) {
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

// Close closes the file.
func (b *BatchFile) Close() {
	if b.gz != nil {
		b.gz.Close()
	}
	b.f.Close()
}
