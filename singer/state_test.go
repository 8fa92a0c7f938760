package singer

import (
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	s, err := ParseState([]byte(`{"bookmarks":{"public-users":{"replication_key_value":"2024-01-01T00:00:00Z","version":1700000000000,"lsn":12345678901234567890}},"currently_syncing":"public-users","other_tool":{"x":[1,2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Bookmark("public-users", "lsn"); v.(interface{ String() string }).String() != "12345678901234567890" {
		t.Errorf("lsn lost precision: %v", v)
	}
	s.SetBookmark("public-orders", "replication_key_value", 5)
	s.ClearBookmark("public-users", "version")
	b, _ := s.MarshalJSON()
	want := `{"bookmarks":{"public-orders":{"replication_key_value":5},"public-users":{"lsn":12345678901234567890,"replication_key_value":"2024-01-01T00:00:00Z"}},"currently_syncing":"public-users","other_tool":{"x":[1,2]}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	s.ClearStream("public-orders")
	s.CurrentlySyncing = ""
	b, _ = s.MarshalJSON()
	if !strings.Contains(string(b), `"currently_syncing":null`) || strings.Contains(string(b), "public-orders") {
		t.Errorf("clear: %s", b)
	}
}

func TestParseStateForms(t *testing.T) {
	cases := []struct{ name, in, want, err string }{
		{"empty", "", `{"bookmarks":{},"currently_syncing":null}`, ""},
		{"message", `{"type":"STATE","value":{"bookmarks":{"a":{"k":1}}}}`, `{"bookmarks":{"a":{"k":1}},"currently_syncing":null}`, ""},
		{"target output", "{\"bookmarks\":{\"a\":{\"k\":1}}}\n{\"bookmarks\":{\"a\":{\"k\":2}}}\n", `{"bookmarks":{"a":{"k":2}},"currently_syncing":null}`, ""},
		{"not object", `[1]`, "", "state must be a JSON object"},
		{"bad bookmark", `{"bookmarks":{"a":1}}`, "", `state bookmark for stream "a" must be an object`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseState([]byte(c.in))
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("err %v want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := s.MarshalJSON()
			if string(b) != c.want {
				t.Errorf("got %s want %s", b, c.want)
			}
		})
	}
}

func TestWatermark(t *testing.T) {
	w := NewWatermark()
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
	w := NewWatermark()
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
