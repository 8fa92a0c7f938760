package sqltarget

import (
	"fmt"

	"github.com/singerkit/singerkit/singer"
)

// TimeOfDay reads a value for a time column, the one rule of every
// dialect: format "time" as the schema check reads it (a zone is dropped,
// 24:00:00 is the end of the day), in microseconds since midnight. A
// non-zero digit beyond microseconds is refused, never cut. The error
// names the value; the caller adds the column.
func TimeOfDay(v *singer.Value) (int64, error) {
	if v.Kind != singer.String {
		return 0, fmt.Errorf("%s is not a time of day (hh:mm:ss)", Shown(v))
	}
	us, finer, ok := singer.ParseTimeOfDay(v.Bytes)
	if !ok {
		return 0, fmt.Errorf("%s is not a time of day (hh:mm:ss)", Shown(v))
	}
	if finer {
		return 0, fmt.Errorf("%s has more than 6 fraction digits (the column keeps microseconds; no silent rounding)", Shown(v))
	}
	return us, nil
}

// EndOfDay is 24:00:00 in microseconds.
const EndOfDay = 86_400_000_000

// AppendTimeOfDay writes microseconds since midnight as hh:mm:ss.ffffff
// (24:00:00.000000 for the end of the day).
func AppendTimeOfDay(buf []byte, us int64) []byte {
	s := us / 1_000_000
	buf = append2(buf, s/3600)
	buf = append(buf, ':')
	buf = append2(buf, s/60%60)
	buf = append(buf, ':')
	buf = append2(buf, s%60)
	buf = append(buf, '.')
	f := us % 1_000_000
	for d := int64(100000); d > 0; d /= 10 {
		buf = append(buf, byte('0'+f/d%10))
	}
	return buf
}

func append2(buf []byte, n int64) []byte {
	return append(buf, byte('0'+n/10), byte('0'+n%10))
}
