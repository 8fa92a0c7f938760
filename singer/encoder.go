package singer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Encoder writes Singer messages, one compact JSON object per line. Output is
// buffered; it is flushed after every STATE (so a reader sees a state as soon
// as it is final) and by Flush, which callers run at exit.
type Encoder struct {
	w   *bufio.Writer
	buf []byte
	// The start of the last stream's RECORD lines and the last
	// time_extracted's text: a tap writes the same ones on every record
	// of a run, and formatting the time was a fifth of tap-mysql's CPU.
	recStream string
	recHead   []byte
	extAt     time.Time
	extText   []byte
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 256<<10), buf: make([]byte, 0, 4096)}
}

// Flush writes buffered output.
func (e *Encoder) Flush() error { return e.w.Flush() }

func (e *Encoder) emit() error {
	e.buf = append(e.buf, '\n')
	_, err := e.w.Write(e.buf)
	return err
}

// WriteSchema writes a SCHEMA message. A nil KeyProperties is written as [],
// as the spec requires the key.
func (e *Encoder) WriteSchema(m SchemaMessage) error {
	if !json.Valid(m.Schema) {
		return fmt.Errorf("SCHEMA for stream %q: schema is not valid JSON", m.Stream)
	}
	b := append(e.buf[:0], `{"type":"SCHEMA","stream":`...)
	b = AppendJSONString(b, m.Stream)
	b = append(b, `,"schema":`...)
	b = append(b, m.Schema...)
	b = append(b, `,"key_properties":`...)
	b = appendStrings(b, m.KeyProperties)
	if len(m.BookmarkProperties) > 0 {
		b = append(b, `,"bookmark_properties":`...)
		b = appendStrings(b, m.BookmarkProperties)
	}
	b = append(b, '}')
	e.buf = b
	return e.emit()
}

// WriteRecord writes a RECORD. m.Record must be a JSON object; it is copied
// as is (taps build it with the Append helpers or encoding/json).
func (e *Encoder) WriteRecord(m RecordMessage) error {
	if e.recHead == nil || m.Stream != e.recStream {
		h := append(e.recHead[:0], `{"type":"RECORD","stream":`...)
		h = AppendJSONString(h, m.Stream)
		e.recHead, e.recStream = append(h, `,"record":`...), m.Stream
	}
	b := append(e.buf[:0], e.recHead...)
	b = append(b, m.Record...)
	if m.HasVersion {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, m.Version, 10)
	}
	if !m.TimeExtracted.IsZero() {
		if e.extText == nil || !m.TimeExtracted.Equal(e.extAt) {
			t := append(e.extText[:0], `,"time_extracted":"`...)
			t = AppendTimestamp(t, m.TimeExtracted)
			e.extText, e.extAt = append(t, '"'), m.TimeExtracted
		}
		b = append(b, e.extText...)
	}
	b = append(b, '}')
	e.buf = b
	return e.emit()
}

// WriteState writes a STATE message whose value is the JSON object raw, and
// flushes.
func (e *Encoder) WriteState(raw json.RawMessage) error {
	b := append(e.buf[:0], `{"type":"STATE","value":`...)
	b = append(b, raw...)
	b = append(b, '}')
	e.buf = b
	if err := e.emit(); err != nil {
		return err
	}
	return e.w.Flush()
}

// WriteStateValue writes a bare state value on a line of its own and
// flushes: what targets echo on stdout once the data before the state is
// committed (the value a tap takes back with --state).
func (e *Encoder) WriteStateValue(raw json.RawMessage) error {
	e.buf = append(e.buf[:0], raw...)
	if err := e.emit(); err != nil {
		return err
	}
	return e.w.Flush()
}

// WriteActivateVersion writes an ACTIVATE_VERSION message.
func (e *Encoder) WriteActivateVersion(stream string, version int64) error {
	b := append(e.buf[:0], `{"type":"ACTIVATE_VERSION","stream":`...)
	b = AppendJSONString(b, stream)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, '}')
	e.buf = b
	return e.emit()
}

// WriteBatch writes a BATCH message (the Meltano extension).
func (e *Encoder) WriteBatch(stream string, enc BatchEncoding, manifest []string) error {
	b := append(e.buf[:0], `{"type":"BATCH","stream":`...)
	b = AppendJSONString(b, stream)
	b = append(b, `,"encoding":{"format":`...)
	b = AppendJSONString(b, enc.Format)
	b = append(b, `,"compression":`...)
	b = AppendJSONString(b, enc.Compression)
	b = append(b, `},"manifest":`...)
	b = appendStrings(b, manifest)
	b = append(b, '}')
	e.buf = b
	return e.emit()
}

// WriteRaw writes one already encoded message line (without the newline).
func (e *Encoder) WriteRaw(line []byte) error {
	e.buf = append(e.buf[:0], line...)
	return e.emit()
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// AppendTimestamp appends t in RFC 3339 in UTC with a Z, with microsecond
// precision when t has a fraction (what singer-python writes and reads).
func AppendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	frac := 9
	switch {
	case t.Nanosecond() == 0:
		frac = 0
	case t.Nanosecond()%1000 == 0:
		frac = 6
	}
	return append(AppendDateTime(b, t, 'T', frac), 'Z')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does; <, > and & are not escaped.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript parsers; escape them as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONBytes is AppendJSONString for a byte slice.
func AppendJSONBytes(b []byte, s []byte) []byte {
	if len(s) == 0 {
		return append(b, '"', '"')
	}
	// A view, not a copy: AppendJSONString does not retain its argument.
	return AppendJSONString(b, unsafe.String(&s[0], len(s)))
}
