package singer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// InputError is a problem with one input line. Line is 1-based.
type InputError struct {
	Line    int64
	Excerpt string // the start of the offending line
	Msg     string
}

func (e *InputError) Error() string {
	if e.Excerpt == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s (line starts %s)", e.Line, e.Msg, e.Excerpt)
}

// excerptLen is how much of a bad line an error quotes.
const excerptLen = 60

// Excerpt returns a short quoted prefix of a line for error messages.
func Excerpt(line []byte) string {
	if len(line) > excerptLen {
		// Cut on a rune boundary so the excerpt stays valid UTF-8.
		n := excerptLen
		for n > 0 && line[n]&0xC0 == 0x80 {
			n--
		}
		return strconv.Quote(string(line[:n])) + "..."
	}
	return strconv.Quote(string(line))
}

// Decoder reads newline-delimited Singer messages. Lines may be of any
// length; blank lines are skipped; numbers and every other value inside
// records, schemas and states are kept as their exact input bytes.
type Decoder struct {
	r       *bufio.Reader
	long    []byte // accumulates lines longer than the reader's buffer
	maxLine int    // 0: MaxLineBytes (tests set less)
	line    int64
	msg     Message
	env     envelope
	err     error
	streams map[string]string // interned stream names: no allocation per record
	warned  map[string]bool

	// Strict makes a message of an unknown type an error instead of a warning.
	Strict bool
	// OpenRecords goes one step further for consumers that decode each
	// record in place: when "type" and "stream" come before "record" (as
	// taps write them), Next stops at the record object and returns the
	// message with RecordOpen set and Record running from the object to
	// the end of the line; the consumer decodes the object
	// (Schema.DecodePrefix), then calls FinishRecord with its length, which
	// reads the rest of the envelope. The record's bytes are scanned once.
	// Consumers call FinishRecord for every RECORD: when the record came
	// before "type" or "stream" it was only bracket-matched (as with
	// LazyRecords) and FinishRecord checks the length the decode found.
	OpenRecords bool
	// LazyRecords skips the "record" object of a RECORD by matching its
	// brackets instead of checking its JSON grammar, for consumers that run
	// every record through Schema.Decode (which checks it fully): each
	// record is then tokenized once instead of twice. A malformed record
	// is reported by Schema.Decode instead of by Next.
	LazyRecords bool
	// Warn receives warnings (an unknown message type, once per type). Nil
	// discards them.
	Warn func(msg string)
}

// readBufferSize is the bufio buffer: lines up to this size are parsed in
// place without a copy.
const readBufferSize = 1 << 20

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{
		r:       bufio.NewReaderSize(r, readBufferSize),
		streams: make(map[string]string),
		warned:  make(map[string]bool),
	}
}

// Next reads the next message. It returns false at the end of the input or on
// an error; Err tells which.
func (d *Decoder) Next() bool {
	if d.err != nil {
		return false
	}
	for {
		line, err := d.readLine()
		if err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				d.err = err
			} else if err != io.EOF {
				d.err = fmt.Errorf("reading input after line %d: %w", d.line, err)
			}
			return false
		}
		d.line++
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := d.parse(line); err != nil {
			var skip errSkip
			if errors.As(err, &skip) {
				continue
			}
			d.err = err
			return false
		}
		return true
	}
}

// Message returns the message read by the last successful Next. It is reused
// by the following call.
func (d *Decoder) Message() *Message { return &d.msg }

// Err returns the first error met, or nil at a clean end of input.
func (d *Decoder) Err() error { return d.err }

// Line returns the number of lines read so far.
func (d *Decoder) Line() int64 { return d.line }

// readLine returns the next line without its '\n'. A final line without a
// newline is returned too; io.EOF comes only when nothing is left.
func (d *Decoder) readLine() ([]byte, error) {
	limit := d.maxLine
	if limit == 0 {
		limit = MaxLineBytes
	}
	line, err := ReadLine(d.r, &d.long, limit)
	if err == nil {
		// Before the errors.As below: its target escapes to the heap,
		// which would cost an allocation for every line read.
		return line, nil
	}
	var tl *LineTooLongError
	if errors.As(err, &tl) {
		return nil, &InputError{Line: d.line + 1, Msg: tl.Error()}
	}
	return line, err
}

type errSkip struct{}

func (errSkip) Error() string { return "skipped" }

