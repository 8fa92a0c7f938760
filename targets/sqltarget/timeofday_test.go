package sqltarget

import (
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// TestTimeOfDay: the one reading of a time column's value in every
// dialect: microseconds kept, finer digits refused (zeros are no loss),
// the end of the day held, a zone dropped.
func TestTimeOfDay(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"12:34:56", "12:34:56.000000", ""},
		{"12:34:56.5", "12:34:56.500000", ""},
		{"00:00:00.000001", "00:00:00.000001", ""},
		{"12:34:56.123456000Z", "12:34:56.123456", ""},
		{"12:34:56.5+02:00", "12:34:56.500000", ""},
		{"24:00:00", "24:00:00.000000", ""},
		{"24:00:00.000", "24:00:00.000000", ""},
		{"12:34:56.1234567", "", `"12:34:56.1234567" has more than 6 fraction digits (the column keeps microseconds; no silent rounding)`},
		{"12:34:56.1234560000001", "", `"12:34:56.1234560000001" has more than 6 fraction digits (the column keeps microseconds; no silent rounding)`},
		{"24:00:00.5", "", `"24:00:00.5" is not a time of day (hh:mm:ss)`},
		{"25:00:00", "", `"25:00:00" is not a time of day (hh:mm:ss)`},
		{"12:34", "", `"12:34" is not a time of day (hh:mm:ss)`},
		{"noon", "", `"noon" is not a time of day (hh:mm:ss)`},
	}
	for _, tt := range tests {
		v := singer.Value{Kind: singer.String, Bytes: []byte(tt.in)}
		us, err := TimeOfDay(&v)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: error %v, want %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if got := string(AppendTimeOfDay(nil, us)); err != nil || got != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	n := singer.Value{Kind: singer.Number, Bytes: []byte("12")}
	if _, err := TimeOfDay(&n); err == nil || err.Error() != "12 is not a time of day (hh:mm:ss)" {
		t.Errorf("a number: %v", err)
	}
}
