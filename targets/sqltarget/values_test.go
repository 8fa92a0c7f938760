package sqltarget

import (
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// TestRemoveNUL: the NUL rule rewrites JSON token by token: only \u0000
// escapes inside strings go, every other byte stays.
func TestRemoveNUL(t *testing.T) {
	cases := []struct {
		name string
		v    singer.Value
		has  bool
		want string
	}{
		{"string", singer.Value{Kind: singer.String, Bytes: []byte("a\x00b\x00")}, true, "ab"},
		{"string without NUL", singer.Value{Kind: singer.String, Bytes: []byte(`a\u0000b`)}, false, `a\u0000b`},
		{"object", singer.Value{Kind: singer.Object, Bytes: []byte(`{"k\u0000":"a\u0000b","n":1}`)}, true, `{"k":"ab","n":1}`},
		{"escaped backslash before u0000 is text", singer.Value{Kind: singer.Array, Bytes: []byte(`["\\u0000","\\\u0000","\"\u0000\""]`)}, true, `["\\u0000","\\","\"\""]`},
		{"other escapes untouched", singer.Value{Kind: singer.Array, Bytes: []byte(`["\n\t\"\\\/\b\f\r\u00e9\ud83d\ude00\u0001", {"a":[1,"\u0000"]}]`)}, true, `["\n\t\"\\\/\b\f\r\u00e9\ud83d\ude00\u0001", {"a":[1,""]}]`},
		{"number", singer.Value{Kind: singer.Number, Bytes: []byte(`0`)}, false, `0`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.v
			if got := HasNUL(&v); got != c.has {
				t.Fatalf("HasNUL = %v", got)
			}
			scratch := []byte("before")
			scratch = RemoveNUL(&v, scratch)
			if string(v.Bytes) != c.want {
				t.Errorf("got %s, want %s", v.Bytes, c.want)
			}
			if string(scratch[:6]) != "before" {
				t.Errorf("scratch overwritten: %q", scratch)
			}
		})
	}
}
