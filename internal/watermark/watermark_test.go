package watermark

import (
	"testing"
)

func TestWatermark(t *testing.T) {
	w := New()
	a, b := w.Stream("a"), w.Stream("b")
	if w.Release() != nil {
		t.Fatal("nothing to release yet")
	}
	// Nothing before the first state: it is releasable at once.
	w.State([]byte(`{"s":0}`))
	if got := string(w.Release()); got != `{"s":0}` {
		t.Fatalf("first state: %q", got)
	}
	a.Record()
	a.Record()
	w.State([]byte(`{"s":1}`))
	b.Record()
	w.State([]byte(`{"s":2}`))
	if w.Release() != nil {
		t.Fatal("released a state before its records were committed")
	}
	ta := a.Flush()
	a.Record() // after state 2
	w.State([]byte(`{"s":3}`))
	w.Committed(ta)
	if got := string(w.Release()); got != `{"s":1}` {
		t.Fatalf("after a's commit want state 1, got %q", got)
	}
	tb := b.Flush()
	w.Committed(tb)
	if got := string(w.Release()); got != `{"s":2}` {
		t.Fatalf("after b's commit want state 2, got %q", got)
	}
	if w.Release() != nil {
		t.Fatal("state 3 must wait for a's third record")
	}
	ta2 := a.Flush()
	w.Committed(ta2)
	if got := string(w.Release()); got != `{"s":3}` {
		t.Fatalf("want state 3, got %q", got)
	}
	if w.Release() != nil || w.Pending() != 0 {
		t.Fatal("a state was released twice")
	}
}

func TestWatermarkLatestWins(t *testing.T) {
	w := New()
	a := w.Stream("a")
	a.Record()
	w.State([]byte(`1`))
	a.Record()
	w.State([]byte(`2`))
	w.State([]byte(`3`))
	w.Committed(a.Flush())
	if got := string(w.Release()); got != "3" {
		t.Fatalf("got %q want the latest state 3", got)
	}
}