// ErrUnknownType is what DecodeLine returns for a message of a type the
// decoder skips (after warning through Warn).
var ErrUnknownType = errors.New("message of an unknown type skipped")

// NextLine reads the next input line, blank or not, without its line
// ending, and counts it: for a reader that goes on after a line that is
// not a message (a conformance checker), decoding each with DecodeLine.
// It returns io.EOF at the end of the input, and an *InputError for a line
// longer than the limit.
func (d *Decoder) NextLine() ([]byte, error) {
	line, err := d.readLine()
	if err != nil {
		return nil, err
	}
	d.line++
	return bytes.TrimRight(line, "\r"), nil
}

// DecodeLine decodes a line from NextLine into Message, by the rules of
// Next. An error ends only this line: an *InputError for a line that is not
// a valid message, or ErrUnknownType for a message the decoder skipped.
func (d *Decoder) DecodeLine(line []byte) error {
	err := d.parse(line)
	if errors.As(err, new(errSkip)) {
		return ErrUnknownType
	}
	return err
}

func (d *Decoder) fail(line []byte, format string, args ...any) error {
	return &InputError{Line: d.line, Excerpt: Excerpt(line), Msg: fmt.Sprintf(format, args...)}
}

// The envelope keys the decoder understands.
var (
	keyType               = []byte("type")
	keyStream             = []byte("stream")
	keyRecord             = []byte("record")
	keySchema             = []byte("schema")
	keyKeyProperties      = []byte("key_properties")
	keyBookmarkProperties = []byte("bookmark_properties")
	keyValue              = []byte("value")
	keyVersion            = []byte("version")
	keyTimeExtracted      = []byte("time_extracted")
	keyEncoding           = []byte("encoding")
	keyManifest           = []byte("manifest")
)

// envelope holds the raw members of the message being read, so that a
// RECORD left open (OpenRecords) can be finished later.
type envelope struct {
	line                                                                                    []byte
	typ, stream, record, schema, keys, bkeys, value, version, extracted, encoding, manifest []byte
	hasKeys                                                                                 bool
	it                                                                                      objectIter
	resumed                                                                                 bool
	members                                                                                 keySet // the keys read: none may come twice
}

func (d *Decoder) parse(line []byte) error {
	m := &d.msg
	*m = Message{Line: d.line, Raw: line, KeyProperties: m.KeyProperties[:0], BookmarkProperties: m.BookmarkProperties[:0], Manifest: m.Manifest[:0]}
	i := skipWS(line, 0)
	if line[i] != '{' {
		return d.fail(line, "not a JSON object: a Singer message must be one JSON object per line")
	}
	env := &d.env
	*env = envelope{line: line}
	env.it.start(line, i)
	paused, err := d.scanEnvelope(env)
	if err != nil {
		return err
	}
	if paused {
		// type and stream are known and the record object starts here:
		// the consumer decodes it in place and calls FinishRecord.
		m.Type = TypeRecord
		m.Stream = d.intern(env.stream)
		m.Record = line[env.it.i:]
		m.RecordOpen = true
		return nil
	}
	return d.build(env)
}

// FinishRecord completes a RECORD read with OpenRecords: n is the length
// of the record object at the start of Message.Record (what
// Schema.DecodePrefix returns). The rest of the envelope is read then
// (version and time_extracted may follow the record). For a message that
// is not open it only checks n.
func (d *Decoder) FinishRecord(n int) error {
	m := &d.msg
	if !m.RecordOpen {
		if n != len(m.Record) {
			return d.fail(m.Raw, "invalid JSON: the record object is %d bytes, not %d", len(m.Record), n)
		}
		return nil
	}
	env := &d.env
	start := env.it.i
	if n <= 0 || start+n > len(env.line) || env.line[start+n-1] != '}' {
		return d.fail(env.line, "invalid JSON: record object of %d bytes does not end the record", n)
	}
	env.record = env.line[start : start+n]
	env.it.i = start + n
	env.resumed = true
	m.RecordOpen = false
	if _, err := d.scanEnvelope(env); err != nil {
		return err
	}
	return d.build(env)
}

