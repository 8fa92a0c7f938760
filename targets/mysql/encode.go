package mysql

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// This file writes LOAD DATA's text format straight from the values the
// schema plan yields: fields separated by a tab, rows ended by a newline,
// backslash escapes for backslash, tab, newline and carriage return, and \N
// for NULL (the defaults of LOAD DATA, spelled out in the statement).
// Timestamps are 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, decimals their exact
// text without an exponent, booleans 1/0, JSON its text.

// textBatch is a batch in LOAD DATA text format.
type textBatch struct {
	table *sqltarget.Table
	cols  []encoder
	buf   *chunkbuf.Buffer // the rows, in chunks of the dialect's pool
	pool  *chunkbuf.Pool
	rows  int
	plan  *loadPlan
	num   []byte // scratch
	// digits holds a DECIMAL value's digits (sqltarget.ParseDecimalTo).
	digits []byte
	// need records, per column, values beyond the column's length or
	// digits (only for columns that widen): the load widens them first.
	need []need

	// Key tracking: a batch without two records of one key can load
	// straight into the table (see session.Load).
	repeats sqltarget.KeyRepeats
}

// need is the most a column's values of a batch asked for.
type need struct {
	chars, bytes      int64
	intDigits, digits int // DECIMAL: digits before the point; after it
}

func newTextBatch(t *sqltarget.Table, cols []encoder, plan *loadPlan, pool *chunkbuf.Pool) *textBatch {
	b := &textBatch{table: t, cols: cols, plan: plan, buf: chunkbuf.New(pool), pool: pool, need: make([]need, len(cols))}
	b.repeats = sqltarget.NewKeyRepeats(t)
	return b
}

func (b *textBatch) Table() *sqltarget.Table { return b.table }
func (b *textBatch) Rows() int               { return b.rows }
func (b *textBatch) Bytes() int              { return b.buf.Len() }
func (b *textBatch) Reset() {
	b.buf.Reset()
	b.rows = 0
	b.repeats.Reset()
	clear(b.need)
}
func (b *textBatch) Fresh() *textBatch { return newTextBatch(b.table, b.cols, b.plan, b.pool) }

// data reads the batch's rows. Close it before the batch is reset.
func (b *textBatch) data() *chunkbuf.Reader { return b.buf.Reader(nil, nil) }

// Append encodes one row. On error the partial row is taken back.
func (b *textBatch) Append(vals []singer.Value) error {
	buf := b.buf.Begin()
	for i := range b.cols {
		if i > 0 {
			buf = append(buf, '\t')
		}
		var err error
		if buf, err = b.appendField(buf, i, &vals[i]); err != nil {
			b.buf.Abort()
			var we *sqltarget.WidenError
			if errors.As(err, &we) {
				we.Column = i
			}
			return err
		}
	}
	b.buf.Commit(append(buf, '\n'))
	b.repeats.Add(vals)
	b.rows++
	return nil
}

func valueErr(c *encoder, format string, args ...any) error {
	return &sqltarget.ValueError{Column: strconv.Quote(c.name), Msg: fmt.Sprintf(format, args...)}
}

