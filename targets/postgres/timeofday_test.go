package postgres

import (
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// TestTimeOfDayMicros: time keeps microseconds; finer values are refused,
// never cut, and zeros beyond the sixth digit are no loss.
func TestTimeOfDayMicros(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"12:34:56", 45296_000000, ""},
		{"12:34:56.5", 45296_500000, ""},
		{"12:34:56.123456000Z", 45296_123456, ""},
		{"24:00:00.000", 86400_000000, ""},
		{"12:34:56.1234567", 0, `"12:34:56.1234567" has more than 6 fraction digits (time keeps microseconds; no silent rounding)`},
		{"24:00:00.5", 0, `"24:00:00.5" is after the end of the day (24:00:00)`},
		{"25:00:00", 0, `"25:00:00" is not a time of day (hh:mm:ss)`},
	}
	for _, tt := range tests {
		v := singer.Value{Kind: singer.String, Bytes: []byte(tt.in)}
		got, err := timeOfDayMicros(&v)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: error %v, want %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
