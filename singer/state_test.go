package singer

import (
	"encoding/json"
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

func TestBookmarkInt(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    any
		want int64
		ok   bool
	}{
		{"json number", json.Number("1700000000000"), 1700000000000, true},
		{"int64", int64(7), 7, true},
		{"int", 7, 7, true},
		{"whole float", float64(42), 42, true},
		{"fraction as text is refused", json.Number("1.5"), 0, false},
		{"fraction as float is refused, not truncated", 1.5, 0, false},
		{"beyond int64", json.Number("9223372036854775808"), 0, false},
		{"string", "7", 0, false},
		{"missing", nil, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BookmarkInt(tt.v)
			if got != tt.want || ok != tt.ok {
				t.Errorf("BookmarkInt(%#v) = %d, %v; want %d, %v", tt.v, got, ok, tt.want, tt.ok)
			}
		})
	}
}
