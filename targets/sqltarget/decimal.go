package sqltarget

import (
	"fmt"
	"strconv"
)

// Decimal is a decimal number read from its exact text (a JSON number, or
// a string holding one): its sign, its significant digits and the power
// of ten of its last digit, value = ±Digits × 10^Exp. Dialects that load
// DECIMAL columns use it to check a value against the column's digits
// (never rounding) and to write it out in their own form.
type Decimal struct {
	Neg    bool
	Digits []byte // ASCII, no leading or trailing zeros; empty for zero
	Exp    int
}

// ParseDecimal reads [+-]digits[.digits][(e|E)[+-]digits]. ok is false for
// any other text, and for exponents beyond ±1000 (no column holds them).
func ParseDecimal(s []byte) (Decimal, bool) { return ParseDecimalTo(nil, s) }

// ParseDecimalTo is ParseDecimal with the digits written over dst's room
// (dst[:0]), so that a caller that keeps the returned Digits as dst for
// the next value parses without allocating.
func ParseDecimalTo(dst, s []byte) (Decimal, bool) {
	d := Decimal{Digits: dst[:0]}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		d.Neg = s[i] == '-'
		i++
	}
	n, frac, point := 0, 0, false
	for ; i < len(s); i++ {
		ch := s[i]
		if ch >= '0' && ch <= '9' {
			n++
			if point {
				frac++
			}
			if ch == '0' && len(d.Digits) == 0 {
				continue // a leading zero
			}
			d.Digits = append(d.Digits, ch)
			continue
		}
		if ch == '.' && !point {
			point = true
			continue
		}
		break
	}
	if n == 0 {
		return d, false
	}
	// Digits holds every digit after the leading zeros; its last digit
	// has the power -frac.
	d.Exp = -frac
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return d, false
		}
		e, err := strconv.Atoi(string(s[i+1:]))
		if err != nil || e > 1000 || e < -1000 {
			return d, false
		}
		d.Exp += e
	}
	for len(d.Digits) > 0 && d.Digits[len(d.Digits)-1] == '0' {
		d.Digits = d.Digits[:len(d.Digits)-1]
		d.Exp++
	}
	if len(d.Digits) == 0 {
		d.Neg, d.Exp = false, 0
	}
	return d, true
}

// IsZero reports whether the number is zero.
func (d Decimal) IsZero() bool { return len(d.Digits) == 0 }

// IntDigits is the number of digits before the decimal point (zero or
// less for a number below 1: 0.05 has -1).
func (d Decimal) IntDigits() int { return len(d.Digits) + d.Exp }

// FracDigits is the number of digits after the decimal point.
func (d Decimal) FracDigits() int { return max(0, -d.Exp) }

// Fits reports whether DECIMAL(prec,scale) holds the number exactly.
func (d Decimal) Fits(prec, scale int) bool {
	return d.IsZero() || (d.FracDigits() <= scale && d.IntDigits() <= prec-scale)
}

// AppendText writes the number as plain decimal text, without an exponent
// ("0" for zero, "-0.05", "1200").
func (d Decimal) AppendText(buf []byte) []byte {
	if d.IsZero() {
		return append(buf, '0')
	}
	if d.Neg {
		buf = append(buf, '-')
	}
	intDigits := d.IntDigits()
	switch {
	case d.Exp >= 0:
		buf = append(buf, d.Digits...)
		for k := 0; k < d.Exp; k++ {
			buf = append(buf, '0')
		}
	case intDigits > 0:
		buf = append(buf, d.Digits[:intDigits]...)
		buf = append(buf, '.')
		buf = append(buf, d.Digits[intDigits:]...)
	default:
		buf = append(buf, '0', '.')
		for k := 0; k < -intDigits; k++ {
			buf = append(buf, '0')
		}
		buf = append(buf, d.Digits...)
	}
	return buf
}

// DecimalRule is a dialect's DECIMAL: its limits and the digits of the
// columns it makes for "number" properties. Dialects with a DECIMAL type
// share one widening rule through it: a column widens its digits on both
// sides of the point, never losing a digit of the values it holds, up to
// the limits; beyond them the dialect's text type takes over.
type DecimalRule struct {
	MaxPrecision int // the widest DECIMAL(p,...)
	MaxScale     int // the most digits after the point
	// NumberPrecision and NumberScale: the DECIMAL of "number" columns
	// without declared digits.
	NumberPrecision, NumberScale int
}

// Type is "DECIMAL(p,s)" for intDigits before the point and scale after,
// or "" when that is beyond the limits.
func (r DecimalRule) Type(intDigits, scale int) string {
	if intDigits+scale > r.MaxPrecision || scale > r.MaxScale {
		return ""
	}
	return fmt.Sprintf("DECIMAL(%d,%d)", intDigits+scale, scale)
}

// Widen says how a DECIMAL(prec,scale) column takes values of want, a
// number (the rule's number digits) or a decimal (its declared digits):
// keep is true when it holds them as it is; otherwise typ is the wider
// DECIMAL with the digits of both, or "" when no DECIMAL within the limits
// has them (the dialect's text type). applies is false for other kinds.
func (r DecimalRule) Widen(prec, scale int, want LogicalType) (typ string, keep, applies bool) {
	var i, s int
	switch want.Kind {
	case KindNumber:
		i, s = max(prec-scale, r.NumberPrecision-r.NumberScale), max(scale, r.NumberScale)
	case KindDecimal:
		i, s = max(prec-scale, want.Precision-want.Scale), max(scale, want.Scale)
	default:
		return "", false, false
	}
	if i == prec-scale && s == scale {
		return "", true, true
	}
	return r.Type(i, s), false, true
}

// FromInteger is the DECIMAL an integer column (64 bits at most) becomes
// to take values of want, a number or a decimal: the number digits, or
// the declared scale with at least 20 digits before the point (every
// 64-bit integer). "" when beyond the limits; applies is false for other
// kinds.
func (r DecimalRule) FromInteger(want LogicalType) (typ string, applies bool) {
	switch want.Kind {
	case KindNumber:
		return r.Type(r.NumberPrecision-r.NumberScale, r.NumberScale), true
	case KindDecimal:
		return r.Type(max(20, want.Precision-want.Scale), want.Scale), true
	}
	return "", false
}
