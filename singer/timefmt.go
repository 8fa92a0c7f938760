package singer

import (
	"bytes"
	"time"
)

// These parsers accept a subset of what jsonschema/v5's date, time and
// date-time format checks accept (RFC 3339), without allocating. What they
// do not accept is left to the judge (leap seconds, odd forms), so the fast
// path never accepts a value the judge would refuse.

func digits2(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDate parses YYYY-MM-DD.
func parseDate(b []byte) (y, m, d int, ok bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, 0, 0, false
	}
	hi, ok1 := digits2(b[0:2])
	lo, ok2 := digits2(b[2:4])
	m, ok3 := digits2(b[5:7])
	d, ok4 := digits2(b[8:10])
	y = hi*100 + lo
	if !(ok1 && ok2 && ok3 && ok4) || y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(m, y) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// parseTimeOfDay parses hh:mm:ss[.frac](Z|+hh:mm|-hh:mm). It returns the
// clock, nanoseconds and the zone offset in seconds east of UTC.
func parseTimeOfDay(b []byte) (h, m, s, nsec, offset int, ok bool) {
	return parseClock(b, false)
}

// parsePartialTime is the check of format "time": RFC 3339 full-time, with
// the zone optional (hh:mm:ss[.frac] alone is how taps write SQL time
// columns), and with the end of the day, 24:00:00 (any zero fraction, any
// zone), which SQL time types hold (PostgreSQL time and timetz, MySQL
// TIME) and ISO 8601 allows. The toolkit's one rule for times of day: the
// targets load it where the column holds it and refuse it, naming the
// column, where it does not (BigQuery TIME).
func parsePartialTime(b []byte) bool {
	_, _, _, _, _, ok := parseClock(b, true)
	return ok
}

// ParseTimeOfDay reads a value of format "time" by the rule the schema
// check applies (hh:mm:ss[.frac] with an optional zone, or the end of the
// day, 24:00:00). It returns the time since midnight in microseconds
// (86,400,000,000 for 24:00:00; a zone is dropped: SQL time columns keep
// none), and finer, true when the fraction has a non-zero digit beyond the
// sixth, which no time column holds.
func ParseTimeOfDay(b []byte) (micros int64, finer bool, ok bool) {
	h, m, s, nsec, _, ok := parseClock(b, true)
	if !ok {
		return 0, false, false
	}
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		for j := i + 7; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			if b[j] != '0' {
				finer = true
				break
			}
		}
	}
	return (int64(h*3600+m*60+s))*1_000_000 + int64(nsec/1000), finer, true
}

func parseClock(b []byte, zoneOptional bool) (h, m, s, nsec, offset int, ok bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return
	}
	var ok1, ok2, ok3 bool
	h, ok1 = digits2(b[0:2])
	m, ok2 = digits2(b[3:5])
	s, ok3 = digits2(b[6:8])
	// Seconds of 60 (leap seconds) are left to the judge. 24:00:00 is a
	// time of day (format "time"), not a time of a date-time.
	endOfDay := zoneOptional && h == 24 && m == 0 && s == 0
	if !(ok1 && ok2 && ok3) || (h > 23 && !endOfDay) || m > 59 || s > 59 {
		return 0, 0, 0, 0, 0, false
	}
	i := 8
	if i < len(b) && b[i] == '.' {
		i++
		k := i
		scale := 100000000
		nonZero := false
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			nonZero = nonZero || b[i] != '0'
			scale /= 10
			i++
		}
		if i == k || (endOfDay && nonZero) {
			return 0, 0, 0, 0, 0, false
		}
	}
	if i >= len(b) {
		return h, m, s, nsec, 0, zoneOptional
	}
	switch b[i] {
	case 'Z', 'z':
		if i+1 != len(b) {
			return 0, 0, 0, 0, 0, false
		}
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, 0, 0, 0, 0, false
		}
		zh, ok1 := digits2(b[i+1 : i+3])
		zm, ok2 := digits2(b[i+4 : i+6])
		if !ok1 || !ok2 || zh > 23 || zm > 59 {
			return 0, 0, 0, 0, 0, false
		}
		offset = zh*3600 + zm*60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, 0, 0, 0, false
	}
	return h, m, s, nsec, offset, true
}

// parseDateTime parses an RFC 3339 date-time into a UTC time.
func parseDateTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || (b[10] != 'T' && b[10] != 't') {
		return time.Time{}, false
	}
	y, mo, d, ok := parseDate(b[:10])
	if !ok {
		return time.Time{}, false
	}
	h, mi, s, ns, off, ok := parseTimeOfDay(b[11:])
	if !ok {
		return time.Time{}, false
	}
	secs := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s-off)
	return time.Unix(secs, int64(ns)).UTC(), true
}

// daysFromCivil returns the days from 1970-01-01 to a proleptic Gregorian
// date (H. Hinnant's algorithm): cheaper than time.Date's normalisation.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseDateOnly parses YYYY-MM-DD into midnight UTC.
func parseDateOnly(b []byte) (time.Time, bool) {
	y, m, d, ok := parseDate(b)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(daysFromCivil(y, m, d)*86400, 0).UTC(), true
}

// AppendDateTime appends t in t's location as YYYY-MM-DD, then, when sep
// is not 0, sep and hh:mm:ss, then, when frac > 0, a point and the first
// frac digits of the second's fraction: what t.AppendFormat writes for
// "2006-01-02 15:04:05.000000" (sep ' ', frac 6) at a quarter of its cost
// (formatting times was a fifth of target-mysql's CPU). Years outside
// 0-9999 are written by AppendFormat.
func AppendDateTime(b []byte, t time.Time, sep byte, frac int) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		layout := "2006-01-02"
		if sep != 0 {
			layout += string(sep) + "15:04:05"
			if frac > 0 {
				layout += "." + "000000000"[:min(frac, 9)]
			}
		}
		return t.AppendFormat(b, layout)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		'-', byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10))
	if sep == 0 {
		return b
	}
	h, mi, s := t.Clock()
	b = append(b, sep, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10),
		':', byte('0'+s/10), byte('0'+s%10))
	if frac > 0 {
		b = append(b, '.')
		ns := t.Nanosecond()
		for div := 100000000; frac > 0 && div > 0; frac, div = frac-1, div/10 {
			b = append(b, byte('0'+ns/div%10))
		}
	}
	return b
}
