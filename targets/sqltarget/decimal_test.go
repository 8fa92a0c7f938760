package sqltarget

import "testing"

func TestParseDecimal(t *testing.T) {
	cases := []struct {
		in         string
		ok         bool
		neg        bool
		digits     string
		exp        int
		text       string
		intDigits  int
		fracDigits int
	}{
		{in: "0", ok: true, text: "0"},
		{in: "-0.000", ok: true, text: "0"},
		{in: "12.3400", ok: true, digits: "1234", exp: -2, text: "12.34", intDigits: 2, fracDigits: 2},
		{in: "-0.05", ok: true, neg: true, digits: "5", exp: -2, text: "-0.05", intDigits: -1, fracDigits: 2},
		{in: "1200", ok: true, digits: "12", exp: 2, text: "1200", intDigits: 4},
		{in: "+7", ok: true, digits: "7", text: "7", intDigits: 1},
		{in: "1.5e3", ok: true, digits: "15", exp: 2, text: "1500", intDigits: 4},
		{in: "25E-4", ok: true, digits: "25", exp: -4, text: "0.0025", intDigits: -2, fracDigits: 4},
		{in: "123456789012345678901234567890.123456789", ok: true, digits: "123456789012345678901234567890123456789", exp: -9,
			text: "123456789012345678901234567890.123456789", intDigits: 30, fracDigits: 9},
		{in: "", ok: false},
		{in: "-", ok: false},
		{in: "1.2.3", ok: false},
		{in: "12abc", ok: false},
		{in: "1e1001", ok: false},
		{in: "1e", ok: false},
		{in: "NaN", ok: false},
	}
	// Every case twice: through ParseDecimal, and through ParseDecimalTo
	// reusing the digits of the value before (as target-mysql does).
	var room []byte
	for _, c := range append(cases, cases...) {
		d, ok := ParseDecimal([]byte(c.in))
		if room != nil {
			d, ok = ParseDecimalTo(room, []byte(c.in))
			room = d.Digits
		}
		if c.in == "NaN" && room == nil {
			room = make([]byte, 0, 4)
		}
		if ok != c.ok {
			t.Errorf("ParseDecimal(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if d.Neg != c.neg || string(d.Digits) != c.digits || d.Exp != c.exp {
			t.Errorf("ParseDecimal(%q) = {%v %q %d}, want {%v %q %d}", c.in, d.Neg, d.Digits, d.Exp, c.neg, c.digits, c.exp)
		}
		if got := string(d.AppendText([]byte("x"))); got != "x"+c.text {
			t.Errorf("ParseDecimal(%q).AppendText = %q, want %q", c.in, got, "x"+c.text)
		}
		if d.IntDigits() != c.intDigits || d.FracDigits() != c.fracDigits {
			t.Errorf("ParseDecimal(%q): %d digits before the point and %d after, want %d and %d", c.in, d.IntDigits(), d.FracDigits(), c.intDigits, c.fracDigits)
		}
	}
	in := []byte("-12345.678")
	if n := testing.AllocsPerRun(100, func() { room = parseKeepingRoom(room, in) }); n != 0 {
		t.Errorf("ParseDecimalTo allocates %v times a value with room kept", n)
	}
}

// parseKeepingRoom parses in over room and returns the room to keep.
func parseKeepingRoom(room, in []byte) []byte {
	d, _ := ParseDecimalTo(room, in)
	return d.Digits
}

func TestDecimalFits(t *testing.T) {
	cases := []struct {
		in          string
		prec, scale int
		want        bool
	}{
		{"0", 1, 0, true},
		{"0.000", 5, 2, true},
		{"999.99", 5, 2, true},
		{"-999.99", 5, 2, true},
		{"1000", 5, 2, false},
		{"0.001", 5, 2, false},
		{"1.10", 5, 1, true},
		{"1e2", 3, 0, true},
		{"1e3", 3, 0, false},
	}
	for _, c := range cases {
		d, ok := ParseDecimal([]byte(c.in))
		if !ok {
			t.Fatalf("ParseDecimal(%q) failed", c.in)
		}
		if got := d.Fits(c.prec, c.scale); got != c.want {
			t.Errorf("%s fits DECIMAL(%d,%d) = %v, want %v", c.in, c.prec, c.scale, got, c.want)
		}
	}
}

func TestDecimalRule(t *testing.T) {
	mysql := DecimalRule{MaxPrecision: 65, MaxScale: 30, NumberPrecision: 65, NumberScale: 30}
	duck := DecimalRule{MaxPrecision: 38, MaxScale: 38, NumberPrecision: 38, NumberScale: 9}
	num := LogicalType{Kind: KindNumber}
	dec := func(p, s int) LogicalType { return LogicalType{Kind: KindDecimal, Precision: p, Scale: s} }
	widen := []struct {
		name        string
		rule        DecimalRule
		prec, scale int
		want        LogicalType
		typ         string
		keep        bool
		applies     bool
	}{
		{"number into the number column", mysql, 65, 30, num, "", true, true},
		{"number into a narrower decimal", mysql, 10, 2, num, "DECIMAL(65,30)", false, true},
		{"number into DuckDB's decimal", duck, 12, 2, num, "DECIMAL(38,9)", false, true},
		{"number beyond DuckDB's limit", duck, 38, 20, num, "", false, true},
		{"decimal within", mysql, 10, 2, dec(8, 2), "", true, true},
		{"decimal wider on both sides", mysql, 10, 2, dec(12, 4), "DECIMAL(12,4)", false, true},
		{"decimal keeps the wider integer part", duck, 20, 2, dec(6, 5), "DECIMAL(23,5)", false, true},
		{"decimal beyond MySQL's scale", mysql, 10, 2, dec(40, 31), "", false, true},
		{"integer is not the rule's", mysql, 10, 2, LogicalType{Kind: KindInteger}, "", false, false},
	}
	for _, c := range widen {
		typ, keep, applies := c.rule.Widen(c.prec, c.scale, c.want)
		if typ != c.typ || keep != c.keep || applies != c.applies {
			t.Errorf("%s: Widen(%d, %d, %s) = %q, %v, %v; want %q, %v, %v", c.name, c.prec, c.scale, c.want, typ, keep, applies, c.typ, c.keep, c.applies)
		}
	}
	from := []struct {
		rule    DecimalRule
		want    LogicalType
		typ     string
		applies bool
	}{
		{mysql, num, "DECIMAL(65,30)", true},
		{duck, num, "DECIMAL(38,9)", true},
		{duck, dec(10, 3), "DECIMAL(23,3)", true},
		{duck, dec(38, 20), "", true},
		{mysql, LogicalType{Kind: KindString}, "", false},
	}
	for _, c := range from {
		typ, applies := c.rule.FromInteger(c.want)
		if typ != c.typ || applies != c.applies {
			t.Errorf("FromInteger(%s) = %q, %v; want %q, %v", c.want, typ, applies, c.typ, c.applies)
		}
	}
}
