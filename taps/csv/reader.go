package csvtap

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"
)

// FileError is a problem with a CSV file or one of its rows (exit 1). Line
// is 1-based, 0 when the problem is about the whole file; Column is the
// column's name when the problem is about one cell.
type FileError struct {
	Path   string
	Line   int
	Column string
	Msg    string
}

func (e *FileError) Error() string {
	s := e.Path
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Column != "" {
		s += fmt.Sprintf(": column %q", e.Column)
	}
	return s + ": " + e.Msg
}

// fileInfo identifies the version of a file that a bookmark refers to.
type fileInfo struct {
	size  int64
	mtime string // RFC 3339 with nanoseconds, UTC
}

// statFile checks that path is a readable file and returns its size and
// modification time.
func statFile(path string) (fileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileInfo{}, &FileError{Path: path, Msg: "cannot read the file: " + pathErrorText(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fileInfo{}, &FileError{Path: path, Msg: "cannot read the file: " + pathErrorText(err)}
	}
	if st.IsDir() {
		return fileInfo{}, &FileError{Path: path, Msg: "cannot read the file: it is a directory"}
	}
	return fileInfo{size: st.Size(), mtime: st.ModTime().UTC().Format(time.RFC3339Nano)}, nil
}

func pathErrorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// csvFile reads the rows of one CSV file, one at a time, reusing the row's
// slice.
type csvFile struct {
	fc      *FileConfig
	f       *os.File
	r       *csv.Reader
	columns []string
}

// readBufferSize is the buffer between the file and the CSV parser.
const readBufferSize = 256 << 10

// openCSV opens the file of fc and reads its header (or takes the columns
// from the config).
func openCSV(fc *FileConfig) (*csvFile, error) {
	f, err := os.Open(fc.Path)
	if err != nil {
		return nil, &FileError{Path: fc.Path, Msg: "cannot read the file: " + pathErrorText(err)}
	}
	cf := &csvFile{fc: fc, f: f}
	if err := cf.start(); err != nil {
		f.Close()
		return nil, err
	}
	return cf, nil
}

// rewind starts reading the file again from its first row.
func (cf *csvFile) rewind() error {
	if _, err := cf.f.Seek(0, io.SeekStart); err != nil {
		return &FileError{Path: cf.fc.Path, Msg: "cannot read the file again from the start: " + pathErrorText(err)}
	}
	return cf.start()
}

func (cf *csvFile) close() error { return cf.f.Close() }

func (cf *csvFile) start() error {
	br := bufio.NewReaderSize(cf.f, readBufferSize)
	// A UTF-8 byte order mark is not part of the first column's name.
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.Comma = cf.fc.comma
	r.ReuseRecord = true
	cf.r = r
	if !cf.fc.hasHeader {
		cf.columns = cf.fc.Columns
		r.FieldsPerRecord = len(cf.columns)
		return nil
	}
	header, err := r.Read()
	if err == io.EOF {
		return &FileError{Path: cf.fc.Path, Msg: `the file is empty: there is no header row (set "header": false and "columns" for a file without one)`}
	}
	if err != nil {
		return cf.readError(err, nil)
	}
	line, _ := r.FieldPos(0)
	names := append([]string(nil), header...)
	first := make(map[string]int, len(names))
	for i, n := range names {
		switch {
		case n == "" && cf.fc.Columns == nil:
			if len(names) == 1 {
				return &FileError{Path: cf.fc.Path, Line: line, Msg: `the header row is empty: the first row must name the columns (or set "header": false and "columns")`}
			}
			return &FileError{Path: cf.fc.Path, Line: line, Msg: fmt.Sprintf(`column %d of the header has no name; name it in the file or give every name in "columns"`, i+1)}
		case !utf8.ValidString(n):
			return &FileError{Path: cf.fc.Path, Line: line, Msg: fmt.Sprintf("column %d of the header is not valid UTF-8; tap-csv reads UTF-8 only (convert the file first)", i+1)}
		}
		if j, dup := first[n]; dup && cf.fc.Columns == nil {
			return &FileError{Path: cf.fc.Path, Line: line, Msg: fmt.Sprintf(`duplicate column name %q (columns %d and %d); rename one in the file or give every name in "columns"`, n, j+1, i+1)}
		}
		first[n] = i
	}
	if cf.fc.Columns != nil {
		if len(cf.fc.Columns) != len(names) {
			return &FileError{Path: cf.fc.Path, Line: line, Msg: fmt.Sprintf(`the header has %d columns but "columns" lists %d names`, len(names), len(cf.fc.Columns))}
		}
		names = cf.fc.Columns
	}
	cf.columns = names
	r.FieldsPerRecord = len(names)
	return nil
}

// next returns the next row, or io.EOF. The slice is reused by the next
// call.
func (cf *csvFile) next() ([]string, error) {
	row, err := cf.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, cf.readError(err, row)
	}
	return row, nil
}

// line returns the line on which field i of the last row starts.
func (cf *csvFile) line(i int) int {
	l, _ := cf.r.FieldPos(i)
	return l
}

// readError turns an error of encoding/csv into a FileError with the line.
func (cf *csvFile) readError(err error, row []string) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &FileError{Path: cf.fc.Path, Msg: "cannot read the file: " + pathErrorText(err)}
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		what := "the header has"
		if !cf.fc.hasHeader {
			what = `"columns" lists`
		}
		return &FileError{Path: cf.fc.Path, Line: pe.StartLine, Msg: fmt.Sprintf("the row has %d fields but %s %d; every row needs one field per column (a field with the delimiter or a line break in it must be quoted)", len(row), what, len(cf.columns))}
	}
	line, msg := pe.Line, pe.Err.Error()
	switch {
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		line = pe.StartLine
		msg = fmt.Sprintf(`the quoted field that starts on this line is not closed properly (an extra or a missing "; the parser gave up on line %d)`, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		msg = fmt.Sprintf(`byte %d: extraneous or missing " in a quoted field (a quote inside a quoted field is written "")`, pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		msg = fmt.Sprintf(`byte %d: " in an unquoted field (quote the whole field and write the quote as "")`, pe.Column)
	}
	return &FileError{Path: cf.fc.Path, Line: line, Msg: msg}
}
