package memdialect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// batch holds rows as the text of the table's column types.
type batch struct {
	table     *sqltarget.Table
	cols      []int    // table column of each batch column
	types     []string // the table's type of each batch column
	unique    []string
	deletedAt int // batch column of _sdc_deleted_at, or -1
	rows      [][]*string
	bytes     int
	spread    bool // Dialect.Spread
}

// SpreadLoads: sqltarget.Spreading, when the dialect's Spread is set and
// the table has no unique key.
func (b *batch) SpreadLoads() bool { return b.spread && len(b.unique) == 0 }

func (b *batch) Append(vals []singer.Value) error {
	row := make([]*string, len(vals))
	n := 0
	for i := range vals {
		s, err := encode(&vals[i], b.types[i])
		if err != nil {
			var we *sqltarget.WidenError
			if asWiden(err, &we) {
				we.Column = i
				return we
			}
			return &sqltarget.ValueError{Column: b.table.Columns[i].Name, Msg: err.Error()}
		}
		if s != nil {
			n += len(*s)
		}
		row[i] = s
	}
	b.rows = append(b.rows, row)
	b.bytes += n + len(row)
	return nil
}

func asWiden(err error, we **sqltarget.WidenError) bool {
	w, ok := err.(*sqltarget.WidenError)
	if ok {
		*we = w
	}
	return ok
}

func (b *batch) Rows() int  { return len(b.rows) }
func (b *batch) Bytes() int { return b.bytes }
func (b *batch) Reset()     { b.rows, b.bytes = nil, 0 }
func (b *batch) Fresh() *batch {
	return &batch{table: b.table, cols: b.cols, types: b.types, unique: b.unique, deletedAt: b.deletedAt, spread: b.spread}
}
func (b *batch) Table() *sqltarget.Table { return b.table }

// parseType reads a type name (LogicalType.String) back.
func parseType(s string) sqltarget.LogicalType {
	var t sqltarget.LogicalType
	switch {
	case strings.HasPrefix(s, "decimal("):
		t.Kind = sqltarget.KindDecimal
		fmt.Sscanf(s, "decimal(%d,%d)", &t.Precision, &t.Scale)
	case strings.HasPrefix(s, "string("):
		t.Kind = sqltarget.KindString
		fmt.Sscanf(s, "string(%d)", &t.MaxLength)
	default:
		for k := sqltarget.KindString; k <= sqltarget.KindJSON; k++ {
			if k.String() == s {
				t.Kind = k
			}
		}
	}
	return t
}

func numeric(k sqltarget.Kind) bool {
	return k == sqltarget.KindInteger || k == sqltarget.KindDecimal || k == sqltarget.KindNumber
}

// evolve is the type a column of type have takes to hold want (have when
// it holds it already): see the package doc.
func evolve(have string, want sqltarget.LogicalType) string {
	h := parseType(have)
	switch {
	case h.Kind == sqltarget.KindJSON, have == want.String():
		return have
	case want.Kind == sqltarget.KindJSON:
		return "json"
	case h.Kind == sqltarget.KindString:
		return "string"
	case numeric(h.Kind) && numeric(want.Kind):
		if h.Kind == sqltarget.KindNumber || want.Kind == sqltarget.KindInteger && h.Kind == sqltarget.KindDecimal && h.Precision-h.Scale >= 19 {
			return have
		}
		return "number"
	case h.Kind == want.Kind && want.Kind != sqltarget.KindDecimal:
		return have
	}
	return "string"
}

// convertText converts a stored value of type from to type to (a widening:
// the text stays, or becomes its JSON form).
func convertText(v, from, to string) (string, error) {
	if to != "json" {
		return v, nil
	}
	switch k := parseType(from).Kind; {
	case numeric(k), k == sqltarget.KindBoolean:
		return v, nil
	default:
		return jsonString(v), nil
	}
}

func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

