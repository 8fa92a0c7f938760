package singerlog

import (
	"time"

	"github.com/singerkit/singerkit/singer"
)

// The envelope: header names every backend writes on each log message.
// The unique id travels in the backend's own deduplication header where it
// has one (NATS: Nats-Msg-Id) and in HeaderID otherwise.
const (
	HeaderID        = "Singer-Id"
	HeaderProducer  = "Singer-Producer"
	HeaderStream    = "Singer-Stream"
	HeaderType      = "Singer-Type"
	HeaderWrittenAt = "Singer-Written-At"
	// HeaderEncoding names the compression of a body (EncodingS2,
	// EncodingZstd); a message without it holds its lines as they are.
	HeaderEncoding = "Singer-Encoding"
)

// Message is one log message: a Singer message line and its envelope.
type Message struct {
	// Position is where the message is in the log (set by a Source; a
	// Writer learns it from the Ack).
	Position uint64
	// ID is unique to the message; a backend deduplicates retried
	// publishes by it.
	ID        string
	Type      singer.MessageType
	Stream    string // "" for STATE
	Producer  string
	WrittenAt time.Time
	// Body is the Singer message exactly as the tap wrote it, without the
	// newline (several RECORD lines joined by newlines in a batch),
	// compressed when Encoding is set.
	Body []byte
	// Encoding is the compression of Body: "" (none), EncodingS2 or
	// EncodingZstd.
	Encoding string
}

// TypeName is the Singer-Type header value of a message type.
func TypeName(t singer.MessageType) string { return t.String() }

// ParseType reads a Singer-Type header value; TypeUnknown when it is none
// of the Singer message types.
func ParseType(s string) singer.MessageType {
	for _, t := range [...]singer.MessageType{singer.TypeRecord, singer.TypeSchema, singer.TypeState, singer.TypeActivateVersion, singer.TypeBatch} {
		if t.String() == s {
			return t
		}
	}
	return singer.TypeUnknown
}

// FormatTime is the Singer-Written-At header's format.
const FormatTime = time.RFC3339Nano

// ProducerName names a writer or reader in the log's envelope: the binary,
// and the host it runs on when known (binary@host).
func ProducerName(binary, host string) string {
	if host == "" {
		return binary
	}
	return binary + "@" + host
}
