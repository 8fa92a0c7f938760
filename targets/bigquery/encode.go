package bigquery

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// This file writes a batch as newline-delimited JSON, the format of
// BigQuery load jobs, straight from the values of the schema plan. Values
// are exact: NUMERIC and BIGNUMERIC as decimal strings (never through a
// float), INT64 as JSON integers, TIMESTAMP as RFC 3339 UTC with
// microseconds, JSON columns as strings holding the JSON text. NULL is an
// omitted field.

// fieldEnc is how one column's values are written.
type fieldEnc struct {
	name   string
	prefix []byte // "name":
	typ    bigquery.FieldType
	intMax int // NUMERIC/BIGNUMERIC: digits allowed before the point
	scale  int // NUMERIC/BIGNUMERIC: digits allowed after it
	// widens: BIGNUMERIC without precision, the column of numbers: a
	// value beyond it makes the column STRING (sqltarget.WidenError).
	widens bool

	// RECORD and REPEATED fields (record.go).
	repeated bool
	sub      map[string]*fieldEnc // RECORD: sub-field encoders by lower-case name
	names    *propertyNames       // RECORD: property name -> sub-field name
}

func newFieldEnc(f *bigquery.FieldSchema) fieldEnc {
	e := fieldEnc{name: f.Name, typ: f.Type}
	e.prefix = append(singer.AppendJSONString(nil, f.Name), ':')
	switch f.Type {
	case bigquery.NumericFieldType:
		e.intMax, e.scale = 29, 9
	case bigquery.BigNumericFieldType:
		e.intMax, e.scale = 38, 38
		e.widens = f.Precision == 0
	}
	if f.Precision > 0 {
		e.intMax, e.scale = int(f.Precision-f.Scale), int(f.Scale)
	}
	return e
}

// ndjsonBatch is a batch of rows as NDJSON lines.
type ndjsonBatch struct {
	rowIndex
	table  *sqltarget.Table
	fields []fieldEnc
	plan   *loadPlan
}

func newBatch(t *sqltarget.Table, fields []fieldEnc, plan *loadPlan) *ndjsonBatch {
	return &ndjsonBatch{rowIndex: newRowIndex(t), table: t, fields: fields, plan: plan}
}

func (b *ndjsonBatch) Table() *sqltarget.Table { return b.table }
func (b *ndjsonBatch) Fresh() batch            { return newBatch(b.table, b.fields, b.plan) }

// Append encodes one record as one line.
func (b *ndjsonBatch) Append(vals []singer.Value) error {
	start := len(b.buf)
	buf := append(b.buf, '{')
	first := true
	var err error
	for i := range b.fields {
		v := &vals[i]
		if v.Kind <= singer.Null {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, b.fields[i].prefix...)
		if buf, err = appendValue(buf, &b.fields[i], v); err != nil {
			b.buf = buf[:start]
			return columnErr(err, i)
		}
	}
	buf = append(buf, '}', '\n')
	return b.add(buf, start, vals, func(c int) *fieldEnc { return &b.fields[c] })
}

// data returns the lines to load and their count: every row, or with
// dedupe only the latest row of each key.
func (b *ndjsonBatch) data(dedupe bool) ([]byte, int) {
	if !dedupe || !b.dups {
		return b.buf, len(b.starts)
	}
	out := make([]byte, 0, len(b.buf))
	n := 0
	b.each(true, func(row []byte) {
		out = append(out, row...)
		n++
	})
	return out, n
}

// decimalText is a NUMERIC or BIGNUMERIC value as plain decimal text,
// refused when it does not fit the column without rounding.
func decimalText(f *fieldEnc, v *singer.Value) ([]byte, error) {
	text, ok := sqltarget.NumericText(v)
	if !ok {
		return nil, valueErr(f, "%s is not a number", sqltarget.Shown(v))
	}
	plain, intDigits, fracDigits, ok := plainDecimal(text)
	if !ok {
		return nil, valueErr(f, "%s is not a number", sqltarget.Shown(v))
	}
	if intDigits > f.intMax || fracDigits > f.scale {
		if f.widens {
			return nil, &sqltarget.WidenError{Want: sqltarget.LogicalType{Kind: sqltarget.KindString}, Msg: fmt.Sprintf("%s is beyond BIGNUMERIC", text)}
		}
		return nil, valueErr(f, "%s does not fit %s (%d digits before the point, %d after) without rounding", text, f.typ, f.intMax, f.scale)
	}
	return plain, nil
}

