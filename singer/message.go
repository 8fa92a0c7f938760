package singer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// MessageType is the kind of a Singer message.
type MessageType uint8

// The Singer message types. TypeBatch is the Meltano extension that points at
// files of records instead of carrying them inline.
const (
	TypeUnknown MessageType = iota
	TypeSchema
	TypeRecord
	TypeState
	TypeActivateVersion
	TypeBatch
)

var typeNames = [...]string{"UNKNOWN", "SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH"}

func (t MessageType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", t)
}

// parseMessageType matches a "type" value case-insensitively, as the spec says.
func parseMessageType(b []byte) MessageType {
	for t := TypeSchema; t <= TypeBatch; t++ {
		if bytes.EqualFold(b, []byte(typeNames[t])) {
			return t
		}
	}
	return TypeUnknown
}

// Message is one decoded input line. The Decoder reuses a single Message: its
// byte slices point into the decoder's line buffer and are valid only until
// the next call to Next. Copy what must outlive the line.
type Message struct {
	Type MessageType
	Line int64 // 1-based input line number

	Stream string // SCHEMA, RECORD, ACTIVATE_VERSION, BATCH

	// RECORD
	Record        []byte // the raw JSON object (with RecordOpen: from the object to the end of the line)
	RecordOpen    bool   // Decoder.OpenRecords left the record for FinishRecord
	Version       int64
	HasVersion    bool
	TimeExtracted []byte // raw RFC 3339 text without quotes; nil when absent

	// SCHEMA
	Schema             []byte // the raw JSON schema object
	KeyProperties      []string
	BookmarkProperties []string

	// STATE
	Value []byte // the raw JSON object of the state

	// BATCH
	Encoding BatchEncoding
	Manifest []string

	Raw []byte // the whole line, without its newline
}

// BatchEncoding describes the files of a BATCH message.
type BatchEncoding struct {
	Format      string `json:"format"`      // "jsonl"
	Compression string `json:"compression"` // "gzip" or "none"
}

// ExtractedAt parses time_extracted. ok is false when the record has none.
func (m *Message) ExtractedAt() (t time.Time, ok bool, err error) {
	if m.TimeExtracted == nil {
		return time.Time{}, false, nil
	}
	t, err = time.Parse(time.RFC3339Nano, string(m.TimeExtracted))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("time_extracted %q is not an RFC 3339 timestamp", m.TimeExtracted)
	}
	return t, true, nil
}

// SchemaMessage is a SCHEMA message as taps write it.
type SchemaMessage struct {
	Stream             string          `json:"stream"`
	Schema             json.RawMessage `json:"schema"`
	KeyProperties      []string        `json:"key_properties"`
	BookmarkProperties []string        `json:"bookmark_properties,omitempty"`
}

// RecordMessage is a RECORD as taps write it. Record holds the JSON object.
type RecordMessage struct {
	Stream        string
	Record        json.RawMessage
	Version       int64
	HasVersion    bool
	TimeExtracted time.Time // zero: omitted
}
