package streammap

import (
	"encoding/json"

	"github.com/singerkit/singerkit/singer"
)

// This file is the fourth place maps run: inside a target that decodes
// its own input (the SQL targets' engine). The target hands each message
// it decoded to ApplyTo and receives the mapped messages as values: no
// line is written, piped and parsed again.

// Sink receives what a Mapper makes of the messages a target decoded.
type Sink interface {
	// Schema receives the SCHEMA of each stream the maps write, mapped or
	// as it came, in the input's order.
	Schema(msg *singer.Message) error
	// Record receives a record the maps rewrote: the stream it belongs to
	// now and its JSON object (valid until the next call). msg is the
	// input RECORD, finished: its version, time_extracted and line number
	// are the mapped record's.
	Record(msg *singer.Message, stream string, rec []byte) error
	// Pass receives a message the maps leave as it is: a RECORD of a
	// stream no map changes (left open, if the decoder left it so: the
	// sink finishes it as it finishes its own), a STATE, an
	// ACTIVATE_VERSION or BATCH (its stream renamed by the maps'
	// __alias__), a message of an unknown type.
	Pass(msg *singer.Message) error
}

// ApplyTo maps one message decoded by the sink's own decoder; finish is
// the decoder's FinishRecord (the decoder may leave records open, as
// singer.Decoder.OpenRecords does).
func (m *Mapper) ApplyTo(msg *singer.Message, finish func(n int) error, sink Sink) error {
	if msg.Type == singer.TypeRecord {
		// A stream the maps pass untouched goes to the sink as it came:
		// the sink decodes it once, as it decodes any record.
		if in := m.streams[msg.Stream]; in != nil && len(in.outputs) == 1 && in.outputs[0].identity && in.outputs[0].name == in.name {
			return sink.Pass(msg)
		}
	}
	e := &sinkEmitter{sink: sink, cur: msg}
	return m.apply(msg, e, finish)
}

// sinkEmitter is the Emitter of ApplyTo: it turns what apply writes back
// into messages for the sink.
type sinkEmitter struct {
	sink Sink
	cur  *singer.Message
}

func (e *sinkEmitter) WriteSchema(s singer.SchemaMessage) error {
	return e.sink.Schema(&singer.Message{
		Type:               singer.TypeSchema,
		Line:               e.cur.Line,
		Stream:             s.Stream,
		Schema:             s.Schema,
		KeyProperties:      s.KeyProperties,
		BookmarkProperties: s.BookmarkProperties,
		Raw:                e.cur.Raw,
	})
}

func (e *sinkEmitter) WriteState(json.RawMessage) error { return e.sink.Pass(e.cur) }

func (e *sinkEmitter) WriteActivateVersion(stream string, version int64) error {
	msg := *e.cur
	msg.Stream, msg.Version = stream, version
	return e.sink.Pass(&msg)
}

// WriteRaw is called with the input line itself: a SCHEMA or RECORD of a
// stream passed as it is, a BATCH, a message of an unknown type.
func (e *sinkEmitter) WriteRaw([]byte) error {
	if e.cur.Type == singer.TypeSchema {
		return e.sink.Schema(e.cur)
	}
	return e.sink.Pass(e.cur)
}

// writeRecordTo hands a rewritten record to a sink; false when out is not
// a sink.
func writeRecordTo(out Emitter, msg *singer.Message, stream string, rec []byte) (bool, error) {
	e, ok := out.(*sinkEmitter)
	if !ok {
		return false, nil
	}
	return true, e.sink.Record(msg, stream, rec)
}