// scanEnvelope reads members until the end of the object. With
// OpenRecords it pauses at a "record" object once the message is known to
// be a RECORD of a known stream, and reports paused.
func (d *Decoder) scanEnvelope(env *envelope) (paused bool, err error) {
	it := &env.it
	line := env.line
	for {
		key, esc, _, ok := it.next()
		if !ok {
			break
		}
		if env.members.add(line, it.keyOff, it.keyOff+len(key)+2, esc) {
			return false, d.fail(line, "invalid JSON: %v", duplicateKey(line, it.keyOff, it.keyOff+len(key)+2, esc))
		}
		if esc {
			key = appendUnescaped(nil, key)
		}
		if line[it.i] == '{' && bytes.Equal(key, keyRecord) {
			if d.OpenRecords && !env.resumed && env.stream != nil && env.stream[0] == '"' && env.typ != nil && env.typ[0] == '"' &&
				parseMessageType(env.typ[1:len(env.typ)-1]) == TypeRecord {
				return true, nil
			}
			if d.LazyRecords || d.OpenRecords {
				end, err := skipContainerFast(line, it.i)
				if err != nil {
					return false, d.fail(line, "invalid JSON: %v", err)
				}
				env.record = line[it.i:end]
				it.i = end
				continue
			}
		}
		raw := it.skip()
		if raw == nil {
			break
		}
		switch {
		case bytes.Equal(key, keyType):
			env.typ = raw
		case bytes.Equal(key, keyStream):
			env.stream = raw
		case bytes.Equal(key, keyRecord):
			env.record = raw
		case bytes.Equal(key, keySchema):
			env.schema = raw
		case bytes.Equal(key, keyKeyProperties):
			env.keys, env.hasKeys = raw, true
		case bytes.Equal(key, keyBookmarkProperties):
			env.bkeys = raw
		case bytes.Equal(key, keyValue):
			env.value = raw
		case bytes.Equal(key, keyVersion):
			env.version = raw
		case bytes.Equal(key, keyTimeExtracted):
			env.extracted = raw
		case bytes.Equal(key, keyEncoding):
			env.encoding = raw
		case bytes.Equal(key, keyManifest):
			env.manifest = raw
		}
	}
	if it.err != nil {
		return false, d.fail(line, "invalid JSON: %v", it.err)
	}
	if rest := skipWS(line, it.i); rest != len(line) {
		return false, d.fail(line, "invalid JSON: unexpected data after the message at byte %d", rest+1)
	}
	return false, nil
}