func (b *textBatch) appendField(buf []byte, i int, v *singer.Value) ([]byte, error) {
	c := &b.cols[i]
	if v.Kind <= singer.Null {
		return append(buf, '\\', 'N'), nil
	}
	switch c.kind {
	case physText:
		return appendText(buf, c, v, b.needOf(i))
	case physJSON:
		b.num = appendJSONValue(b.num[:0], v)
		return appendEscaped(buf, b.num), nil
	case physInt:
		n, ok := sqltarget.IntValue(v)
		if !ok {
			if digits, integral := sqltarget.IntegerDigits(v); integral && c.intMin == math.MinInt64 && c.intMax == math.MaxInt64 {
				// BIGINT widens to DECIMAL(65,0), LONGTEXT beyond 65
				// digits: either keeps the value exactly.
				return buf, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindInteger, Precision: digits}, Msg: fmt.Sprintf("%s is beyond BIGINT", sqltarget.Shown(v))}
			}
			if t, ok := sqltarget.NumericText(v); ok && v.Kind == singer.Number {
				return buf, valueErr(c, "%s is out of range for the column (%d to %d)", t, c.intMin, c.intMax)
			}
			return buf, valueErr(c, "%s is not an integer", sqltarget.Shown(v))
		}
		if n < c.intMin || n > c.intMax {
			return buf, valueErr(c, "%d is out of range for the column (%d to %d)", n, c.intMin, c.intMax)
		}
		return strconv.AppendInt(buf, n, 10), nil
	case physDecimal:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return buf, valueErr(c, "%s is not a number", sqltarget.Shown(v))
		}
		return appendDecimal(buf, &b.digits, c, text, b.needOf(i))
	case physFloat:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return buf, valueErr(c, "%s is not a number", sqltarget.Shown(v))
		}
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil || math.IsInf(f, 0) {
			return buf, valueErr(c, "%s is out of range for DOUBLE", text)
		}
		return strconv.AppendFloat(buf, f, 'g', -1, 64), nil
	case physBool:
		switch v.Kind {
		case singer.Bool:
			if v.Bool {
				return append(buf, '1'), nil
			}
			return append(buf, '0'), nil
		case singer.Number:
			if n, ok := sqltarget.IntValue(v); ok && (n == 0 || n == 1) {
				return strconv.AppendInt(buf, n, 10), nil
			}
		}
		return buf, valueErr(c, "%s is not a boolean", sqltarget.Shown(v))
	case physDatetime:
		t, err := timestampValue(v)
		if err != nil {
			return buf, valueErr(c, "%v", err)
		}
		return singer.AppendDateTime(buf, t, ' ', 6), nil
	case physDate:
		t, err := dateValue(v)
		if err != nil {
			return buf, valueErr(c, "%v", err)
		}
		return singer.AppendDateTime(buf, t, 0, 0), nil
	case physTime:
		return appendTimeOfDay(buf, c, v)
	}
	return buf, valueErr(c, "unsupported column type")
}

// widens reports whether a column of the batch must widen before it loads.
func (b *textBatch) widens() bool {
	for _, n := range b.need {
		if n != (need{}) {
			return true
		}
	}
	return false
}

// needOf returns where a widening column records what its values need,
// or nil.
func (b *textBatch) needOf(i int) *need {
	if !b.cols[i].widen {
		return nil
	}
	return &b.need[i]
}

// appendEscaped writes text with LOAD DATA's escapes. The engine has
// removed NUL characters (sqltarget's NUL rule: the same input lands the
// same way in every target).
func appendEscaped(buf, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\t':
			esc = 't'
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		default:
			continue
		}
		buf = append(buf, s[start:i]...)
		buf = append(buf, '\\', esc)
		start = i + 1
	}
	return append(buf, s[start:]...)
}

// appendText writes a value as text. A value longer than the column
// widens it at load (nd) or is an error: never a silent truncation.
func appendText(buf []byte, c *encoder, v *singer.Value, nd *need) ([]byte, error) {
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
	if c.maxChars > 0 && int64(len(s)) > c.maxChars {
		if n := utf8.RuneCount(s); int64(n) > c.maxChars {
			if nd != nil {
				nd.chars = max(nd.chars, int64(n))
				return appendEscaped(buf, s), nil
			}
			return buf, valueErr(c, "%s is %d characters, longer than the column's %d (no silent truncation; widen the column or set maxLength)", sqltarget.Shown(v), n, c.maxChars)
		}
	}
	if c.maxBytes > 0 && int64(len(s)) > c.maxBytes {
		if nd != nil {
			nd.bytes = max(nd.bytes, int64(len(s)))
			return appendEscaped(buf, s), nil
		}
		return buf, valueErr(c, "%s is %d bytes, longer than the column's %d (no silent truncation)", sqltarget.Shown(v), len(s), c.maxBytes)
	}
	return appendEscaped(buf, s), nil
}

