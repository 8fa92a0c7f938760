package mysqlconn

import "testing"

func TestDriverLog(t *testing.T) {
	var l DriverLog
	if l.Last() != "" || l.Take() != "" {
		t.Fatal("a new log has a line")
	}
	l.Print("[mysql] ", "packets.go:58 unexpected EOF\n")
	if got := l.Last(); got != "[mysql] packets.go:58 unexpected EOF" {
		t.Errorf("Last = %q", got)
	}
	if got := l.Take(); got != "[mysql] packets.go:58 unexpected EOF" {
		t.Errorf("Take = %q", got)
	}
	if got := l.Take(); got != "" {
		t.Errorf("Take after Take = %q", got)
	}
}