// intErr is the error of a value an INT64 column cannot hold: an integer
// beyond INT64 widens the column (BIGNUMERIC, or STRING beyond its 38
// digits), anything else is an error.
func intErr(f *fieldEnc, v *singer.Value) error {
	if digits, ok := sqltarget.IntegerDigits(v); ok {
		want := sqltarget.LogicalType{Kind: sqltarget.KindNumber}
		if digits > 38 {
			want.Kind = sqltarget.KindString
		}
		return &sqltarget.WidenError{Want: want, Msg: fmt.Sprintf("%s is beyond INT64", sqltarget.Shown(v))}
	}
	return valueErr(f, "%s is not an integer in INT64's range", sqltarget.Shown(v))
}

// columnErr notes the column of a WidenError.
func columnErr(err error, col int) error {
	if we, ok := err.(*sqltarget.WidenError); ok {
		we.Column = col
	}
	return err
}

func valueErr(f *fieldEnc, format string, args ...any) error {
	return &sqltarget.ValueError{Column: strconv.Quote(f.name), Msg: fmt.Sprintf(format, args...)}
}

func appendValue(buf []byte, f *fieldEnc, v *singer.Value) ([]byte, error) {
	if f.repeated || f.typ == bigquery.RecordFieldType {
		return appendNestedValue(buf, f, v)
	}
	switch f.typ {
	case bigquery.StringFieldType:
		return appendText(buf, v), nil
	case bigquery.JSONFieldType:
		var j []byte
		switch v.Kind {
		case singer.String:
			j = singer.AppendJSONBytes(nil, v.Bytes)
		case singer.Bool:
			j = strconv.AppendBool(nil, v.Bool)
		default:
			j = v.Bytes
		}
		return singer.AppendJSONBytes(buf, j), nil
	case bigquery.IntegerFieldType:
		n, ok := sqltarget.IntValue(v)
		if !ok {
			return buf, intErr(f, v)
		}
		return strconv.AppendInt(buf, n, 10), nil
	case bigquery.NumericFieldType, bigquery.BigNumericFieldType:
		plain, err := decimalText(f, v)
		if err != nil {
			return buf, err
		}
		buf = append(buf, '"')
		buf = append(buf, plain...)
		return append(buf, '"'), nil
	case bigquery.FloatFieldType:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return buf, valueErr(f, "%s is not a number", sqltarget.Shown(v))
		}
		return append(buf, text...), nil
	case bigquery.BooleanFieldType:
		if v.Kind != singer.Bool {
			return buf, valueErr(f, "%s is not a boolean", sqltarget.Shown(v))
		}
		return strconv.AppendBool(buf, v.Bool), nil
	case bigquery.TimestampFieldType:
		t, err := timestampOf(v)
		if err != nil {
			return buf, valueErr(f, "%v", err)
		}
		buf = append(buf, '"')
		buf = append(singer.AppendDateTime(buf, t, 'T', 6), 'Z')
		return append(buf, '"'), nil
	case bigquery.DateFieldType:
		t, err := dateOf(v)
		if err != nil {
			return buf, valueErr(f, "%v", err)
		}
		buf = append(buf, '"')
		buf = singer.AppendDateTime(buf, t, 0, 0)
		return append(buf, '"'), nil
	case bigquery.TimeFieldType:
		buf = append(buf, '"')
		buf, err := timeOfDay(buf, v)
		if err != nil {
			return buf, valueErr(f, "%v", err)
		}
		return append(buf, '"'), nil
	}
	return buf, valueErr(f, "column type %s is not supported by target-bigquery", f.typ)
}

// appendText writes a value as a JSON string of its text (the engine has
// removed NUL characters: sqltarget's NUL rule).
func appendText(buf []byte, v *singer.Value) []byte {
	var s []byte
	switch v.Kind {
	case singer.String, singer.Number, singer.Object, singer.Array:
		s = v.Bytes
	case singer.Bool:
		s = strconv.AppendBool(nil, v.Bool)
	}
	return singer.AppendJSONBytes(buf, s)
}

