package mysql

import (
	"database/sql/driver"
	"math"
	"testing"
	"time"
)

// TestAppendDriverText: values the driver parses out of the text protocol
// get back the text database/sql's Scan into sql.RawBytes gives them, the
// text the encoders read before the tap read the driver's rows itself.
func TestAppendDriverText(t *testing.T) {
	for _, c := range []struct {
		v    driver.Value
		want string
	}{
		{int64(math.MinInt64), "-9223372036854775808"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{0.1, "0.1"},
		{1e21, "1e+21"},
		{-2.5e-7, "-2.5e-07"},
		{float32(0.1), "0.1"},
		{true, "true"},
		{"x\ty", "x\ty"},
		{time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC), "2024-01-02T03:04:05.0000006Z"},
	} {
		got, ok := appendDriverText([]byte("old"), c.v)
		if !ok || string(got) != "old"+c.want {
			t.Errorf("%T %v: %q %v, want %q", c.v, c.v, got, ok, "old"+c.want)
		}
	}
	if _, ok := appendDriverText(nil, struct{}{}); ok {
		t.Error("an unknown type was taken")
	}
}

// TestNonFiniteDouble: a double that is not a number in JSON (the text
// of an infinite or NaN binary-protocol value) is written as null.
func TestNonFiniteDouble(t *testing.T) {
	for _, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		text, _ := appendDriverText(nil, v)
		e := valueEncoder{enc: encFloat}
		if got := string(e.appendJSON(nil, text)); got != "null" {
			t.Errorf("%s: %s, want null", text, got)
		}
	}
}
