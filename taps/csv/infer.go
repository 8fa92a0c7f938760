package csvtap

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/singerkit/singerkit/singer"
)

// typeSet is a set of JSON types a column's values may take.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tInteger
	tNumber
	tBoolean
	tString
)

var typeNames = map[string]typeSet{
	"null": tNull, "integer": tInteger, "number": tNumber, "boolean": tBoolean, "string": tString,
}

// strFormat is a string format the tap checks (and normalizes) itself.
type strFormat uint8

const (
	fmtNone strFormat = iota
	fmtDate
	fmtDateTime
)

// colType is how a column's cells become JSON values: the types and format
// the column's schema allows.
type colType struct {
	types  typeSet
	format strFormat
}

// inferredType is one row of the inference table: the candidate it needs,
// the schema it sends, and how a misfit is described.
type inferredType struct {
	candidate uint8
	typ       colType
	schema    string
	what      string
}

// Candidates a column keeps while every sampled value fits them.
const (
	cInteger uint8 = 1 << iota
	cNumber
	cBoolean
	cDate
	cDateTime
	cAll = cInteger | cNumber | cBoolean | cDate | cDateTime
)

// inferenceTable lists the inferred types, most specific first: a column
// gets the first one all its sampled values fit, else nullable string (also
// when every sampled value is empty).
var inferenceTable = []inferredType{
	{cInteger, colType{tNull | tInteger, fmtNone}, `{"type":["null","integer"]}`, "an integer"},
	{cNumber, colType{tNull | tNumber, fmtNone}, `{"type":["null","number"]}`, "a decimal number"},
	{cBoolean, colType{tNull | tBoolean, fmtNone}, `{"type":["null","boolean"]}`, "a boolean (true or false)"},
	{cDate, colType{tNull | tString, fmtDate}, `{"type":["null","string"],"format":"date"}`, "a date (YYYY-MM-DD)"},
	{cDateTime, colType{tNull | tString, fmtDateTime}, `{"type":["null","string"],"format":"date-time"}`, "a date-time (RFC 3339, or YYYY-MM-DD HH:MM:SS[.fff] read as UTC)"},
}

var stringType = inferredType{0, colType{tNull | tString, fmtNone}, `{"type":["null","string"]}`, "a string"}

// inference collects what the sampled values of one column fit.
type inference struct {
	candidates uint8
	seen       bool // a non-empty value was sampled
}

func newInference() inference { return inference{candidates: cAll} }

// observe narrows the candidates by one cell. Empty cells are null and fit
// every type.
func (in *inference) observe(v string) {
	if v == "" || in.candidates == 0 {
		return
	}
	in.seen = true
	c := in.candidates
	if c&cInteger != 0 && !isInteger(v) {
		c &^= cInteger
	}
	if c&cNumber != 0 && !isDecimal(v) {
		c &^= cNumber
	}
	if c&cBoolean != 0 && parseBool(v) < 0 {
		c &^= cBoolean
	}
	if c&cDate != 0 && !isDate(v) {
		c &^= cDate
	}
	if c&cDateTime != 0 && !isDateTime(v) {
		c &^= cDateTime
	}
	in.candidates = c
}

// result returns the inferred type.
func (in *inference) result() inferredType {
	if !in.seen {
		return stringType // nothing to go by: anything fits a string
	}
	for _, t := range inferenceTable {
		if in.candidates&t.candidate != 0 {
			return t
		}
	}
	return stringType
}

// appendValue appends cell v as a JSON value of type t. ok is false when v
// does not fit t. Numbers are appended as their exact text.
func (t colType) appendValue(b []byte, v string) (_ []byte, ok bool) {
	if v == "" {
		switch {
		case t.types&tNull != 0:
			return append(b, "null"...), true
		case t.types&tString != 0 && t.format == fmtNone:
			return append(b, `""`...), true
		}
		return b, false
	}
	if t.types&tInteger != 0 && isInteger(v) {
		return append(b, v...), true
	}
	if t.types&tNumber != 0 && isDecimal(v) {
		return append(b, v...), true
	}
	if t.types&tBoolean != 0 {
		switch parseBool(v) {
		case 0:
			return append(b, "false"...), true
		case 1:
			return append(b, "true"...), true
		}
	}
	if t.types&tString != 0 {
		switch t.format {
		case fmtDate:
			if isDate(v) {
				b = append(b, '"')
				b = append(b, v...)
				return append(b, '"'), true
			}
		case fmtDateTime:
			if isDateTime(v) {
				return appendDateTime(b, v), true
			}
		default:
			if utf8.ValidString(v) {
				return singer.AppendJSONString(b, v), true
			}
		}
	}
	return b, false
}

