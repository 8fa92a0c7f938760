package streammap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unsafe"

	"github.com/singerkit/singerkit/singer"
)

// This file reads the members of a record in place and writes values
// back. Records come from singer.Decoder, which checked their JSON grammar
// fully, so the scanner here only finds boundaries.

// rawNumber is the exact input text of a number, what decimal() of a
// property receives.
type rawNumber string

// member is one member of a JSON object: its key (unescaped) and its raw
// value.
type member struct {
	key string
	raw []byte
	lit []byte // the key as written in the input, quotes included (nil: write key)
}

// scanMembers appends the members of the JSON object at the start of obj
// to dst, and returns the index just past the object. Keys without escapes
// are views of obj (valid while obj is). It finds boundaries only: the
// object's grammar is checked by whoever reads the output again.
func scanMembers(dst []member, obj []byte) ([]member, int, error) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return dst, 0, errors.New("not a JSON object")
	}
	i = skipWS(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return dst, i + 1, nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return dst, 0, fmt.Errorf("invalid JSON object at byte %d", i+1)
		}
		end, esc := stringEnd(obj, i+1)
		if end < 0 {
			return dst, 0, errors.New("unterminated string")
		}
		lit := obj[i:end]
		key := unsafeString(obj[i+1 : end-1])
		if esc {
			var err error
			if key, err = unquote(obj[i:end]); err != nil {
				return dst, 0, err
			}
		}
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return dst, 0, fmt.Errorf("invalid JSON object at byte %d", i+1)
		}
		i = skipWS(obj, i+1)
		vend := valueEnd(obj, i)
		if vend <= i {
			return dst, 0, fmt.Errorf("invalid JSON value at byte %d", i+1)
		}
		dst = append(dst, member{key: key, raw: obj[i:vend], lit: lit})
		i = skipWS(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
			continue
		}
		if i < len(obj) && obj[i] == '}' {
			return dst, i + 1, nil
		}
		return dst, 0, fmt.Errorf("invalid JSON object at byte %d", i+1)
	}
	return dst, 0, errors.New("truncated JSON object")
}

// unquote decodes a string literal with escapes.
func unquote(lit []byte) (string, error) {
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index past the closing quote of the string whose
// content starts at b[j], and whether it has escapes; -1 if unterminated.
func stringEnd(b []byte, j int) (int, bool) {
	esc := false
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1, esc
		}
		q := j + k
		// The quote ends the string unless an odd number of backslashes
		// come before it.
		n := 0
		for q-1-n >= j && b[q-1-n] == '\\' {
			n++
		}
		if n > 0 || bytes.IndexByte(b[j:q], '\\') >= 0 {
			esc = true
		}
		if n%2 == 0 {
			return q + 1, esc
		}
		j = q + 1
	}
}

// valueEnd returns the index past the value starting at b[i] (valid
// JSON), or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i+1)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			case '"':
				end, _ := stringEnd(b, j+1)
				if end < 0 {
					return -1
				}
				j = end - 1
			}
		}
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// decodeValue turns a raw JSON value into what expressions work with:
// string, int (a whole number that fits), float64, bool, nil, []any and
// map[string]any. A string without escapes is a view of raw: expressions
// run and their results are written before the line is reused.
func decodeValue(raw []byte) (any, error) {
	switch raw[0] {
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return unsafeString(raw[1 : len(raw)-1]), nil
		}
		return unquote(raw)
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return numbersOf(v), nil
	}
	return parseNumber(raw), nil
}

func parseNumber(raw []byte) any {
	s := unsafeString(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= math.MinInt && n <= math.MaxInt {
		return int(n)
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// numbersOf replaces the json.Numbers of a decoded value by int or float64.
func numbersOf(v any) any {
	switch v := v.(type) {
	case json.Number:
		return parseNumber([]byte(v))
	case []any:
		for i := range v {
			v[i] = numbersOf(v[i])
		}
	case map[string]any:
		for k, x := range v {
			v[k] = numbersOf(x)
		}
	}
	return v
}

// appendValue writes an expression's result as JSON. Objects are written
// with sorted keys, so the same value always gives the same text.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return singer.AppendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return b, fmt.Errorf("the result (%s) is not a JSON number", shape(v))
		}
		if v == math.Trunc(v) && math.Abs(v) < 1e21 {
			return strconv.AppendFloat(b, v, 'f', -1, 64), nil
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case rawNumber:
		return append(b, v...), nil
	case Decimal:
		return append(b, trimPlus(string(v))...), nil
	case time.Time:
		b = append(b, '"')
		b = singer.AppendTimestamp(b, v)
		return append(b, '"'), nil
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = singer.AppendJSONString(b, s)
		}
		return append(b, ']'), nil
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, x); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = singer.AppendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, v[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	// Other results (an expr duration, a slice of another type...) go
	// through encoding/json.
	j, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("cannot write the result (%T) as JSON: %v", v, err)
	}
	return append(b, j...), nil
}

func trimPlus(s string) string {
	if len(s) > 0 && s[0] == '+' {
		return s[1:]
	}
	return s
}

// orderedMembers decodes a JSON object keeping its members' order (for
// schemas, which are small and read once per SCHEMA message).
func orderedMembers(raw []byte) ([]member, error) {
	var out []member
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key: key, raw: v})
	}
	return out, nil
}

// appendObject writes members as a JSON object.
func appendObject(b []byte, ms []member) []byte {
	b = append(b, '{')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = singer.AppendJSONString(b, m.key)
		b = append(b, ':')
		b = append(b, m.raw...)
	}
	return append(b, '}')
}
