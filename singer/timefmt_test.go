package singer

import (
	"math/rand"
	"testing"
	"time"
)

// TestAppendDateTime: the same text as time.AppendFormat with the layout
// it stands for, over random instants of every year 0-9999, the years
// beyond, other locations, and every separator and fraction used.
func TestAppendDateTime(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	east := time.FixedZone("east", 5*3600+30*60)
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 15, 12, 0, 0, 5, time.UTC),
		time.Date(2024, 2, 29, 1, 2, 3, 400000, east),
	}
	for i := 0; i < 2000; i++ {
		sec := rng.Int63n(253402300800) - 62135596800 // years 1-9999
		times = append(times, time.Unix(sec, rng.Int63n(1e9)).UTC())
	}
	for _, tm := range times {
		for _, c := range []struct {
			sep    byte
			frac   int
			layout string
		}{
			{0, 0, "2006-01-02"},
			{' ', 0, "2006-01-02 15:04:05"},
			{' ', 6, "2006-01-02 15:04:05.000000"},
			{'T', 9, "2006-01-02T15:04:05.000000000"},
			{'T', 3, "2006-01-02T15:04:05.000"},
		} {
			got := string(AppendDateTime([]byte("x"), tm, c.sep, c.frac))
			if want := "x" + tm.Format(c.layout); got != want {
				t.Fatalf("%v %q %d: %s, want %s", tm, c.sep, c.frac, got, want)
			}
		}
	}
}
