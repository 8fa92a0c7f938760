package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// record is one accepted record of a table: its sequence and its data as
// one compact JSON object.
type record struct {
	seq  int64
	data []byte
}

// tableRecords is a request's records of one table.
type tableRecords struct {
	schema  *tableSchema
	records []record
}

// builder turns an accepted request into log messages with ids made from
// the request's key: the same request builds the same messages.
type builder struct {
	key      string // the request's id prefix
	producer string
	now      time.Time
	maxBytes int
	msgs     []*singerlog.Message
	body     []byte // the message being filled
	typ      singer.MessageType
	stream   string
}

// requestKey makes the id prefix of a request's messages: the token, the
// topic and the client's Idempotency-Key, or the body's hash without one.
func requestKey(token, topic, idempotencyKey string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(token))
	h.Write([]byte{0})
	h.Write([]byte(topic))
	h.Write([]byte{0})
	if idempotencyKey != "" {
		h.Write([]byte{'k'})
		h.Write([]byte(idempotencyKey))
	} else {
		b := sha256.Sum256(body)
		h.Write([]byte{'b'})
		h.Write(b[:])
	}
	return "gate-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func newBuilder(key, producer string, maxBytes int, now time.Time) *builder {
	return &builder{key: key, producer: producer, maxBytes: maxBytes, now: now}
}

// flush ends the message being filled.
func (b *builder) flush() {
	if len(b.body) == 0 {
		return
	}
	b.msgs = append(b.msgs, &singerlog.Message{
		ID:        b.key + "." + strconv.Itoa(len(b.msgs)),
		Type:      b.typ,
		Stream:    b.stream,
		Producer:  b.producer,
		WrittenAt: b.now,
		Body:      b.body,
	})
	b.body = nil
}

// single adds a message of one line.
func (b *builder) single(typ singer.MessageType, stream string, line []byte) {
	b.flush()
	b.typ, b.stream, b.body = typ, stream, line
	b.flush()
}

// table adds a table's records: messages that each begin with the
// table's SCHEMA line (so each is whole on its own; a repeated identical
// SCHEMA changes nothing downstream) followed by RECORD lines, up to
// maxBytes a message.
func (b *builder) table(t *tableSchema, recs []record) {
	b.flush()
	prefix := `{"type":"RECORD","stream":` + quote(t.table) + `,"record":`
	for _, r := range recs {
		n := len(prefix) + len(r.data) + 2
		if len(b.body) > 0 && len(b.body)+n > b.maxBytes {
			b.flush()
		}
		if len(b.body) == 0 {
			b.typ, b.stream = singer.TypeSchema, t.table
			b.body = make([]byte, 0, min(b.maxBytes, len(t.line)+len(recs)*n))
			b.body = append(b.body, t.line...)
		}
		b.body = append(b.body, '\n')
		b.body = append(b.body, prefix...)
		b.body = append(b.body, r.data...)
		b.body = append(b.body, '}')
	}
	b.flush()
}

// line adds a Singer line of a stream to the message being filled when it
// is a RECORD of the same stream and fits; otherwise starts a message.
func (b *builder) line(typ singer.MessageType, stream string, line []byte) {
	if len(b.body) > 0 && typ == singer.TypeRecord && (b.typ == singer.TypeRecord || b.typ == singer.TypeSchema) &&
		stream == b.stream && len(b.body)+1+len(line) <= b.maxBytes {
		b.body = append(b.body, '\n')
		b.body = append(b.body, line...)
		return
	}
	b.flush()
	b.typ, b.stream = typ, stream
	b.body = append(make([]byte, 0, max(len(line), 4096)), line...)
	if typ != singer.TypeRecord && typ != singer.TypeSchema {
		b.flush()
	}
}

// state adds the STATE of an Import API request: the last sequence of
// each of its tables.
func (b *builder) state(tables []*tableRecords) {
	type seq struct {
		Sequence int64 `json:"sequence"`
	}
	bm := make(map[string]seq, len(tables))
	for _, t := range tables {
		var last int64
		for _, r := range t.records {
			last = max(last, r.seq)
		}
		if s, ok := bm[t.schema.table]; !ok || s.Sequence < last {
			bm[t.schema.table] = seq{last}
		}
	}
	v, _ := json.Marshal(map[string]any{"type": "STATE", "value": map[string]any{"bookmarks": bm}})
	b.single(singer.TypeState, "", v)
}

// quote is a table name as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
