package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/singerkit/singerkit/singer"
)

// writeBufferSize is each stream file's write buffer.
const writeBufferSize = 256 << 10

// streamFile is one stream's .jsonl file, opened for appending. Every '\n'
// in it ends a record (a JSON line holds no raw newline), which is what
// makes a torn tail recognisable: anything after the last '\n'.
type streamFile struct {
	path      string
	f         *os.File
	w         *bufio.Writer
	size      int64 // bytes written, buffered ones included
	covered   int64 // size the last echoed state covers; the size at open until one does
	created   bool  // the file did not exist before this run
	dirSynced bool  // the directory entry of a created file is durable
}

// openStreamFile opens (creating) the file of a stream and cuts off a torn
// last line left by a run that was killed while writing.
func openStreamFile(dir, name string, log *singer.Log) (*streamFile, error) {
	path := filepath.Join(dir, name)
	created := false
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
		created = err == nil
	}
	if err != nil {
		return nil, err
	}
	sf := &streamFile{path: path, f: f, created: created, dirSynced: !created}
	size, err := repairTail(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("checking the end of %s: %w", path, err)
	}
	if size.before != size.after {
		log.Warnf("%s ended with %d bytes of a partial line (from an interrupted run); truncated it to %d bytes, its last complete line",
			path, size.before-size.after, size.after)
	}
	// Until a state echoed in this run covers some of its records, the file
	// is covered up to its size at the start: an error never cuts into what
	// earlier runs wrote (covered only grows from here, as the file does).
	sf.size, sf.covered = size.after, size.after
	sf.w = bufio.NewWriterSize(f, writeBufferSize)
	return sf, nil
}

type tailRepair struct{ before, after int64 }

// tailChunk is how much of a file's end repairTail reads at a time.
const tailChunk = 64 << 10

// repairTail truncates f after its last '\n' when it does not end with one.
func repairTail(f *os.File) (tailRepair, error) {
	fi, err := f.Stat()
	if err != nil {
		return tailRepair{}, err
	}
	if !fi.Mode().IsRegular() {
		return tailRepair{}, errors.New("not a regular file")
	}
	size := fi.Size()
	r := tailRepair{before: size, after: size}
	if size == 0 {
		return r, nil
	}
	buf := make([]byte, min(tailChunk, size))
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		chunk := buf[:n]
		if _, err := f.ReadAt(chunk, end-n); err != nil && err != io.EOF {
			return r, err
		}
		if end == size && chunk[n-1] == '\n' {
			return r, nil
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			r.after = end - n + int64(i) + 1
			break
		}
		end -= n
		if end == 0 {
			r.after = 0
		}
	}
	if err := f.Truncate(r.after); err != nil {
		return r, err
	}
	return r, nil
}

// write appends one line: line and a '\n'.
func (sf *streamFile) write(line []byte) error {
	if _, err := sf.w.Write(line); err != nil {
		return err
	}
	if err := sf.w.WriteByte('\n'); err != nil {
		return err
	}
	sf.size += int64(len(line)) + 1
	return nil
}

// flush hands the buffered bytes to the operating system.
func (sf *streamFile) flush() error {
	if err := sf.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", sf.path, err)
	}
	return nil
}

// sync makes the flushed bytes durable, and the file's name when this run
// created the file.
func (sf *streamFile) sync() error {
	if err := sf.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", sf.path, err)
	}
	if !sf.dirSynced {
		if err := syncDir(filepath.Dir(sf.path)); err != nil {
			return err
		}
		sf.dirSynced = true
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// rollback cuts the file back to the size the last echoed state covers:
// the buffer is dropped and so are the bytes already handed to the
// operating system, committed or not. A file this run created that no
// echoed state covers is emptied and removed; removed reports it, so the
// caller syncs the directory. With fsync the cut is durable before rollback
// returns (a file is emptied durably before its name goes, so a lost
// unlink cannot bring back its records).
func (sf *streamFile) rollback(fsync bool) (removed bool, err error) {
	sf.w.Reset(sf.f)
	var errs []error
	if err := sf.f.Truncate(sf.covered); err != nil {
		errs = append(errs, err)
	} else if fsync {
		if err := sf.f.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	sf.size = sf.covered
	if sf.created && sf.covered == 0 {
		if err := sf.f.Close(); err != nil {
			errs = append(errs, err)
		}
		sf.f = nil
		if err := os.Remove(sf.path); err != nil {
			errs = append(errs, err)
		} else {
			removed = true
		}
	}
	return removed, wrapAll("rolling back "+sf.path, errs)
}

func (sf *streamFile) close() error {
	if sf.f == nil {
		return nil
	}
	err := sf.f.Close()
	sf.f = nil
	if err != nil {
		return fmt.Errorf("closing %s: %w", sf.path, err)
	}
	return nil
}

func wrapAll(what string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", what, errors.Join(errs...))
}
