package streammap

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/expr-lang/expr"
)

// This file is the function library of map expressions. Every function
// but coalesce returns null for a null argument, so that a map over an
// optional property never fails on the records where it is missing.

// Decimal is the result of decimal(): the exact text of a number, written
// to the output as a JSON number, never rounded through float64.
type Decimal string

// redacted is what redact() writes in place of a value.
const redacted = "REDACTED"

// function is one entry of the library: its implementation and the Go
// signatures the expression checker types calls with (the result type of
// a call decides the JSON Schema of a computed property).
type function struct {
	name  string
	fn    func(args ...any) (any, error)
	types []any
}

// oneArg are the functions that native.go calls with one argument
// without building a slice of arguments on every record.
var oneArg = map[string]func(any) (any, error){
	"md5":    func(v any) (any, error) { return hashWith(v, md5Hex) },
	"sha256": func(v any) (any, error) { return hashWith(v, sha256Hex) },
	"lower":  stringOne(strings.ToLower),
	"upper":  stringOne(strings.ToUpper),
	"trim":   stringOne(strings.TrimSpace),
}

var library = []function{
	{"md5", func(a ...any) (any, error) { return hashWith(a[0], md5Hex) }, []any{new(func(any) string)}},
	{"sha256", func(a ...any) (any, error) { return hashWith(a[0], sha256Hex) }, []any{new(func(any) string)}},
	{"hmac_sha256", hmacSHA256, []any{new(func(any, any) string)}},
	{"mask", mask, []any{new(func(any) string), new(func(any, int) string)}},
	{"redact", func(a ...any) (any, error) {
		if a[0] == nil {
			return nil, nil
		}
		return redacted, nil
	}, []any{new(func(any) string)}},
	{"lower", stringFunc(strings.ToLower), []any{new(func(any) string)}},
	{"upper", stringFunc(strings.ToUpper), []any{new(func(any) string)}},
	{"trim", stringFunc(strings.TrimSpace), []any{new(func(any) string)}},
	{"startswith", func(a ...any) (any, error) { return affix(a, strings.HasPrefix) }, []any{new(func(any, string) bool)}},
	{"endswith", func(a ...any) (any, error) { return affix(a, strings.HasSuffix) }, []any{new(func(any, string) bool)}},
	{"date_trunc", dateTrunc, []any{new(func(string, any) string)}},
	{"coalesce", func(a ...any) (any, error) {
		for _, v := range a {
			if v != nil {
				return v, nil
			}
		}
		return nil, nil
	}, nil},
	{"json", func(a ...any) (any, error) {
		if len(a) != 1 {
			return nil, fmt.Errorf("json takes one argument, got %d", len(a))
		}
		b, err := appendValue(nil, a[0])
		return string(b), err
	}, []any{new(func(any) string)}},
	{"int", toInt, []any{new(func(any) int)}},
	{"float", toFloat, []any{new(func(any) float64)}},
	{"str", toStr, []any{new(func(any) string)}},
	{"decimal", toDecimal, []any{new(func(any) Decimal)}},
	{"bool", toBool, []any{new(func(any) bool)}},
}

// functionNames are the library's names: identifiers that are not record
// properties.
var functionNames = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range library {
		m[f.name] = true
	}
	return m
}()

// libraryOptions are the expr options that install the library.
func stringOne(f func(string) string) func(any) (any, error) {
	g := stringFunc(f)
	return func(v any) (any, error) {
		if s, ok := v.(string); ok {
			return f(s), nil
		}
		return g(v)
	}
}

func libraryOptions() []expr.Option {
	opts := make([]expr.Option, 0, len(library))
	for _, f := range library {
		opts = append(opts, expr.Function(f.name, f.fn, f.types...))
	}
	return opts
}

// The hashes read the string where it lies (they neither keep nor change
// their input) and write the digits without bounds checks: a hashed
// property is hashed once per record.

func md5Hex(s string) string {
	sum := md5.Sum(unsafe.Slice(unsafe.StringData(s), len(s)))
	var h [2 * md5.Size]byte
	for i := 0; i < md5.Size; i++ {
		h[2*i], h[2*i+1] = hexDigits[sum[i]>>4], hexDigits[sum[i]&15]
	}
	return string(h[:])
}

