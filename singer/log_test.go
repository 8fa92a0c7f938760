package singer

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCounters(t *testing.T) {
	var buf syncBuffer
	c := NewCounters(NewLog(&buf), "record_count", 20*time.Millisecond)
	a := c.For("a")
	a.Add(3)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), `"value":3`) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	a.Add(2)
	c.For("b").Add(1)
	c.Close()
	c.Close() // idempotent
	want := []string{
		`INFO METRIC: {"type":"counter","metric":"record_count","value":3,"tags":{"stream":"a"}}`,
		`INFO METRIC: {"type":"counter","metric":"record_count","value":2,"tags":{"stream":"a"}}`,
		`INFO METRIC: {"type":"counter","metric":"record_count","value":1,"tags":{"stream":"b"}}`,
	}
	if got := strings.TrimSpace(buf.String()); got != strings.Join(want, "\n") {
		t.Errorf("metric lines\n got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if a.Total() != 5 {
		t.Errorf("total %d", a.Total())
	}
}
