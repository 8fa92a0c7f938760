package sqltarget

import (
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// TestKeyRepeats: a repeated key is found, on one key column or two; a
// table loaded without a merge by key keeps nothing; Reset forgets.
func TestKeyRepeats(t *testing.T) {
	str := func(s string) singer.Value { return singer.Value{Kind: singer.String, Bytes: []byte(s)} }
	num := func(n int64) singer.Value { return singer.Value{Kind: singer.Number, IntOK: true, Int: n} }
	table := &Table{UniqueKey: true, Columns: []*Column{{Name: "a", Key: true}, {Name: "b", Key: true}, {Name: "v"}}}
	r := NewKeyRepeats(table)
	r.Add([]singer.Value{num(1), str("x"), str("first")})
	r.Add([]singer.Value{num(1), str("y"), str("other key")})
	r.Add([]singer.Value{num(2), str("x"), str("other key")})
	if r.Found() {
		t.Fatal("a repeat found among distinct keys")
	}
	r.Add([]singer.Value{num(1), str("x"), str("second")})
	if !r.Found() {
		t.Fatal("the repeated key (1, x) was not found")
	}
	r.Reset()
	r.Add([]singer.Value{num(1), str("x"), str("after reset")})
	if r.Found() {
		t.Fatal("Reset kept the keys")
	}
	table.UniqueKey = false
	a := NewKeyRepeats(table)
	a.Add([]singer.Value{num(1), str("x"), str("")})
	a.Add([]singer.Value{num(1), str("x"), str("")})
	if a.Found() || a.seen != nil {
		t.Fatal("an append kept a key set")
	}
}
