package postgres

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// This file writes PostgreSQL's binary COPY format straight from the values
// the schema plan yields: no []any per row, no reflection, one append per
// field. https://www.postgresql.org/docs/current/sql-copy.html (binary format).

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// pgEpoch is 2000-01-01, the origin of binary dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	// Binary COPY encodes infinity as the extreme int64/int32 values.
	infinityMicros = math.MaxInt64
	infinityDays   = math.MaxInt32
)

// physKind is how a column's values are encoded, from its actual type.
type physKind uint8

const (
	physText physKind = iota
	physJSONB
	physJSON
	physInt8
	physInt4
	physInt2
	physNumeric
	physBool
	physTimestamptz
	physTimestamp
	physDate
	physTime
	physFloat8
	physFloat4
	physUUID
)

type encoder struct {
	kind   physKind
	name   string
	scale  int // numeric(p,s): -1 when unconstrained
	intMax int // numeric(p,s): digits allowed before the point
}

// copyBatch is a batch in binary COPY format: the tuples, in chunks of the
// dialect's pool (the header and trailer are added as it is read).
type copyBatch struct {
	table *sqltarget.Table
	cols  []encoder
	buf   *chunkbuf.Buffer
	pool  *chunkbuf.Pool
	rows  int
	plan  *loadPlan
	num   []byte // scratch for numeric digits

	// Key tracking: a batch without two records of one key is merged
	// without the server-side DISTINCT ON sort.
	repeats sqltarget.KeyRepeats
}

func newCopyBatch(t *sqltarget.Table, cols []encoder, plan *loadPlan, pool *chunkbuf.Pool) *copyBatch {
	b := &copyBatch{table: t, cols: cols, plan: plan, buf: chunkbuf.New(pool), pool: pool}
	b.repeats = sqltarget.NewKeyRepeats(t)
	b.Reset()
	return b
}

func (b *copyBatch) Table() *sqltarget.Table { return b.table }
func (b *copyBatch) Rows() int               { return b.rows }
func (b *copyBatch) Bytes() int              { return len(copyHeader) + b.buf.Len() }
func (b *copyBatch) Reset() {
	b.buf.Reset()
	b.rows = 0
	b.repeats.Reset()
}
func (b *copyBatch) Fresh() *copyBatch { return newCopyBatch(b.table, b.cols, b.plan, b.pool) }

var copyTrailer = []byte{0xff, 0xff}

// data returns a reader of the COPY stream: header, tuples and trailer.
// Close it before the batch is reset.
func (b *copyBatch) data() *chunkbuf.Reader { return b.buf.Reader(copyHeader, copyTrailer) }

// Append encodes one row. On error the partial tuple is taken back.
func (b *copyBatch) Append(vals []singer.Value) error {
	buf := b.buf.Begin()
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(b.cols)))
	for i := range b.cols {
		var err error
		if buf, err = b.appendField(buf, &b.cols[i], &vals[i]); err != nil {
			b.buf.Abort()
			var we *sqltarget.WidenError
			if errors.As(err, &we) {
				we.Column = i
			}
			return err
		}
	}
	b.buf.Commit(buf)
	b.repeats.Add(vals)
	b.rows++
	return nil
}

func nullField(buf []byte) []byte { return append(buf, 0xff, 0xff, 0xff, 0xff) }

func lenPrefixed(buf []byte, n int) []byte { return binary.BigEndian.AppendUint32(buf, uint32(n)) }

func valueErr(c *encoder, format string, args ...any) error {
	return &sqltarget.ValueError{Column: strconv.Quote(c.name), Msg: fmt.Sprintf(format, args...)}
}

