package singerlog

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCompressor: each compression round-trips through the reader's
// decoder; a body compression would not shrink, or under 1 KB, goes as it
// is; the copy
// handed out never shares the compressor's scratch buffer.
func TestCompressor(t *testing.T) {
	lines := []byte(strings.Repeat(`{"type":"RECORD","stream":"s","record":{"id":1,"name":"x"}}`+"\n", 200))
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var d decompressor
	defer d.close()
	for _, name := range []string{CompressionS2, CompressionZstd} {
		c, err := newCompressor(name)
		if err != nil {
			t.Fatal(err)
		}
		body, enc := c.compress(lines)
		if enc != name || len(body) >= len(lines)/4 {
			t.Errorf("%s: encoding %q, %d bytes of %d", name, enc, len(body), len(lines))
		}
		first := bytes.Clone(body)
		if _, enc := c.compress(random); enc != "" {
			t.Errorf("%s: random bytes were sent compressed", name)
		}
		if !bytes.Equal(body, first) {
			t.Errorf("%s: a later batch changed an earlier batch's body", name)
		}
		got, err := d.decode(enc, body)
		if err != nil || !bytes.Equal(got, lines) {
			t.Errorf("%s: decoded %d bytes (%v), want the %d of the lines", name, len(got), err, len(lines))
		}
		plain, enc := c.compress(random)
		if enc != "" || !bytes.Equal(plain, random) {
			t.Errorf("%s: random bytes came back as %q and %d bytes", name, enc, len(plain))
		}
		c.close()
	}
	c, _ := newCompressor(CompressionS2)
	if small, enc := c.compress(lines[:compressMin-1]); enc != "" || !bytes.Equal(small, lines[:compressMin-1]) {
		t.Errorf("a body under compressMin was sent as %q", enc)
	}
	if c, err := newCompressor(CompressionNone); c != nil || err != nil {
		t.Errorf("none: %v, %v", c, err)
	}
	if _, err := newCompressor("lz9"); err == nil || err.Error() != `compression "lz9": must be "s2", "zstd" or "none"` {
		t.Errorf("lz9: %v", err)
	}
}

// TestDecodeLimit: a body that decodes to more than the limit is refused
// in either encoding, before or while it is decoded.
func TestDecodeLimit(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 5000)
	d := decompressor{limit: 4096}
	defer d.close()
	for _, name := range []string{CompressionS2, CompressionZstd} {
		c, _ := newCompressor(name)
		body, enc := c.compress(big)
		c.close()
		_, err := d.decode(enc, body)
		want := "the body would decode to 5000 bytes, more than a writer's message holds (4096): a corrupt message"
		if name == CompressionZstd {
			want = "the body would decode to more than 4096 bytes, more than a writer's message holds: a corrupt message"
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
}
