package sqltarget

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/singerkit/singerkit/singer"
)

// These helpers turn a plan's singer.Value into what every dialect's
// encoders need; they live here so that the dialects agree on them.

// KeyHash hashes a record's key values (FNV-1a). Equal keys hash equal; a
// collision only costs a dialect its dedupe path. Dialects use it to tell
// whether a batch repeats a key.
func KeyHash(vals []singer.Value, cols []int) uint64 {
	h := uint64(14695981039346656037)
	for _, i := range cols {
		v := &vals[i]
		if v.IntOK {
			x := uint64(v.Int)
			for k := 0; k < 8; k++ {
				h = (h ^ (x & 0xff)) * 1099511628211
				x >>= 8
			}
		} else {
			for _, c := range v.Bytes {
				h = (h ^ uint64(c)) * 1099511628211
			}
		}
		h = (h ^ 0xff) * 1099511628211
	}
	return h
}

// IntValue returns a value as an int64: an integer, a number with an
// integral value (1.0, 1e2), or a string of digits.
func IntValue(v *singer.Value) (int64, bool) {
	switch v.Kind {
	case singer.Number:
		if v.IntOK {
			return v.Int, true
		}
		if !v.IsInt {
			f, err := strconv.ParseFloat(string(v.Bytes), 64)
			if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f), true
			}
		}
	case singer.String:
		n, err := strconv.ParseInt(string(v.Bytes), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// NumericText returns a number's exact text, or a string holding a decimal.
func NumericText(v *singer.Value) ([]byte, bool) {
	switch v.Kind {
	case singer.Number:
		return v.Bytes, true
	case singer.String:
		if singer.IsDecimalText(v.Bytes) {
			return v.Bytes, true
		}
	}
	return nil, false
}

// Shown renders a value for an error message, shortened to 60 bytes.
func Shown(v *singer.Value) string {
	var s string
	switch v.Kind {
	case singer.Bool:
		s = strconv.FormatBool(v.Bool)
	case singer.String:
		s = strconv.Quote(string(v.Bytes))
	default:
		s = string(v.Bytes)
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// TimeOf reads a date-time value: the instant the plan parsed, or RFC 3339
// text, or a date alone as midnight UTC. The result is not rounded and
// keeps the value's zone; the dialect rounds and checks its range.
func TimeOf(v *singer.Value) (time.Time, error) {
	if v.Kind != singer.String {
		return time.Time{}, fmt.Errorf("%s is not a date-time string", Shown(v))
	}
	if v.HasTime {
		return v.Time, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v.Bytes))
	if err != nil {
		if t, err = time.Parse("2006-01-02", string(v.Bytes)); err != nil {
			return time.Time{}, fmt.Errorf("%s is not an RFC 3339 date-time", Shown(v))
		}
	}
	return t, nil
}

// DateOf reads a date value: YYYY-MM-DD, or a date-time, whose UTC date it
// is. The result is midnight UTC of that date.
func DateOf(v *singer.Value) (time.Time, error) {
	if v.Kind != singer.String {
		return time.Time{}, fmt.Errorf("%s is not a date string", Shown(v))
	}
	t := v.Time
	if !v.HasTime {
		var err error
		if t, err = time.Parse("2006-01-02", string(v.Bytes)); err != nil {
			if t, err = time.Parse(time.RFC3339Nano, string(v.Bytes)); err != nil {
				return time.Time{}, fmt.Errorf("%s is not a date (YYYY-MM-DD)", Shown(v))
			}
		}
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// The NUL rule, one for every SQL target: the NUL character (U+0000) is
// removed from strings: string values, and the strings and keys inside
// objects and arrays (JSON columns). PostgreSQL's text and jsonb cannot
// hold it; MySQL and BigQuery could, but a stream lands the same way in
// every singerkit target. The engine applies the rule to a record's values
// before any dialect sees them, and says so once per stream.

// nulEscape is how NUL appears inside JSON text: JSON strings cannot hold
// the raw byte.
var nulEscape = []byte(`\u0000`)

// HasNUL reports whether a value holds a NUL character the rule removes.
// For objects and arrays it may report true for text that only looks like
// the escape (`\\u0000`, a backslash and "u0000"); RemoveNUL then keeps
// the value as it is.
func HasNUL(v *singer.Value) bool {
	switch v.Kind {
	case singer.String:
		return bytes.IndexByte(v.Bytes, 0) >= 0
	case singer.Object, singer.Array:
		return bytes.Contains(v.Bytes, nulEscape)
	}
	return false
}

// RemoveNUL applies the NUL rule to v, appending the new bytes to scratch
// (v then points into it), and returns scratch. JSON text is rewritten
// token by token, never edited as bytes: only \u0000 escapes inside
// strings go; every other byte, escapes included, stays as it was.
func RemoveNUL(v *singer.Value, scratch []byte) []byte {
	start := len(scratch)
	switch v.Kind {
	case singer.String:
		for _, c := range v.Bytes {
			if c != 0 {
				scratch = append(scratch, c)
			}
		}
	case singer.Object, singer.Array:
		scratch = appendJSONWithoutNUL(scratch, v.Bytes)
	default:
		return scratch
	}
	v.Bytes = scratch[start:len(scratch):len(scratch)]
	return scratch
}

// appendJSONWithoutNUL copies valid JSON text, dropping the \u0000 escapes
// of its strings.
func appendJSONWithoutNUL(dst, b []byte) []byte {
	inString := false
	last := 0 // b[last:i] is still to be copied
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			if b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
				dst = append(dst, b[last:i]...)
				last = i + 6
				i += 5
				continue
			}
			if b[i+1] == 'u' {
				i += 5
			} else {
				i++ // the escaped character, a quote or a backslash included
			}
		}
	}
	return append(dst, b[last:]...)
}
