package duckdb

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// batch holds rows for the Appender: per column the value its stage
// column takes natively (int64, bool, time.Time, or the text DuckDB casts
// to the column's type on merge), nil for NULL.
type batch struct {
	table *sqltarget.Table
	cols  []encoder
	plan  *loadPlan
	vals  []any // rows × len(cols), row-major
	rows  int
	bytes int
	buf   []byte // scratch
}

func newBatch(t *sqltarget.Table, cols []encoder, plan *loadPlan) *batch {
	return &batch{table: t, cols: cols, plan: plan}
}

func (b *batch) Table() *sqltarget.Table { return b.table }
func (b *batch) Rows() int               { return b.rows }
func (b *batch) Bytes() int              { return b.bytes }
func (b *batch) Reset() {
	clear(b.vals)
	b.vals, b.rows, b.bytes = b.vals[:0], 0, 0
}
func (b *batch) Fresh() sqltarget.Batch { return newBatch(b.table, b.cols, b.plan) }

// Append encodes one row. On error the partial row is taken back.
func (b *batch) Append(vals []singer.Value) error {
	mark, size := len(b.vals), b.bytes
	for i := range b.cols {
		v, n, err := b.encode(i, &vals[i])
		if err != nil {
			clear(b.vals[mark:])
			b.vals, b.bytes = b.vals[:mark], size
			var we *sqltarget.WidenError
			if errors.As(err, &we) {
				we.Column = i
			}
			return err
		}
		b.vals = append(b.vals, v)
		b.bytes += n
	}
	b.rows++
	return nil
}

func valueErr(c *encoder, format string, args ...any) error {
	return &sqltarget.ValueError{Column: strconv.Quote(c.name), Msg: fmt.Sprintf(format, args...)}
}

// encode returns the stage value of column i and its size in bytes.
func (b *batch) encode(i int, v *singer.Value) (any, int, error) {
	c := &b.cols[i]
	if v.Kind <= singer.Null {
		return nil, 1, nil
	}
	switch c.kind {
	case physText, physCast:
		s := textOf(v)
		return s, len(s) + 16, nil
	case physJSON:
		b.buf = appendJSONValue(b.buf[:0], v)
		return string(b.buf), len(b.buf) + 16, nil
	case physInt:
		if v.Kind == singer.Bool {
			if v.Bool {
				return int64(1), 8, nil
			}
			return int64(0), 8, nil
		}
		n, ok := sqltarget.IntValue(v)
		if !ok {
			if digits, integral := sqltarget.IntegerDigits(v); integral && c.widen {
				return nil, 0, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindInteger, Precision: digits}, Msg: fmt.Sprintf("%s is beyond %s", sqltarget.Shown(v), c.typ)}
			}
			if t, ok := sqltarget.NumericText(v); ok && v.Kind == singer.Number {
				return nil, 0, valueErr(c, "%s is out of range for the column (%d to %d)", t, c.intMin, c.intMax)
			}
			return nil, 0, valueErr(c, "%s is not an integer", sqltarget.Shown(v))
		}
		if n < c.intMin || n > c.intMax {
			return nil, 0, valueErr(c, "%d is out of range for the column (%d to %d)", n, c.intMin, c.intMax)
		}
		return n, 8, nil
	case physHuge:
		text, ok := sqltarget.NumericText(v)
		d, okd := sqltarget.ParseDecimal(text)
		if !ok || !okd || d.Exp < 0 {
			return nil, 0, valueErr(c, "%s is not an integer", sqltarget.Shown(v))
		}
		if d.IntDigits() > hugeDigits {
			if c.widen {
				return nil, 0, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindString}, Msg: fmt.Sprintf("%s is beyond HUGEINT (%d digits)", sqltarget.Shown(v), hugeDigits)}
			}
			return nil, 0, valueErr(c, "%s is out of range for HUGEINT (%d digits)", sqltarget.Shown(v), hugeDigits)
		}
		return unscaled(d, 0), 16, nil
	case physDecimal:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return nil, 0, valueErr(c, "%s is not a number", sqltarget.Shown(v))
		}
		d, ok := sqltarget.ParseDecimal(text)
		if !ok {
			return nil, 0, valueErr(c, "%s is not a number", text)
		}
		if !d.Fits(c.prec, c.scale) {
			if c.widen {
				return nil, 0, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindString}, Msg: fmt.Sprintf("%s does not fit %s", text, c.typ)}
			}
			if d.FracDigits() > c.scale {
				return nil, 0, valueErr(c, "%s has more than %d decimal places (the column is %s; no silent rounding)", text, c.scale, c.typ)
			}
			return nil, 0, valueErr(c, "%s does not fit the column (%s: at most %d digits before the decimal point)", text, c.typ, c.prec-c.scale)
		}
		return unscaled(d, c.scale), 16, nil
	case physFloat:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return nil, 0, valueErr(c, "%s is not a number", sqltarget.Shown(v))
		}
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return nil, 0, valueErr(c, "%s is out of range for %s", text, c.typ)
		}
		return f, 8, nil
	case physBool:
		switch v.Kind {
		case singer.Bool:
			return v.Bool, 1, nil
		case singer.Number:
			if n, ok := sqltarget.IntValue(v); ok && (n == 0 || n == 1) {
				return n == 1, 1, nil
			}
		}
		return nil, 0, valueErr(c, "%s is not a boolean", sqltarget.Shown(v))
	case physTimestamp:
		t, err := sqltarget.TimeOf(v)
		if err != nil {
			return nil, 0, valueErr(c, "%v", err)
		}
		// Microseconds, as DuckDB's own cast rounds.
		return t.UTC().Round(time.Microsecond), 24, nil
	case physDate:
		t, err := sqltarget.DateOf(v)
		if err != nil {
			return nil, 0, valueErr(c, "%v", err)
		}
		return t, 24, nil
	case physTime:
		us, err := sqltarget.TimeOfDay(v)
		if err != nil {
			return nil, 0, valueErr(c, "%v", err)
		}
		b.buf = sqltarget.AppendTimeOfDay(b.buf[:0], us)
		return string(b.buf), len(b.buf) + 16, nil
	}
	return nil, 0, valueErr(c, "unsupported column type %s", c.typ)
}

// textOf is a value as text: a string's characters, a number's exact
// text, true/false, an object's or array's JSON text.
func textOf(v *singer.Value) string {
	if v.Kind == singer.Bool {
		return strconv.FormatBool(v.Bool)
	}
	return string(v.Bytes)
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

// unscaled is the number times 10^scale, an integer (the caller checked
// that the number has at most scale fraction digits): an int64 when it
// fits, else a *big.Int (what the Appender takes for DECIMAL and HUGEINT).
func unscaled(d sqltarget.Decimal, scale int) any {
	zeros := scale + d.Exp
	if len(d.Digits)+zeros <= 18 {
		var n int64
		for _, c := range d.Digits {
			n = n*10 + int64(c-'0')
		}
		for k := 0; k < zeros; k++ {
			n *= 10
		}
		if d.Neg {
			n = -n
		}
		return n
	}
	n, _ := new(big.Int).SetString(string(d.Digits), 10)
	n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(zeros)), nil))
	if d.Neg {
		n.Neg(n)
	}
	return n
}