func (b *copyBatch) appendField(buf []byte, c *encoder, v *singer.Value) ([]byte, error) {
	if v.Kind <= singer.Null {
		return nullField(buf), nil
	}
	switch c.kind {
	case physText:
		return appendText(buf, v), nil
	case physJSONB, physJSON:
		start := len(buf)
		buf = lenPrefixed(buf, 0)
		if c.kind == physJSONB {
			buf = append(buf, 1) // jsonb binary version
		}
		buf = appendJSONValue(buf, v)
		binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
		return buf, nil
	case physInt8, physInt4, physInt2:
		n, ok := sqltarget.IntValue(v)
		if !ok {
			if _, integral := sqltarget.IntegerDigits(v); integral {
				if c.kind == physInt8 {
					// bigint widens to numeric, which holds it exactly.
					return buf, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindNumber}, Msg: fmt.Sprintf("%s is beyond bigint", sqltarget.Shown(v))}
				}
				return buf, valueErr(c, "%s is out of range for the column", sqltarget.Shown(v))
			}
			return buf, valueErr(c, "%s is not an integer", sqltarget.Shown(v))
		}
		switch c.kind {
		case physInt8:
			buf = lenPrefixed(buf, 8)
			return binary.BigEndian.AppendUint64(buf, uint64(n)), nil
		case physInt4:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return buf, valueErr(c, "%d is out of range for integer", n)
			}
			buf = lenPrefixed(buf, 4)
			return binary.BigEndian.AppendUint32(buf, uint32(int32(n))), nil
		default:
			if n < math.MinInt16 || n > math.MaxInt16 {
				return buf, valueErr(c, "%d is out of range for smallint", n)
			}
			buf = lenPrefixed(buf, 2)
			return binary.BigEndian.AppendUint16(buf, uint16(int16(n))), nil
		}
	case physNumeric:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return buf, valueErr(c, "%s is not a number", sqltarget.Shown(v))
		}
		if out, ok := appendNumericPlain(buf, c, text); ok {
			return out, nil
		}
		return b.appendNumeric(buf, c, text)
	case physBool:
		if v.Kind != singer.Bool {
			return buf, valueErr(c, "%s is not a boolean", sqltarget.Shown(v))
		}
		buf = lenPrefixed(buf, 1)
		if v.Bool {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case physTimestamptz, physTimestamp:
		us, err := timestampMicros(v)
		if err != nil {
			return buf, valueErr(c, "%v", err)
		}
		buf = lenPrefixed(buf, 8)
		return binary.BigEndian.AppendUint64(buf, uint64(us)), nil
	case physDate:
		d, err := dateDays(v)
		if err != nil {
			return buf, valueErr(c, "%v", err)
		}
		buf = lenPrefixed(buf, 4)
		return binary.BigEndian.AppendUint32(buf, uint32(d)), nil
	case physTime:
		us, err := sqltarget.TimeOfDay(v)
		if err != nil {
			return buf, valueErr(c, "%v", err)
		}
		buf = lenPrefixed(buf, 8)
		return binary.BigEndian.AppendUint64(buf, uint64(us)), nil
	case physFloat8, physFloat4:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return buf, valueErr(c, "%s is not a number", sqltarget.Shown(v))
		}
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return buf, valueErr(c, "%s is out of range for double precision", text)
		}
		if c.kind == physFloat4 {
			buf = lenPrefixed(buf, 4)
			return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(f))), nil
		}
		buf = lenPrefixed(buf, 8)
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
	case physUUID:
		u, ok := parseUUID(v)
		if !ok {
			return buf, valueErr(c, "%s is not a UUID", sqltarget.Shown(v))
		}
		buf = lenPrefixed(buf, 16)
		return append(buf, u[:]...), nil
	}
	return buf, valueErr(c, "unsupported column type")
}

// appendText writes a value as text. The engine has removed NUL characters
// (sqltarget's NUL rule), which PostgreSQL text cannot hold.
func appendText(buf []byte, v *singer.Value) []byte {
	var s []byte
	switch v.Kind {
	case singer.String, singer.Number, singer.Object, singer.Array:
		s = v.Bytes
	case singer.Bool:
		if v.Bool {
			s = []byte("true")
		} else {
			s = []byte("false")
		}
	}
	buf = lenPrefixed(buf, len(s))
	return append(buf, s...)
}

// appendJSONValue writes a value as JSON text: strings encoded, objects and
// arrays as they came (the engine has removed the \u0000 escapes jsonb
// refuses, by sqltarget's NUL rule, without touching any other byte).
func appendJSONValue(buf []byte, v *singer.Value) []byte {
	switch v.Kind {
	case singer.String:
		return singer.AppendJSONBytes(buf, v.Bytes)
	case singer.Bool:
		return strconv.AppendBool(buf, v.Bool)
	}
	return append(buf, v.Bytes...)
}