// describe says in words what a value of t is, for errors.
func (t colType) describe() string {
	for _, it := range inferenceTable {
		if it.typ == t {
			return it.what
		}
	}
	var names []string
	for _, n := range []string{"null", "integer", "number", "boolean", "string"} {
		if t.types&typeNames[n] != 0 {
			names = append(names, n)
		}
	}
	s := strings.Join(names, " or ")
	switch t.format {
	case fmtDate:
		s += " (format date: YYYY-MM-DD)"
	case fmtDateTime:
		s += " (format date-time: RFC 3339, or YYYY-MM-DD HH:MM:SS[.fff] read as UTC)"
	}
	return s
}

// suggestion is the schema_overrides fragment to propose when value v does
// not fit t: number for an integer column that met a decimal, else string.
func suggestion(t colType, v string) string {
	if t.types&tInteger != 0 && t.types&tNumber == 0 && isDecimal(v) {
		return `{"type": ["null", "number"]}`
	}
	return `{"type": ["null", "string"]}`
}

// isInteger reports whether s is an integer in JSON syntax (no sign other
// than '-', no leading zeros) that fits an int64.
func isInteger(s string) bool {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if d == "" || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	if len(d) < 19 {
		return true
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// isDecimal reports whether s is a decimal in JSON number syntax without an
// exponent: -?(0|[1-9][0-9]*)(.[0-9]+)?. Such text is emitted as is, so
// the number keeps every digit.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	frac := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > frac && i == len(s)
}

// parseBool returns 1 for true, 0 for false (any case), -1 otherwise.
func parseBool(s string) int {
	switch {
	case strings.EqualFold(s, "true"):
		return 1
	case strings.EqualFold(s, "false"):
		return 0
	}
	return -1
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

// isDate reports whether s is a calendar date YYYY-MM-DD.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := 31
	switch m {
	case 2:
		days = 28
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			days = 29
		}
	case 4, 6, 9, 11:
		days = 30
	}
	return d <= days
}

// dateTimeZone returns where the zone of date-time s starts (len(s) when
// it has none) and whether s is a date-time: a date, 'T' or a space,
// hh:mm:ss, an optional fraction of 1 to 9 digits, and an optional zone (Z
// or ±hh:mm).
func dateTimeZone(s string) (zone int, ok bool) {
	if len(s) < 19 || !isDate(s[:10]) || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	h, ok1 := digits(s[11:13])
	m, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	i := 19
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if n := i - start; n < 1 || n > 9 {
			return 0, false
		}
	}
	zone = i
	switch {
	case i == len(s):
		return zone, true
	case s[i] == 'Z':
		return zone, i+1 == len(s)
	case s[i] == '+' || s[i] == '-':
		if len(s)-i != 6 || s[i+3] != ':' {
			return 0, false
		}
		zh, ok1 := digits(s[i+1 : i+3])
		zm, ok2 := digits(s[i+4 : i+6])
		return zone, ok1 && ok2 && zh <= 23 && zm <= 59
	}
	return 0, false
}

func isDateTime(s string) bool {
	_, ok := dateTimeZone(s)
	return ok
}

// appendDateTime appends date-time s (valid by isDateTime) as a JSON string
// in RFC 3339: 'T' between date and time, and Z when s has no zone (a
// timestamp without a zone is read as UTC).
func appendDateTime(b []byte, s string) []byte {
	zone, _ := dateTimeZone(s)
	b = append(b, '"')
	b = append(b, s[:10]...)
	b = append(b, 'T')
	b = append(b, s[11:]...)
	if zone == len(s) {
		b = append(b, 'Z')
	}
	return append(b, '"')
}

// quoteValue quotes a cell for an error message, shortened when long.
func quoteValue(v string) string {
	const max = 60
	if len(v) <= max {
		return strconv.Quote(v)
	}
	n := max
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return strconv.Quote(v[:n]) + fmt.Sprintf("... (%d bytes)", len(v))
}
