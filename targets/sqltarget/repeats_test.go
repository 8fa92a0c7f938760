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

// TestKeyRepeatsAscending: a one-column integer key that only grows keeps
// no set; the first key out of order starts one from every key before,
// so a repeat of any of them is still found, whatever breaks the order.
func TestKeyRepeatsAscending(t *testing.T) {
	num := func(n int64) []singer.Value { return []singer.Value{{Kind: singer.Number, IntOK: true, Int: n}, {}} }
	str := func(s string) []singer.Value { return []singer.Value{{Kind: singer.String, Bytes: []byte(s)}, {}} }
	table := &Table{UniqueKey: true, Columns: []*Column{{Name: "id", Key: true}, {Name: "v"}}}
	for _, c := range []struct {
		name  string
		keys  [][]singer.Value
		found bool
	}{
		{"ascending", [][]singer.Value{num(1), num(2), num(5), num(9)}, false},
		{"the last key again", [][]singer.Value{num(1), num(2), num(2)}, true},
		{"an earlier key again", [][]singer.Value{num(1), num(2), num(3), num(1)}, true},
		{"out of order, distinct", [][]singer.Value{num(5), num(7), num(6), num(8)}, false},
		{"out of order, then a key of the ascending run", [][]singer.Value{num(5), num(7), num(6), num(5)}, true},
		{"a string key after integers", [][]singer.Value{num(1), num(2), str("x"), num(3)}, false},
		{"a string key, then an integer key of the run", [][]singer.Value{num(1), num(2), str("x"), num(1)}, true},
	} {
		r := NewKeyRepeats(table)
		for i := 0; i < 2; i++ { // and again after Reset
			for _, k := range c.keys {
				r.Add(k)
			}
			if r.Found() != c.found {
				t.Errorf("%s (pass %d): found %v, want %v", c.name, i+1, r.Found(), c.found)
			}
			if !c.found && !r.ascending && len(r.seen) == 0 {
				t.Errorf("%s: left the ascending run without a set", c.name)
			}
			r.Reset()
		}
	}
	r := NewKeyRepeats(table)
	for k := int64(1); k <= 1000; k++ {
		r.Add(num(k))
	}
	if r.Found() || len(r.seen) != 0 {
		t.Errorf("1000 ascending keys: found %v, %d keys in the set (want none)", r.Found(), len(r.seen))
	}
}
