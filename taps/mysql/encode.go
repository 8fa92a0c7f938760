package mysql

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"

	"github.com/singerkit/singerkit/singer"
)

// valueEncoder turns one column's text-protocol value into JSON. It is
// chosen once per column at discovery and serves every path that reads the
// column.
type valueEncoder struct {
	enc     encoding
	boolean bool // bit(1)
	scratch bytes.Buffer
}

// appendJSON appends the JSON of v (raw text-protocol bytes; nil is NULL).
func (e *valueEncoder) appendJSON(b, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	switch e.enc {
	case encNumber:
		if len(v) == 0 {
			return append(b, "null"...)
		}
		return append(b, v...)
	case encFloat:
		// Not a JSON number: inf, nan, and +Inf/NaN, the text of a
		// binary-protocol double that is not finite.
		if len(v) == 0 || v[0] == 'i' || v[0] == 'n' || v[0] == 'I' || v[0] == 'N' || v[0] == '+' || bytes.HasPrefix(v, []byte("-i")) || bytes.HasPrefix(v, []byte("-I")) {
			return append(b, "null"...)
		}
		return append(b, v...)
	case encFloat32:
		x, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, float64(float32(x)), 'g', -1, 32)
	case encBool:
		if len(v) == 0 || string(v) == "0" {
			return append(b, "false"...)
		}
		return append(b, "true"...)
	case encBit:
		var n uint64
		for _, c := range v {
			n = n<<8 | uint64(c)
		}
		if e.boolean {
			if n == 0 {
				return append(b, "false"...)
			}
			return append(b, "true"...)
		}
		return strconv.AppendUint(b, n, 10)
	case encHex:
		b = append(b, '"')
		b = hex.AppendEncode(b, v)
		return append(b, '"')
	case encJSON:
		e.scratch.Reset()
		if json.Compact(&e.scratch, v) == nil {
			return append(b, e.scratch.Bytes()...)
		}
		return singer.AppendJSONBytes(b, v)
	case encDate:
		if !dateOK(v) {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = append(b, v[:10]...)
		return append(b, '"')
	case encDatetime:
		if len(v) < 19 || !dateOK(v) || v[10] != ' ' {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = append(b, v[:10]...)
		b = append(b, 'T')
		b = append(b, v[11:]...)
		return append(b, `Z"`...)
	}
	return singer.AppendJSONBytes(b, v)
}

// dateOK reports whether v starts with a real calendar date YYYY-MM-DD:
// zero dates (0000-00-00), zero months or days and days a month does not
// have (ALLOW_INVALID_DATES) are not.
func dateOK(v []byte) bool {
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	num := func(s []byte) int {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, m, d := num(v[:4]), num(v[5:7]), num(v[8:10])
	if y <= 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}
