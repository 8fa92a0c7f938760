// Package batchfile opens the files of a BATCH message's manifest for a
// target, only inside the directories of its batch_roots config key, and
// reads them a record line at a time.
package batchfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/singerkit/singerkit/singer"

	"github.com/singerkit/singerkit/internal/config"
)

// File is one file of a BATCH message's manifest (a file:// URL or a
// local path; jsonl, gzip or not), read a record line at a time.
type File struct {
	Path string
	f    *os.File
	gz   *gzip.Reader
	r    *bufio.Reader
	long []byte
	Line int64 // lines read so far
}

// Roots are the directories a target may read BATCH files from (the
// batch_roots config key). A BATCH message comes from the input, so its
// manifest must not make the target open any file it can read: an entry is
// opened only when its path, written out with "." and ".." removed, lies
// inside a root, and still does with every symlink resolved. The zero
// value refuses every file.
type Roots struct {
	dirs []string // absolute and clean
}

// NewRoots returns the roots of the config's batch_roots: absolute
// paths, or paths relative to the working directory. The directories need
// not exist yet (a tap may create them while the target runs).
func NewRoots(dirs []string) (Roots, error) {
	var r Roots
	var problems []string
	for i, d := range dirs {
		if d == "" {
			problems = append(problems, fmt.Sprintf("batch_roots[%d]: is empty (name a directory)", i))
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			problems = append(problems, fmt.Sprintf("batch_roots[%d]: %v", i, err))
			continue
		}
		r.dirs = append(r.dirs, abs)
	}
	if len(problems) > 0 {
		return Roots{}, &config.Error{Problems: problems}
	}
	return r, nil
}

// Open opens a manifest entry (a file:// URL or a local path) with the
// message's compression ("gzip", "none" or ""), if it lies inside a root.
func (r Roots) Open(entry, compression string) (*File, error) {
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
	if len(r.dirs) == 0 {
		return nil, fmt.Errorf("batch file %s refused: BATCH files are read only from the directories in batch_roots, and it is not set (set batch_roots to the directory the tap writes them to)", path)
	}
	f, err := r.open(path)
	if err != nil {
		return nil, err
	}
	b := &File{Path: path, f: f}
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

// open opens path if it lies inside a root, both as written and with its
// symlinks resolved. The file is opened through an os.Root of the resolved
// root, so a symlink swapped in between the check and the open cannot lead
// out of it either.
func (r Roots) open(path string) (*os.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("batch file %s: %v", path, err)
	}
	outside := fmt.Errorf("batch file %s refused: it is outside batch_roots (%s)", path, strings.Join(r.dirs, ", "))
	var reals []string // the resolved roots
	written := false
	for _, d := range r.dirs {
		real, err := filepath.EvalSymlinks(d)
		if err != nil {
			real = ""
		}
		reals = append(reals, real)
		if within(abs, d) || real != "" && within(abs, real) {
			written = true
		}
	}
	if !written {
		return nil, outside
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("batch file %s: %w", path, config.WithoutPath(err))
	}
	for _, real := range reals {
		if real == "" || !within(resolved, real) {
			continue
		}
		rel, _ := filepath.Rel(real, resolved)
		root, err := os.OpenRoot(real)
		if err != nil {
			return nil, fmt.Errorf("batch file %s: %w", path, config.WithoutPath(err))
		}
		f, err := root.Open(rel)
		root.Close()
		if err != nil {
			return nil, fmt.Errorf("batch file %s: %w", path, config.WithoutPath(err))
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("batch file %s: not a regular file", path)
		}
		return f, nil
	}
	return nil, fmt.Errorf("batch file %s refused: it resolves to %s, outside batch_roots (%s)", path, resolved, strings.Join(r.dirs, ", "))
}

// within tells whether the clean absolute path lies strictly inside dir.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Next returns the next non-blank line without its line ending, io.EOF at
// the end. The line is valid until the next call.
func (b *File) Next() ([]byte, error) {
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

func (b *File) readLine() ([]byte, error) {
	return singer.ReadLine(b.r, &b.long, singer.MaxLineBytes)
}

// Close closes the file.
func (b *File) Close() {
	if b.gz != nil {
		b.gz.Close()
	}
	b.f.Close()
}

// chunkSize is the buffer of a BATCH file reader.
const chunkSize = 256 << 10