// appendJSONValue writes a value as JSON text.
func appendJSONValue(buf []byte, v *singer.Value) []byte {
	switch v.Kind {
	case singer.String:
		return singer.AppendJSONBytes(buf, v.Bytes)
	case singer.Bool:
		return strconv.AppendBool(buf, v.Bool)
	}
	return append(buf, v.Bytes...)
}

// appendDecimal writes decimal text exactly, without an exponent. A value
// with more fraction digits than the column's scale, or more integer digits
// than it has room for, is an error rather than a silent rounding.
func appendDecimal(buf []byte, digits *[]byte, c *encoder, text []byte, nd *need) ([]byte, error) {
	d, ok := sqltarget.ParseDecimalTo(*digits, text)
	*digits = d.Digits
	if !ok {
		return buf, valueErr(c, "%s is not a number", text)
	}
	if d.IsZero() {
		return append(buf, '0'), nil
	}
	fracDigits, intDigits := d.FracDigits(), d.IntDigits()
	switch {
	case nd != nil && !d.Fits(c.prec, c.scale):
		// The column widens: its DECIMAL at load when the batch's values
		// still fit one, else (beyond DECIMAL(65,30)) to LONGTEXT now,
		// before the batch is built further, so that the value keeps its
		// text.
		i := max(c.prec-c.scale, nd.intDigits, intDigits)
		sc := max(c.scale, nd.digits, fracDigits)
		if decimalRule.Type(i, sc) == "" {
			return buf, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindString}, Msg: fmt.Sprintf("%s does not fit any DECIMAL (65 digits, 30 after the point, with the column's other values)", text)}
		}
		nd.digits = max(nd.digits, fracDigits)
		nd.intDigits = max(nd.intDigits, intDigits)
	case fracDigits > c.scale:
		return buf, valueErr(c, "%s has more than %d decimal places (the column is DECIMAL(%d,%d); no silent rounding)", text, c.scale, c.prec, c.scale)
	case intDigits > c.prec-c.scale:
		return buf, valueErr(c, "%s does not fit the column (DECIMAL(%d,%d): at most %d digits before the decimal point)", text, c.prec, c.scale, c.prec-c.scale)
	}
	return d.AppendText(buf), nil
}

// DATETIME and DATE hold years 1000 to 9999.
var (
	minDatetime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDatetime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func timestampValue(v *singer.Value) (time.Time, error) {
	t, err := sqltarget.TimeOf(v)
	if err != nil {
		return t, err
	}
	// DATETIME(6) keeps microseconds; nanoseconds round as MySQL's own
	// conversion does.
	t = t.UTC().Round(time.Microsecond)
	if t.Before(minDatetime) || !t.Before(maxDatetime) {
		return t, fmt.Errorf("%s is out of range for DATETIME (years 1000 to 9999)", sqltarget.Shown(v))
	}
	return t, nil
}

func dateValue(v *singer.Value) (time.Time, error) {
	t, err := sqltarget.DateOf(v)
	if err != nil {
		return t, err
	}
	if t.Before(minDatetime) || !t.Before(maxDatetime) {
		return t, fmt.Errorf("%s is out of range for DATE (years 1000 to 9999)", sqltarget.Shown(v))
	}
	return t, nil
}

// appendTimeOfDay writes a time of day as TIME(6) takes it
// (sqltarget.TimeOfDay: the zone dropped, 24:00:00 held, digits beyond
// microseconds refused).
func appendTimeOfDay(buf []byte, c *encoder, v *singer.Value) ([]byte, error) {
	us, err := sqltarget.TimeOfDay(v)
	if err != nil {
		return buf, valueErr(c, "%v", err)
	}
	return sqltarget.AppendTimeOfDay(buf, us), nil
}