func sha256Hex(s string) string {
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(s), len(s)))
	var h [2 * sha256.Size]byte
	for i := 0; i < sha256.Size; i++ {
		h[2*i], h[2*i+1] = hexDigits[sum[i]>>4], hexDigits[sum[i]&15]
	}
	return string(h[:])
}

func md5Append(dst []byte, s string) []byte {
	sum := md5.Sum(unsafe.Slice(unsafe.StringData(s), len(s)))
	return appendHex(dst, sum[:])
}

func sha256Append(dst []byte, s string) []byte {
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(s), len(s)))
	return appendHex(dst, sum[:])
}

func appendHex(dst, sum []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(sum))[:n+2*len(sum)]
	h := dst[n:]
	for i, c := range sum {
		h[2*i], h[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// hashWith hashes the text of v (a string as is, anything else as str()
// writes it), so the same value always gives the same hash: a hashed key
// keeps a stream mergeable.
func hashWith(v any, h func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	return h(s), nil
}

func hmacSHA256(a ...any) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	if a[1] == nil {
		return nil, errors.New("hmac_sha256: the key is null (is it set in stream_map_config?)")
	}
	s, err := text(a[0])
	if err != nil {
		return nil, err
	}
	key, err := text(a[1])
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, errors.New("hmac_sha256: the key is empty")
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// mask replaces every character of the text of a value by '*' but the last
// keep_last (default 0).
func mask(a ...any) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	s, err := text(a[0])
	if err != nil {
		return nil, err
	}
	keep := 0
	if len(a) > 1 {
		k, ok := a[1].(int)
		if !ok || k < 0 {
			return nil, fmt.Errorf("mask: keep_last must be an integer >= 0, got %v", a[1])
		}
		keep = k
	}
	n := utf8.RuneCountInString(s)
	if keep >= n {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, r := range s {
		if i < n-keep {
			b.WriteByte('*')
		} else {
			b.WriteRune(r)
		}
		i++
	}
	return b.String(), nil
}

func stringFunc(f func(string) string) func(a ...any) (any, error) {
	return func(a ...any) (any, error) {
		if a[0] == nil {
			return nil, nil
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("expected a string, got %s", typeName(a[0]))
		}
		return f(s), nil
	}
}

func affix(a []any, f func(s, affix string) bool) (any, error) {
	if a[0] == nil {
		return false, nil
	}
	s, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("expected a string, got %s", typeName(a[0]))
	}
	return f(s, a[1].(string)), nil
}

// timeLayouts are the forms date_trunc reads; it writes its result in the
// form it read.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"}

// dateTrunc truncates a timestamp or date to the start of its year,
// quarter, month, week (Monday), day, hour, minute or second, in the time
// zone offset it was written with.
func dateTrunc(a ...any) (any, error) {
	unit, _ := a[0].(string)
	if a[1] == nil {
		return nil, nil
	}
	var (
		t      time.Time
		layout string
	)
	switch v := a[1].(type) {
	case string:
		var err error
		for _, layout = range timeLayouts {
			if t, err = time.Parse(layout, v); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("date_trunc: %s is not a date or an RFC 3339 timestamp", shape(v))
		}
		if layout == time.RFC3339Nano || strings.HasSuffix(layout, "Z07:00") {
			layout = strings.Replace(layout, ".999999999", "", 1)
		} else if layout != "2006-01-02" {
			layout = strings.Replace(layout, ".999999999", "", 1)
		}
	case time.Time:
		t, layout = v, time.RFC3339
	default:
		return nil, fmt.Errorf("date_trunc: expected a date or timestamp string, got %s", typeName(v))
	}
	y, m, d := t.Date()
	loc := t.Location()
	switch strings.ToLower(unit) {
	case "year":
		t = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	case "quarter":
		t = time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, loc)
	case "month":
		t = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case "week":
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		t = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
	case "day":
		t = time.Date(y, m, d, 0, 0, 0, 0, loc)
	case "hour":
		t = time.Date(y, m, d, t.Hour(), 0, 0, 0, loc)
	case "minute":
		t = time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, loc)
	case "second":
		t = time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, loc)
	default:
		return nil, fmt.Errorf("date_trunc: unknown unit %q (year, quarter, month, week, day, hour, minute or second)", unit)
	}
	return t.Format(layout), nil
}

