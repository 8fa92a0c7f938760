package postgres

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/chunkbuf"
)

// plainDecimal is the text the fast encoder must take (when the column
// does): JSON numbers without an exponent, and decimal strings.
var plainDecimal = regexp.MustCompile(`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// TestNumericPlainMatchesGeneral: the fast encoder of plain decimal text
// writes exactly the bytes of the general one (whose output PostgreSQL
// checks in TestNumericEncoding), takes the values a numeric(p,s) column
// refuses back to it, and leaves exponents to it.
func TestNumericPlainMatchesGeneral(t *testing.T) {
	texts := []string{"0", "-0", "+0", "00", "0.0", "-0.000", "1", "-1", "+7", "10000", "9999", "99990000", "0.0001", "0.00001",
		"123456789.123456789", "-0.5", "1.10", "100000000", "0.1000", "1000.0001", "0001.5", "12345678901234567890.123456789",
		"99999999999999999999999999999999999999", "0.00000000", "5.", ".5", "-.25", "1e3", "1.5E-3", "", "-", ".", "1.2.3", "1a"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteByte('-')
		}
		for range rng.IntN(12) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			b.WriteByte('.')
			for range rng.IntN(12) {
				b.WriteByte(byte([]int{0, 0, 0, 1, 5, 9}[rng.IntN(6)] + '0'))
			}
		}
		texts = append(texts, b.String())
	}
	encs := []encoder{{kind: physNumeric, name: "n", scale: -1}}
	for _, ps := range [][2]int{{10, 2}, {12, 4}, {5, 0}, {4, 4}, {38, 10}} {
		encs = append(encs, encoder{kind: physNumeric, name: "n", scale: ps[1], intMax: ps[0] - ps[1]})
	}
	for _, c := range encs {
		b := newCopyBatch(nil, []encoder{c}, nil, chunkbuf.NewPool(0))
		for _, text := range texts {
			want, wantErr := b.appendNumeric([]byte("prefix"), &c, []byte(text))
			got, ok := appendNumericPlain([]byte("prefix"), &c, []byte(text))
			name := fmt.Sprintf("numeric scale %d, intMax %d: %q", c.scale, c.intMax, text)
			switch {
			case !ok:
				if string(got) != "prefix" {
					t.Errorf("%s: declined, but wrote %x", name, got)
				}
				if wantErr == nil && plainDecimal.MatchString(text) {
					t.Errorf("%s: declined a value the general encoder takes", name)
				}
			case wantErr != nil:
				t.Errorf("%s: encoded %x, the general encoder refuses it: %v", name, got, wantErr)
			case !bytes.Equal(got, want):
				t.Errorf("%s:\n got %x\nwant %x", name, got, want)
			}
		}
	}
}

// BenchmarkNumeric encodes the decimals of singer gen's flat shape with
// the general encoder and with the plain-text one (what Append uses).
func BenchmarkNumeric(b *testing.B) {
	texts := [][]byte{[]byte("318.33"), []byte("2773.76"), []byte("9.57"), []byte("-81.6125"), []byte("7399.338"), []byte("42"), []byte("0.0815"), []byte("1234567.5")}
	c := encoder{kind: physNumeric, name: "n", scale: -1}
	batch := newCopyBatch(nil, []encoder{c}, nil, chunkbuf.NewPool(0))
	buf := make([]byte, 0, 64)
	b.Run("general", func(b *testing.B) {
		i := 0
		for b.Loop() {
			buf, _ = batch.appendNumeric(buf[:0], &c, texts[i%len(texts)])
			i++
		}
	})
	b.Run("plain", func(b *testing.B) {
		i := 0
		for b.Loop() {
			buf, _ = appendNumericPlain(buf[:0], &c, texts[i%len(texts)])
			i++
		}
	})
}