// appendNumeric encodes decimal text exactly as a binary numeric: base-10000
// digits aligned on the decimal point, dscale = the text's fraction digits.
// A value with more fraction digits than a numeric(p,s) column's scale is an
// error rather than a silent rounding.
func (b *copyBatch) appendNumeric(buf []byte, c *encoder, text []byte) ([]byte, error) {
	neg := false
	i := 0
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		neg = text[i] == '-'
		i++
	}
	// Collect all digits and find the decimal exponent: value = D * 10^exp.
	digits := b.num[:0]
	frac := 0
	seenPoint := false
	for ; i < len(text); i++ {
		ch := text[i]
		if ch >= '0' && ch <= '9' {
			digits = append(digits, ch-'0')
			if seenPoint {
				frac++
			}
			continue
		}
		if ch == '.' {
			seenPoint = true
			continue
		}
		break
	}
	exp := -frac
	if i < len(text) {
		e, err := strconv.Atoi(string(text[i+1:]))
		if err != nil || e > 100000 || e < -100000 {
			return buf, valueErr(c, "%s is out of range for numeric", text)
		}
		exp += e
	}
	b.num = digits
	dscale := 0
	if exp < 0 {
		dscale = -exp
	}
	// Strip leading zeros.
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
	}
	// Significant fraction digits (trailing zeros do not count for the scale check).
	sig := digits
	sigExp := exp
	for len(sig) > 0 && sig[len(sig)-1] == 0 {
		sig = sig[:len(sig)-1]
		sigExp++
	}
	if len(sig) == 0 {
		sigExp = 0 // zero, whatever its zeros: numeric(p,s) holds it
	}
	if c.scale >= 0 {
		if sigExp < 0 && -sigExp > c.scale {
			return buf, valueErr(c, "%s has more than %d decimal places (the column is numeric with scale %d; no silent rounding)", text, c.scale, c.scale)
		}
		if intDigits := len(sig) + sigExp; len(sig) > 0 && intDigits > c.intMax {
			return buf, valueErr(c, "%s does not fit the column (at most %d digits before the decimal point)", text, c.intMax)
		}
		if dscale > c.scale {
			dscale = c.scale
		}
	}
	if dscale > 16383 || len(digits)+exp > 131072 {
		return buf, valueErr(c, "%s is out of range for numeric", text)
	}
	// Position of each digit: digit k (0-based from the left) has power
	// p = len(digits)-1-k+exp. Base-10000 group g holds powers 4g..4g+3.
	var ndigits, weight int
	start := len(buf)
	buf = lenPrefixed(buf, 0)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // ndigits, weight, sign, dscale
	if len(digits) > 0 {
		top := len(digits) - 1 + exp // power of the first digit
		bottom := exp                // power of the last digit
		gTop := floorDiv(top, 4)
		gBottom := floorDiv(bottom, 4)
		weight = gTop
		// Walk groups from the top down.
		k := 0 // index into digits
		trailingZeroGroups := 0
		for g := gTop; g >= gBottom; g-- {
			val := 0
			for p := 4*g + 3; p >= 4*g; p-- {
				d := 0
				if p <= top && p >= bottom {
					d = int(digits[k])
					k++
				}
				val = val*10 + d
			}
			buf = binary.BigEndian.AppendUint16(buf, uint16(val))
			ndigits++
			if val == 0 {
				trailingZeroGroups++
			} else {
				trailingZeroGroups = 0
			}
		}
		buf = buf[:len(buf)-2*trailingZeroGroups]
		ndigits -= trailingZeroGroups
	}
	if ndigits == 0 {
		weight = 0
		neg = false
	}
	h := buf[start+4:]
	binary.BigEndian.PutUint16(h[0:], uint16(ndigits))
	binary.BigEndian.PutUint16(h[2:], uint16(int16(weight)))
	if neg {
		binary.BigEndian.PutUint16(h[4:], 0x4000)
	}
	binary.BigEndian.PutUint16(h[6:], uint16(dscale))
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf, nil
}

