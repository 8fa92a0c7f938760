package mysqlconn

import (
	"fmt"
	"strings"
	"sync"
)

// DriverLog is a go-sql-driver Logger that keeps the driver's last log
// line instead of printing it: the driver writes "[mysql] packets.go:58
// unexpected EOF" on stderr and then returns a bare "invalid connection",
// and that line is the cause the one-line error should name.
type DriverLog struct {
	mu   sync.Mutex
	line string
}

// Print implements mysql.Logger.
func (l *DriverLog) Print(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = strings.TrimSpace(fmt.Sprint(v...))
}

// Last returns the last line logged ("" when none).
func (l *DriverLog) Last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

// Take returns the last line logged and forgets it, so that it explains
// one error only.
func (l *DriverLog) Take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.line
	l.line = ""
	return s
}
