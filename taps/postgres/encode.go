package postgres

import (
	"bytes"
	"encoding/json"

	"github.com/singerkit/singerkit/singer"
)

// Dates and timestamps PostgreSQL calls infinity are clamped to the ends of
// the range RFC 3339 can write.
const (
	dateInfinity         = "9999-12-31"
	dateMinusInfinity    = "0001-01-01"
	instantInfinity      = "9999-12-31T23:59:59.999999Z"
	instantMinusInfinity = "0001-01-01T00:00:00Z"
)

// valueEncoder turns one column's text-format values into JSON. It is chosen
// once per column (discovery), and serves every path that reads the column.
type valueEncoder struct {
	enc   encoding
	array bool
	delim byte
	// scratch is reused for compacted JSON and unescaped array elements.
	scratch bytes.Buffer
	elem    []byte
}

// appendJSON appends the JSON of v (a text-format value; nil is SQL NULL).
func (e *valueEncoder) appendJSON(b, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	if e.array {
		out, ok := e.appendArray(b, v)
		if !ok {
			// Not an array literal we understand: keep the text.
			return singer.AppendJSONBytes(b, v)
		}
		return out
	}
	return e.appendScalar(b, v)
}

func (e *valueEncoder) appendScalar(b, v []byte) []byte {
	switch e.enc {
	case encNumber:
		return append(b, v...)
	case encNumeric, encFloat:
		switch string(v) {
		case "NaN", "Infinity", "-Infinity":
			return append(b, "null"...)
		}
		return append(b, v...)
	case encBool:
		if len(v) > 0 && v[0] == 't' {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case encJSON:
		e.scratch.Reset()
		if err := json.Compact(&e.scratch, v); err != nil {
			return singer.AppendJSONBytes(b, v)
		}
		return append(b, e.scratch.Bytes()...)
	case encJSONB:
		return append(b, v...)
	case encBytea:
		return singer.AppendJSONBytes(b, bytes.TrimPrefix(v, []byte(`\x`)))
	case encDate:
		return appendDate(b, v)
	case encTimestamp, encTimestamptz:
		return appendInstant(b, v)
	case encTimetz:
		// PostgreSQL writes "+02" for whole hours; RFC 3339 wants "+02:00".
		if i := bytes.LastIndexAny(v, "+-"); i >= 0 && len(v)-i == 3 {
			b = append(b, '"')
			b = append(b, v...)
			return append(b, `:00"`...)
		}
	}
	return singer.AppendJSONBytes(b, v)
}

// yearOK reports whether a date text starts with a four-digit year (not
// BC, not beyond 9999), which RFC 3339 can write.
func yearOK(v []byte) bool {
	return len(v) >= 10 && v[4] == '-' && !bytes.HasSuffix(v, []byte(" BC"))
}

func appendDate(b, v []byte) []byte {
	switch string(v) {
	case "infinity":
		return append(b, `"`+dateInfinity+`"`...)
	case "-infinity":
		return append(b, `"`+dateMinusInfinity+`"`...)
	}
	if !yearOK(v) {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

// appendInstant writes "YYYY-MM-DD HH:MM:SS[.ffffff][+00]" (DateStyle ISO,
// TimeZone UTC) as RFC 3339 in UTC. A timestamp without time zone is taken
// to be UTC.
func appendInstant(b, v []byte) []byte {
	switch string(v) {
	case "infinity":
		return append(b, `"`+instantInfinity+`"`...)
	case "-infinity":
		return append(b, `"`+instantMinusInfinity+`"`...)
	}
	if !yearOK(v) || len(v) < 19 {
		return append(b, "null"...)
	}
	t := v[11:]
	if i := bytes.IndexAny(t, "+-"); i >= 0 {
		// The session runs in UTC, so the offset is +00.
		t = t[:i]
	}
	b = append(b, '"')
	b = append(b, v[:10]...)
	b = append(b, 'T')
	b = append(b, t...)
	return append(b, `Z"`...)
}

// appendArray converts an array literal ({1,2,NULL}, {"a b","c\"d"},
// {{1,2},{3,4}}, [0:1]={1,2}) to a JSON array of element values.
func (e *valueEncoder) appendArray(b, v []byte) ([]byte, bool) {
	if len(v) > 0 && v[0] == '[' {
		i := bytes.IndexByte(v, '=')
		if i < 0 {
			return b, false
		}
		v = v[i+1:]
	}
	b, rest, ok := e.appendArrayLevel(b, v)
	return b, ok && len(rest) == 0
}

func (e *valueEncoder) appendArrayLevel(b, v []byte) ([]byte, []byte, bool) {
	if len(v) == 0 || v[0] != '{' {
		return b, v, false
	}
	v = v[1:]
	b = append(b, '[')
	if len(v) > 0 && v[0] == '}' {
		return append(b, ']'), v[1:], true
	}
	for first := true; ; first = false {
		if !first {
			b = append(b, ',')
		}
		if len(v) == 0 {
			return b, v, false
		}
		switch v[0] {
		case '{':
			var ok bool
			if b, v, ok = e.appendArrayLevel(b, v); !ok {
				return b, v, false
			}
		case '"':
			e.elem = e.elem[:0]
			i := 1
			for ; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				e.elem = append(e.elem, v[i])
			}
			if i >= len(v) {
				return b, v, false
			}
			b = e.appendScalar(b, e.elem)
			v = v[i+1:]
		default:
			i := 0
			for i < len(v) && v[i] != e.delim && v[i] != '}' {
				i++
			}
			if i == 4 && bytes.EqualFold(v[:4], []byte("NULL")) {
				b = append(b, "null"...)
			} else {
				b = e.appendScalar(b, v[:i])
			}
			v = v[i:]
		}
		if len(v) == 0 {
			return b, v, false
		}
		if v[0] == '}' {
			return append(b, ']'), v[1:], true
		}
		if v[0] != e.delim {
			return b, v, false
		}
		v = v[1:]
	}
}