// appendNumericPlain is appendNumeric for the usual text, [-]digits[.digits]
// without an exponent, that the column takes: base-10000 groups read
// straight from the text (the integer part grouped from the point
// leftwards, the fraction rightwards). It reports false, having written
// nothing, for any other text (an exponent, a value the column refuses,
// a scale beyond numeric's), which appendNumeric then encodes or refuses.
func appendNumericPlain(buf []byte, c *encoder, text []byte) ([]byte, bool) {
	i := 0
	neg := false
	if len(text) > 0 && (text[0] == '-' || text[0] == '+') {
		neg = text[0] == '-'
		i = 1
	}
	for i < len(text) && text[i] == '0' {
		i++ // leading zeros
	}
	intStart := i
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	intPart := text[intStart:i]
	var frac []byte
	if i < len(text) && text[i] == '.' {
		i++
		fracStart := i
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		frac = text[fracStart:i]
	}
	if i != len(text) || len(intPart) == 0 && len(frac) == 0 && !bytes.ContainsRune(text, '0') || len(frac) > 16383 || len(intPart) > 131072 {
		return buf, false
	}
	dscale := len(frac)
	if c.scale >= 0 {
		sig := len(frac)
		for sig > 0 && frac[sig-1] == '0' {
			sig--
		}
		if sig > c.scale || len(intPart) > c.intMax {
			return buf, false // refused, with appendNumeric's message
		}
		dscale = min(dscale, c.scale)
	}
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // length, ndigits, weight, sign, dscale
	weight := (len(intPart)+3)/4 - 1
	ndigits := 0
	lastNonZero := 0 // ndigits up to the last group that is not 0
	// Integer part: the first group holds len%4 digits (4 when that is 0).
	k := len(intPart) % 4
	if k == 0 {
		k = 4
	}
	for j := 0; j < len(intPart); j, k = j+k, 4 {
		g := 0
		for _, d := range intPart[j : j+k] {
			g = g*10 + int(d-'0')
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(g))
		ndigits++
		if g != 0 {
			lastNonZero = ndigits
		}
	}
	// Fraction: groups of 4 from the point, the last one padded with zeros.
	for j := 0; j < len(frac); j += 4 {
		g, n := 0, 0
		for ; n < 4 && j+n < len(frac); n++ {
			g = g*10 + int(frac[j+n]-'0')
		}
		for ; n < 4; n++ {
			g *= 10
		}
		if ndigits == 0 && g == 0 {
			weight-- // a leading zero group of a value below 1
			continue
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(g))
		ndigits++
		if g != 0 {
			lastNonZero = ndigits
		}
	}
	// Trailing zero groups are implied by the weight.
	buf = buf[:len(buf)-2*(ndigits-lastNonZero)]
	ndigits = lastNonZero
	if ndigits == 0 {
		weight, neg = 0, false
	}
	h := buf[start:]
	binary.BigEndian.PutUint32(h[0:], uint32(len(buf)-start-4))
	binary.BigEndian.PutUint16(h[4:], uint16(ndigits))
	binary.BigEndian.PutUint16(h[6:], uint16(int16(weight)))
	if neg {
		binary.BigEndian.PutUint16(h[8:], 0x4000)
	}
	binary.BigEndian.PutUint16(h[10:], uint16(dscale))
	return buf, true
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func timestampMicros(v *singer.Value) (int64, error) {
	if v.Kind == singer.String && !v.HasTime {
		switch string(v.Bytes) {
		case "infinity":
			return infinityMicros, nil
		case "-infinity":
			return -infinityMicros - 1, nil
		}
	}
	t, err := sqltarget.TimeOf(v)
	if err != nil {
		return 0, err
	}
	// From Unix seconds, not time.Sub, which saturates 292 years from 2000.
	// Nanoseconds round to the microseconds PostgreSQL keeps, as its text
	// input does.
	return (t.Unix()-pgEpoch.Unix())*1_000_000 + int64((t.Nanosecond()+500)/1000), nil
}

func dateDays(v *singer.Value) (int32, error) {
	if v.Kind == singer.String && !v.HasTime {
		switch string(v.Bytes) {
		case "infinity":
			return infinityDays, nil
		case "-infinity":
			return -infinityDays - 1, nil
		}
	}
	t, err := sqltarget.DateOf(v)
	if err != nil {
		return 0, err
	}
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400 - pgEpoch.Unix()/86400
	return int32(days), nil
}

// parseUUID reads the 32 hex digits of a UUID, with or without dashes.
func parseUUID(v *singer.Value) ([16]byte, bool) {
	var u [16]byte
	var digits [32]byte
	if v.Kind != singer.String {
		return u, false
	}
	n := 0
	for _, c := range v.Bytes {
		if c == '-' {
			continue
		}
		if n == len(digits) {
			return u, false
		}
		digits[n] = c
		n++
	}
	if n != len(digits) {
		return u, false
	}
	_, err := hex.Decode(u[:], digits[:])
	return u, err == nil
}