// plainDecimal rewrites decimal text (with an optional exponent) as plain
// digits with no leading integer zeros and no trailing fraction zeros, and
// counts the digits on each side of the point.
func plainDecimal(text []byte) (plain []byte, intDigits, fracDigits int, ok bool) {
	i := 0
	neg := false
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		neg = text[i] == '-'
		i++
	}
	var digits []byte
	point, seenPoint := 0, false
	for ; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '.' && !seenPoint:
			point, seenPoint = len(digits), true
		case c == 'e' || c == 'E':
			exp, err := strconv.Atoi(string(text[i+1:]))
			if err != nil || exp > 1000 || exp < -1000 {
				return nil, 0, 0, false
			}
			if !seenPoint {
				point, seenPoint = len(digits), true
			}
			point += exp
			i = len(text)
		default:
			return nil, 0, 0, false
		}
	}
	if len(digits) == 0 {
		return nil, 0, 0, false
	}
	if !seenPoint {
		point = len(digits)
	}
	// Pad so that 0 <= point <= len(digits).
	for point < 0 {
		digits = append([]byte{'0'}, digits...)
		point++
	}
	for point > len(digits) {
		digits = append(digits, '0')
	}
	ip, fp := digits[:point], digits[point:]
	ip = bytes.TrimLeft(ip, "0")
	fp = bytes.TrimRight(fp, "0")
	if len(ip) == 0 && len(fp) == 0 {
		return []byte("0"), 0, 0, true
	}
	if neg {
		plain = append(plain, '-')
	}
	if len(ip) == 0 {
		plain = append(plain, '0')
	}
	plain = append(plain, ip...)
	if len(fp) > 0 {
		plain = append(plain, '.')
		plain = append(plain, fp...)
	}
	return plain, len(ip), len(fp), true
}

var (
	minTimestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// timestampOf parses a date-time (or a date, as midnight UTC) and rounds it
// to the microseconds BigQuery keeps.
func timestampOf(v *singer.Value) (time.Time, error) {
	if v.Kind != singer.String {
		return time.Time{}, fmt.Errorf("%s is not a date-time string", sqltarget.Shown(v))
	}
	t := v.Time
	if !v.HasTime {
		var err error
		t, err = time.Parse(time.RFC3339Nano, string(v.Bytes))
		if err != nil {
			if t, err = time.Parse("2006-01-02", string(v.Bytes)); err != nil {
				return time.Time{}, fmt.Errorf("%s is not an RFC 3339 date-time", sqltarget.Shown(v))
			}
		}
	}
	t = t.UTC().Round(time.Microsecond)
	if t.Before(minTimestamp) || t.After(maxTimestamp) {
		return time.Time{}, fmt.Errorf("%s is outside BigQuery's TIMESTAMP range (years 1 to 9999)", sqltarget.Shown(v))
	}
	return t, nil
}

func dateOf(v *singer.Value) (time.Time, error) {
	if v.Kind != singer.String {
		return time.Time{}, fmt.Errorf("%s is not a date string", sqltarget.Shown(v))
	}
	if v.HasTime {
		return v.Time.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", string(v.Bytes))
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, string(v.Bytes)); err != nil {
			return time.Time{}, fmt.Errorf("%s is not a date (YYYY-MM-DD)", sqltarget.Shown(v))
		}
		t = t.UTC()
	}
	return t, nil
}

// timeOfDay reads a value for a TIME column (sqltarget.TimeOfDay) as
// hh:mm:ss.ffffff; BigQuery's TIME does not hold the end of the day.
func timeOfDay(buf []byte, v *singer.Value) ([]byte, error) {
	us, err := sqltarget.TimeOfDay(v)
	if err != nil {
		return buf, err
	}
	if us == sqltarget.EndOfDay {
		// The end of the day: format "time" accepts it (the toolkit's
		// rule, as PostgreSQL and MySQL hold it), BigQuery's TIME does not.
		return buf, fmt.Errorf("%s (the end of the day) is outside BigQuery's TIME range, 00:00:00 to 23:59:59.999999 (load the property as STRING with x-sql-datatype to keep it)", sqltarget.Shown(v))
	}
	return sqltarget.AppendTimeOfDay(buf, us), nil
}