// build checks the members of a whole envelope and fills the message.
func (d *Decoder) build(env *envelope) error {
	m := &d.msg
	line := env.line
	typ, stream, record, schema, keys, bkeys, value, version, extracted, encoding, manifest, hasKeys :=
		env.typ, env.stream, env.record, env.schema, env.keys, env.bkeys, env.value, env.version, env.extracted, env.encoding, env.manifest, env.hasKeys
	if typ == nil {
		return d.fail(line, `message has no "type"`)
	}
	if typ[0] != '"' {
		return d.fail(line, `"type" must be a string`)
	}
	m.Type = parseMessageType(typ[1 : len(typ)-1])
	if m.Type == TypeUnknown {
		name := string(typ[1 : len(typ)-1])
		if d.Strict {
			return d.fail(line, "unknown message type %q (known: SCHEMA, RECORD, STATE, ACTIVATE_VERSION, BATCH)", name)
		}
		if !d.warned[name] {
			d.warned[name] = true
			if d.Warn != nil {
				d.Warn(fmt.Sprintf("line %d: skipping messages of unknown type %q", d.line, name))
			}
		}
		return errSkip{}
	}
	needStream := func() error {
		if stream == nil {
			return d.fail(line, `%s message has no "stream"`, m.Type)
		}
		if stream[0] != '"' {
			return d.fail(line, `%s "stream" must be a string`, m.Type)
		}
		m.Stream = d.intern(stream)
		if m.Stream == "" {
			return d.fail(line, `%s "stream" is empty`, m.Type)
		}
		return nil
	}
	switch m.Type {
	case TypeRecord:
		if err := needStream(); err != nil {
			return err
		}
		if record == nil {
			return d.fail(line, `RECORD for stream %q has no "record"`, m.Stream)
		}
		if record[0] != '{' {
			return d.fail(line, `RECORD for stream %q: "record" must be a JSON object`, m.Stream)
		}
		m.Record = record
		if extracted != nil && !isNull(extracted) {
			if extracted[0] != '"' {
				return d.fail(line, `RECORD for stream %q: "time_extracted" must be an RFC 3339 string`, m.Stream)
			}
			m.TimeExtracted = unquoteRaw(extracted)
		}
		if version != nil && !isNull(version) {
			v, err := parseVersion(version)
			if err != nil {
				return d.fail(line, "RECORD for stream %q: %v", m.Stream, err)
			}
			m.Version, m.HasVersion = v, true
		}
	case TypeSchema:
		if err := needStream(); err != nil {
			return err
		}
		if schema == nil || schema[0] != '{' {
			return d.fail(line, `SCHEMA for stream %q: "schema" must be a JSON object`, m.Stream)
		}
		m.Schema = schema
		if !hasKeys {
			return d.fail(line, `SCHEMA for stream %q has no "key_properties" (use [] when the stream has no key)`, m.Stream)
		}
		var err error
		if m.KeyProperties, err = appendStringArray(m.KeyProperties, keys); err != nil {
			return d.fail(line, `SCHEMA for stream %q: "key_properties" %v`, m.Stream, err)
		}
		if bkeys != nil {
			if m.BookmarkProperties, err = appendStringArray(m.BookmarkProperties, bkeys); err != nil {
				return d.fail(line, `SCHEMA for stream %q: "bookmark_properties" %v`, m.Stream, err)
			}
		}
	case TypeState:
		if value == nil {
			return d.fail(line, `STATE message has no "value"`)
		}
		if value[0] != '{' {
			return d.fail(line, `STATE "value" must be a JSON object`)
		}
		m.Value = value
	case TypeActivateVersion:
		if err := needStream(); err != nil {
			return err
		}
		if version == nil {
			return d.fail(line, `ACTIVATE_VERSION for stream %q has no "version"`, m.Stream)
		}
		v, err := parseVersion(version)
		if err != nil {
			return d.fail(line, "ACTIVATE_VERSION for stream %q: %v", m.Stream, err)
		}
		m.Version, m.HasVersion = v, true
	case TypeBatch:
		if err := needStream(); err != nil {
			return err
		}
		if encoding == nil || json.Unmarshal(encoding, &m.Encoding) != nil || m.Encoding.Format == "" {
			return d.fail(line, `BATCH for stream %q needs "encoding": {"format": "jsonl", "compression": "gzip"|"none"}`, m.Stream)
		}
		var err error
		if manifest == nil {
			return d.fail(line, `BATCH for stream %q has no "manifest"`, m.Stream)
		}
		if m.Manifest, err = appendStringArray(m.Manifest, manifest); err != nil {
			return d.fail(line, `BATCH for stream %q: "manifest" %v`, m.Stream, err)
		}
	}
	return nil
}

func isNull(raw []byte) bool { return len(raw) == 4 && string(raw) == "null" }

// unquoteRaw returns the content of a string literal, unescaped when needed.
func unquoteRaw(raw []byte) []byte {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body
	}
	return appendUnescaped(nil, body)
}

func (d *Decoder) intern(raw []byte) string {
	body := raw[1 : len(raw)-1]
	if s, ok := d.streams[string(body)]; ok {
		return s
	}
	s := string(unquoteRaw(raw))
	d.streams[string(body)] = s
	return s
}

func parseVersion(raw []byte) (int64, error) {
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// Some taps write versions as floats with an integral value.
		if f, ferr := strconv.ParseFloat(string(raw), 64); ferr == nil && f == float64(int64(f)) {
			return int64(f), nil
		}
		return 0, fmt.Errorf(`"version" must be an integer, got %s`, raw)
	}
	return v, nil
}

// appendStringArray decodes a JSON array of strings.
func appendStringArray(dst []string, raw []byte) ([]string, error) {
	if isNull(raw) {
		return dst, nil
	}
	if raw[0] != '[' {
		return dst, errors.New("must be an array of strings")
	}
	i := skipWS(raw, 1)
	if raw[i] == ']' {
		return dst, nil
	}
	for {
		if raw[i] != '"' {
			return dst, errors.New("must be an array of strings")
		}
		end, _, err := scanString(raw, i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, string(unquoteRaw(raw[i:end])))
		i = skipWS(raw, end)
		if raw[i] == ']' {
			return dst, nil
		}
		i = skipWS(raw, i+1) // ',' (the syntax was checked already)
	}
}