func formatTime(t time.Time) string {
	return t.UTC().Round(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
}

// encode renders a value for a column of type typ (nil: NULL).
func encode(v *singer.Value, typ string) (*string, error) {
	if v.Kind == singer.Absent || v.Kind == singer.Null {
		return nil, nil
	}
	t := parseType(typ)
	var s string
	switch t.Kind {
	case sqltarget.KindInteger:
		n, ok := sqltarget.IntValue(v)
		if !ok {
			if d, isInt := sqltarget.IntegerDigits(v); isInt && d > 18 {
				return nil, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindNumber}, Msg: fmt.Sprintf("%s is beyond a 64-bit integer", sqltarget.Shown(v))}
			}
			return nil, fmt.Errorf("%s is not an integer", sqltarget.Shown(v))
		}
		s = strconv.FormatInt(n, 10)
	case sqltarget.KindNumber, sqltarget.KindDecimal:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return nil, fmt.Errorf("%s is not a number", sqltarget.Shown(v))
		}
		r, ok := new(big.Rat).SetString(string(text))
		if !ok {
			return nil, fmt.Errorf("%s is not a number", sqltarget.Shown(v))
		}
		if t.Kind == sqltarget.KindDecimal {
			r = roundScale(r, t.Scale)
			if d := intDigits(r); d > t.Precision-t.Scale {
				return nil, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindNumber}, Msg: fmt.Sprintf("%s has %d integer digits, %s takes %d", sqltarget.Shown(v), d, typ, t.Precision-t.Scale)}
			}
		}
		s = decimalText(r)
	case sqltarget.KindBoolean:
		if v.Kind != singer.Bool {
			return nil, fmt.Errorf("%s is not a boolean", sqltarget.Shown(v))
		}
		s = strconv.FormatBool(v.Bool)
	case sqltarget.KindTimestamp:
		tm, err := sqltarget.TimeOf(v)
		if err != nil {
			return nil, err
		}
		if y := tm.UTC().Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("%s is out of range (years 1 to 9999)", sqltarget.Shown(v))
		}
		s = formatTime(tm)
	case sqltarget.KindDate:
		tm, err := sqltarget.DateOf(v)
		if err != nil {
			return nil, err
		}
		s = tm.Format("2006-01-02")
	case sqltarget.KindJSON:
		j, err := canonicalJSON(v)
		if err != nil {
			return nil, err
		}
		s = j
	default: // string, time: the value's text
		switch v.Kind {
		case singer.Bool:
			s = strconv.FormatBool(v.Bool)
		default:
			s = string(v.Bytes)
		}
	}
	return &s, nil
}

// canonicalJSON is a value's JSON, compact with sorted keys.
func canonicalJSON(v *singer.Value) (string, error) {
	switch v.Kind {
	case singer.String:
		return jsonString(string(v.Bytes)), nil
	case singer.Bool:
		return strconv.FormatBool(v.Bool), nil
	case singer.Number:
		return string(v.Bytes), nil
	}
	dec := json.NewDecoder(bytes.NewReader(v.Bytes))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", fmt.Errorf("not JSON: %v", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// decimalText is the exact decimal text of r (a decimal fraction), without
// trailing fraction zeros.
func decimalText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// The denominator of a decimal is 2^a 5^b: max(a, b) digits are exact.
	digits := 0
	den := new(big.Int).Set(r.Denom())
	ten := big.NewInt(10)
	for z := new(big.Int); ; digits++ {
		if z.Mod(new(big.Int).Exp(ten, big.NewInt(int64(digits)), nil), den).Sign() == 0 {
			break
		}
		if digits > 2000 {
			break
		}
	}
	s := r.FloatString(digits)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// roundScale rounds r to scale fraction digits, half away from zero.
func roundScale(r *big.Rat, scale int) *big.Rat {
	m := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(m))
	q, rem := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(x.Denom()) >= 0 {
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, m)
}

// intDigits is the number of digits of r's integer part (0 for |r| < 1).
func intDigits(r *big.Rat) int {
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if q.Sign() == 0 {
		return 0
	}
	return len(new(big.Int).Abs(q).String())
}