func toInt(a ...any) (any, error) {
	switch v := a[0].(type) {
	case nil:
		return nil, nil
	case int:
		return v, nil
	case float64:
		if v != math.Trunc(v) || math.IsInf(v, 0) || math.IsNaN(v) || v > math.MaxInt64 || v < math.MinInt64 {
			return nil, fmt.Errorf("int: %s is not a whole number in the 64-bit range", shape(v))
		}
		return int(v), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(v)
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
		// "12.0" and "1e3" are whole numbers too.
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), nil
		}
		return nil, fmt.Errorf("int: %s is not a whole number", shape(v))
	case Decimal:
		return toInt(string(v))
	}
	return nil, fmt.Errorf("int: cannot convert %s", typeName(a[0]))
}

func toFloat(a ...any) (any, error) {
	switch v := a[0].(type) {
	case nil:
		return nil, nil
	case int:
		return float64(v), nil
	case float64:
		return v, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("float: %s is not a number", shape(v))
		}
		return f, nil
	case Decimal:
		return toFloat(string(v))
	}
	return nil, fmt.Errorf("float: cannot convert %s", typeName(a[0]))
}

func toStr(a ...any) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	s, err := text(a[0])
	if err != nil {
		return nil, err
	}
	return s, nil
}

// toDecimal keeps the exact text of a number: a property given directly
// (decimal(amount)) arrives as its input text, a string is checked to be
// a decimal number. A float (decimal(float(x)) or arithmetic) is written
// with the shortest text that reads back as the same float: asked for.
func toDecimal(a ...any) (any, error) {
	switch v := a[0].(type) {
	case nil:
		return nil, nil
	case rawNumber:
		return Decimal(v), nil
	case int:
		return Decimal(strconv.Itoa(v)), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("decimal: %s is not a number", shape(v))
		}
		return Decimal(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case string:
		s := strings.TrimSpace(v)
		if !isDecimalText(s) {
			return nil, fmt.Errorf("decimal: %s is not a decimal number", shape(v))
		}
		return Decimal(s), nil
	case Decimal:
		return v, nil
	}
	return nil, fmt.Errorf("decimal: cannot convert %s", typeName(a[0]))
}

// isDecimalText accepts JSON number syntax with an optional leading '+'.
func isDecimalText(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	var n json.Number = json.Number(s)
	if _, err := n.Float64(); err != nil {
		return false
	}
	return json.Valid([]byte(s))
}

// toBool is Python's truthiness, for filters written bool(...) as
// Meltano's documentation advises.
func toBool(a ...any) (any, error) {
	switch v := a[0].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	case float64:
		return v != 0, nil
	case string:
		return v != "", nil
	case []any:
		return len(v) > 0, nil
	case map[string]any:
		return len(v) > 0, nil
	}
	return true, nil
}

// text is the text of a scalar value, as str() writes it: a string as
// is, a number as JSON writes it, true/false; an object or array as JSON.
func text(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case rawNumber:
		return string(v), nil
	case Decimal:
		return string(v), nil
	}
	b, err := appendValue(nil, v)
	return string(b), err
}

// shape describes a value for an error message without its content: the
// values a map works on are often personal data (an email to hash, a
// phone to mask), and an error line goes to logs that the map exists to
// keep them out of.
func shape(v any) string {
	switch v := v.(type) {
	case string:
		if n := utf8.RuneCountInString(v); n != 1 {
			return fmt.Sprintf("a string of %d characters", n)
		}
		return "a string of 1 character"
	case float64:
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 0):
			return "an infinite number"
		case v != math.Trunc(v):
			return "a number with a fraction"
		}
		return "a number"
	}
	return typeName(v)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case int, float64, rawNumber, Decimal:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
