package runner

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// progress is the live line of a run on a terminal: how long it has run,
// how many bytes the tap has written (its wchar in /proc, so the runner
// stays out of the tap-to-target pipe), at what rate, and the states saved.
type progress struct {
	pipeline string
	tapPID   int
	saved    *atomic.Int64
	start    time.Time
	lastAt   time.Time
	lastN    int64
}

// line returns the progress line at now.
func (p *progress) line(now time.Time) string {
	s := fmt.Sprintf("%s: %s", p.pipeline, clock(now.Sub(p.start)))
	if n, ok := tapBytes(p.tapPID); ok {
		rate := ""
		if dt := now.Sub(p.lastAt).Seconds(); !p.lastAt.IsZero() && dt > 0 {
			rate = fmt.Sprintf(" (%s/s)", size(float64(n-p.lastN)/dt))
		}
		p.lastAt, p.lastN = now, n
		s += fmt.Sprintf(", the tap wrote %s%s", size(float64(n)), rate)
	}
	return s + fmt.Sprintf(", %d states saved", p.saved.Load())
}

// tapBytes reads the bytes a process has written (wchar of
// /proc/PID/io); false where there is no such file (not Linux, or the
// process is gone).
func tapBytes(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, false
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("wchar: ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// clock formats a duration as h:mm:ss or m:ss.
func clock(d time.Duration) string {
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// size formats a byte count with a binary unit.
func size(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
