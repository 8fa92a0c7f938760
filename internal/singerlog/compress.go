package singerlog

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Body encodings: the Singer-Encoding header of a message whose body the
// engine compressed. A message without the header holds the lines as they
// are.
const (
	EncodingS2   = "s2"   // S2 block format (github.com/klauspost/compress/s2)
	EncodingZstd = "zstd" // one Zstandard frame
)

// Compression settings of WriteOptions: which encoding Write gives the
// bodies of its batches of records.
const (
	CompressionNone = "none"
	CompressionS2   = EncodingS2
	CompressionZstd = EncodingZstd
)

// compressMin is the smallest body worth compressing: below it the saving
// is a few bytes against a message's headers, and a lone record stays
// readable as it is in the topic.
const compressMin = 1024

// maxDecoded bounds what one message's body may decode to: a writer's
// batch is at most the log's message size (NATS allows 64 MB at most), so
// a body that claims more is corrupt, not a batch to allocate room for.
const maxDecoded = 128 << 20

// compressor compresses batch bodies into a buffer kept for the run, and
// hands out a copy of the exact size: encoding into a fresh buffer would
// allocate (and hold, while the message is in flight) the worst case of
// every batch.
type compressor struct {
	encoding string
	scratch  []byte
	zstd     *zstd.Encoder
}

// newCompressor returns the compressor of a compression setting; nil for
// "none" or "".
func newCompressor(compression string) (*compressor, error) {
	switch compression {
	case "", CompressionNone:
		return nil, nil
	case CompressionS2:
		return &compressor{encoding: EncodingS2}, nil
	case CompressionZstd:
		// The fastest level: the log's readers and writers share the
		// machines of the pipeline, and level 1 already stores a third
		// of what S2 does for Singer records (docs/target-nats.md).
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		return &compressor{encoding: EncodingZstd, zstd: enc}, nil
	}
	return nil, fmt.Errorf("compression %q: must be %q, %q or %q", compression, CompressionS2, CompressionZstd, CompressionNone)
}

// compress returns a new copy of src, compressed, and its encoding; or,
// when src is under compressMin or compressing does not make it smaller
// (random bytes), a plain copy and "".
func (c *compressor) compress(src []byte) ([]byte, string) {
	if c == nil || len(src) < compressMin {
		return bytes.Clone(src), ""
	}
	var out []byte
	switch c.encoding {
	case EncodingS2:
		if n := s2.MaxEncodedLen(len(src)); cap(c.scratch) < n {
			c.scratch = make([]byte, n)
		}
		out = s2.Encode(c.scratch[:cap(c.scratch)], src)
	case EncodingZstd:
		out = c.zstd.EncodeAll(src, c.scratch[:0])
		c.scratch = out[:0]
	}
	if len(out) >= len(src) {
		return bytes.Clone(src), ""
	}
	return bytes.Clone(out), c.encoding
}

// close releases the encoder.
func (c *compressor) close() {
	if c != nil && c.zstd != nil {
		c.zstd.Close()
	}
}

// decompressor decodes message bodies into a buffer it reuses: the body it
// returns is valid until the next call.
type decompressor struct {
	buf  []byte
	zstd *zstd.Decoder
	// limit bounds a decoded body (maxDecoded when 0).
	limit int
}

// decode returns body decoded from encoding ("" returns body).
func (d *decompressor) decode(encoding string, body []byte) ([]byte, error) {
	switch encoding {
	case "":
		return body, nil
	case EncodingS2:
		n, err := s2.DecodedLen(body)
		if err != nil {
			return nil, fmt.Errorf("the body is not S2 data: %w", err)
		}
		if n > d.max() {
			return nil, d.tooLarge(n)
		}
		if cap(d.buf) < n {
			d.buf = make([]byte, n)
		}
		out, err := s2.Decode(d.buf[:cap(d.buf)], body)
		if err != nil {
			return nil, fmt.Errorf("the body is not S2 data: %w", err)
		}
		return out, nil
	case EncodingZstd:
		if d.zstd == nil {
			dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(d.max())), zstd.WithDecoderLowmem(true))
			if err != nil {
				return nil, err
			}
			d.zstd = dec
		}
		out, err := d.zstd.DecodeAll(body, d.buf[:0])
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, d.tooLarge(-1)
		}
		if err != nil {
			return nil, fmt.Errorf("the body is not Zstandard data: %w", err)
		}
		d.buf = out[:0]
		return out, nil
	}
	return nil, fmt.Errorf("the body's %s is %q, which this reader does not know (it reads %q and %q): was it written by a newer target? upgrade this tap", HeaderEncoding, encoding, EncodingS2, EncodingZstd)
}

func (d *decompressor) max() int {
	if d.limit > 0 {
		return d.limit
	}
	return maxDecoded
}

// tooLarge is the error of a body that decodes to n bytes (-1: more than
// the limit, as the decoder found on the way), more than a writer sends
// in one message.
func (d *decompressor) tooLarge(n int) error {
	if n < 0 {
		return fmt.Errorf("the body would decode to more than %d bytes, more than a writer's message holds: a corrupt message", d.max())
	}
	return fmt.Errorf("the body would decode to %d bytes, more than a writer's message holds (%d): a corrupt message", n, d.max())
}

// close releases the decoder's goroutines.
func (d *decompressor) close() {
	if d.zstd != nil {
		d.zstd.Close()
	}
}
