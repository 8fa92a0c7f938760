package singer

import (
	"math/big"
	"strconv"
)

// decView is a zero-allocation view of a decimal number's text: sign, the
// significant digits (spread over the integer and fraction parts, leading
// and trailing zeros dropped) and the position of the decimal point.
// The value is 0.d1d2d3... x 10^point.
type decView struct {
	neg    bool
	digits [2][]byte // integer part, fraction part (raw, zeros included)
	first  int       // index of the first significant digit in the concatenation
	last   int       // index past the last significant digit
	point  int       // decimal exponent of the 0.ddd form
	zero   bool
}

func (d *decView) digitAt(k int) byte {
	if k < len(d.digits[0]) {
		return d.digits[0][k]
	}
	return d.digits[1][k-len(d.digits[0])]
}

// parseDecView reads a JSON number (already checked by scanNumber) or a
// decimal string checked by isDecimalText.
func parseDecView(b []byte) (d decView, ok bool) {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		d.neg = b[i] == '-'
		i++
	}
	s := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	d.digits[0] = b[s:i]
	if i < len(b) && b[i] == '.' {
		i++
		s = i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		d.digits[1] = b[s:i]
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		e, err := strconv.Atoi(string(b[i+1:]))
		if err != nil || e > 1<<30 || e < -(1<<30) {
			return d, false
		}
		exp = e
		i = len(b)
	}
	if i != len(b) {
		return d, false
	}
	n := len(d.digits[0]) + len(d.digits[1])
	d.first = 0
	for d.first < n && d.digitAt(d.first) == '0' {
		d.first++
	}
	if d.first == n {
		d.zero = true
		d.neg = false
		return d, true
	}
	d.last = n
	for d.digitAt(d.last-1) == '0' {
		d.last--
	}
	d.point = len(d.digits[0]) - d.first + exp
	return d, true
}

// cmpMagnitude compares |a| and |b| for non-zero views.
func cmpMagnitude(a, b *decView) int {
	if a.point != b.point {
		if a.point < b.point {
			return -1
		}
		return 1
	}
	na, nb := a.last-a.first, b.last-b.first
	for k := 0; k < na || k < nb; k++ {
		var da, db byte = '0', '0'
		if k < na {
			da = a.digitAt(a.first + k)
		}
		if k < nb {
			db = b.digitAt(b.first + k)
		}
		if da != db {
			if da < db {
				return -1
			}
			return 1
		}
	}
	return 0
}

// cmpDec compares two decimal views exactly.
func cmpDec(a, b *decView) int {
	switch {
	case a.zero && b.zero:
		return 0
	case a.zero:
		if b.neg {
			return 1
		}
		return -1
	case b.zero:
		if a.neg {
			return -1
		}
		return 1
	case a.neg != b.neg:
		if a.neg {
			return -1
		}
		return 1
	}
	c := cmpMagnitude(a, b)
	if a.neg {
		return -c
	}
	return c
}

// fractionDigits returns how many digits after the decimal point the value
// needs (0 for integers).
func (d *decView) fractionDigits() int {
	if d.zero {
		return 0
	}
	f := (d.last - d.first) - d.point
	if f < 0 {
		return 0
	}
	return f
}

// IsDecimalText tells whether s is a decimal number as string-encoded
// decimals (format singer.decimal) carry it: an optional sign, digits, an
// optional fraction and an optional exponent.
func IsDecimalText(s []byte) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		k := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == k {
			return false
		}
	}
	return i == len(s)
}

// multipleOfTolerant is the multipleOf rule of this toolkit: v is a multiple
// of m when v/m is an integer exactly, or when v rounded to 15 significant
// digits is (binary floating-point noise such as 0.30000000000000004 for
// multipleOf 0.1 is forgiven; a real extra digit such as 0.35 is not).
func multipleOfTolerant(v, m *big.Rat) bool {
	if new(big.Rat).Quo(v, m).IsInt() {
		return true
	}
	f, _ := v.Float64()
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', 15, 64))
	if !ok {
		return false
	}
	return new(big.Rat).Quo(r, m).IsInt()
}
