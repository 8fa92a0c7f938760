package jsonl

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/batchfile"

	"github.com/singerkit/singerkit/internal/config"
)

// Config is target-jsonl's config (schemas/target-jsonl.config.json).
type Config struct {
	// DestinationPath is the directory of the stream files.
	DestinationPath string `json:"destination_path"`
	// FileNaming chooses the file name of a stream; "stream" is FileName.
	FileNaming string `json:"file_naming"`
	// ValidateRecords validates each record against its stream's schema.
	ValidateRecords bool `json:"validate_records"`
	// AddMetadataColumns adds the _sdc_* properties to each record.
	AddMetadataColumns bool `json:"add_metadata_columns"`
	// Fsync makes every commit durable with fsync.
	Fsync bool `json:"fsync"`
	// BatchSizeRows is how many records may be written between commits.
	BatchSizeRows int `json:"batch_size_rows"`
	// BatchRoots are the directories BATCH files may be read from.
	BatchRoots []string `json:"batch_roots"`
}

// DefaultConfig returns the config with every default of the config schema.
func DefaultConfig() Config {
	return Config{
		FileNaming:      "stream",
		ValidateRecords: true,
		Fsync:           true,
		BatchSizeRows:   10000,
	}
}

// decodeConfig applies a validated config over the defaults.
func decodeConfig(c *config.Config) (Config, error) {
	cfg := DefaultConfig()
	if err := c.Decode(&cfg); err != nil {
		return Config{}, err
	}
	// The schema enforces these; checked again for callers that skip it.
	if cfg.DestinationPath == "" {
		return Config{}, &config.Error{Problems: []string{"destination_path: is required"}}
	}
	if cfg.BatchSizeRows < 1 {
		return Config{}, &config.Error{Problems: []string{"batch_size_rows: must be at least 1"}}
	}
	if _, err := batchfile.NewRoots(cfg.BatchRoots); err != nil {
		return Config{}, err
	}
	if cfg.FileNaming != "stream" {
		return Config{}, &config.Error{Problems: []string{`file_naming: must be "stream"`}}
	}
	return cfg, nil
}

// maxNameBytes bounds the escaped stream name so that the file name, with
// its suffix, fits the 255-byte limit of common file systems.
const maxNameBytes = 200

// FileName returns the file name of a stream: the stream name made safe for
// a file system, then ".jsonl". ASCII letters and digits, '-', '_', '.' and
// Unicode letters, marks and digits are kept; every other byte becomes %XX
// (upper-case hex), as does a leading '.', so the name has no path
// separator, is never "." or "..", and never a hidden file. The mapping is
// stable and injective ('%' itself is escaped). A name longer than 200
// bytes once escaped is cut there and gets "~" and the first 16 hex digits
// of the SHA-256 of the stream name ('~' never appears otherwise).
func FileName(stream string) string {
	b := make([]byte, 0, len(stream)+len(".jsonl"))
	cut := -1 // length of b at the last boundary within maxNameBytes
	for i := 0; i < len(stream); {
		if len(b) <= maxNameBytes {
			cut = len(b)
		}
		r, size := utf8.DecodeRuneInString(stream[i:])
		if keepInName(r, size, i) {
			b = append(b, stream[i:i+size]...)
		} else {
			for j := i; j < i+size; j++ {
				b = append(b, '%', hexUpper[stream[j]>>4], hexUpper[stream[j]&0xF])
			}
		}
		i += size
	}
	if len(b) > maxNameBytes {
		sum := sha256.Sum256([]byte(stream))
		b = append(b[:cut], '~')
		b = append(b, hex.EncodeToString(sum[:8])...)
	}
	return string(append(b, ".jsonl"...))
}

const hexUpper = "0123456789ABCDEF"

func keepInName(r rune, size, at int) bool {
	if r == utf8.RuneError && size == 1 {
		return false
	}
	switch {
	case r == '.':
		return at > 0
	case r == '-' || r == '_':
		return true
	case r < utf8.RuneSelf:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)
}
