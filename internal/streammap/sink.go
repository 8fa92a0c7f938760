package streammap

import (
	"encoding/json"
	"errors"

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
	switch msg.Type {
	case singer.TypeRecord:
		if in := m.streams[msg.Stream]; in != nil {
			// A stream the maps pass untouched goes to the sink as it
			// came: the sink decodes it once, as it decodes any record.
			if len(in.outputs) == 1 && in.outputs[0].identity && in.outputs[0].name == in.name {
				return sink.Pass(msg)
			}
			if in.row != nil {
				err := sink.(RowSink).RowRecord(msg, in.row)
				if err != ErrNotRows {
					return err
				}
				in.row = nil // as bytes from now on
			}
		}
	case singer.TypeSchema:
		e := &sinkEmitter{sink: sink, cur: msg}
		if err := m.apply(msg, e, finish); err != nil {
			return err
		}
		rs, ok := sink.(RowSink)
		if !ok {
			return nil
		}
		rm := m.rowMap(msg, e.schema, rs.SchemaOptions())
		if rm == nil {
			return nil
		}
		took, err := rs.RowSchema(e.schema, rm)
		if took {
			m.streams[msg.Stream].row = rm
		}
		return err
	}
	return m.apply(msg, &sinkEmitter{sink: sink, cur: msg}, finish)
}

// ErrNotRows is what RowSink.RowRecord returns, before it reads the
// record, when it can no longer map the stream's records on values: they
// are mapped as bytes from then on.
var ErrNotRows = errors.New("streammap: records mapped as bytes")

// sinkEmitter is the Emitter of ApplyTo: it turns what apply writes back
// into messages for the sink.
type sinkEmitter struct {
	sink   Sink
	cur    *singer.Message
	schema *singer.Message // the last mapped SCHEMA written
}

func (e *sinkEmitter) WriteSchema(s singer.SchemaMessage) error {
	e.schema = &singer.Message{
		Type:               singer.TypeSchema,
		Line:               e.cur.Line,
		Stream:             s.Stream,
		Schema:             s.Schema,
		KeyProperties:      s.KeyProperties,
		BookmarkProperties: s.BookmarkProperties,
		Raw:                e.cur.Raw,
	}
	return e.sink.Schema(e.schema)
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
