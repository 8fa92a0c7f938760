package sqltarget

import "github.com/singerkit/singerkit/singer"

// KeyRepeats tells whether a batch holds two records of one key, so that
// a dialect can merge a batch without repeats in one pass (no dedupe
// sort). It keeps nothing for a table loaded without a merge by key
// (UniqueKey false): an append never asks, and the set cost ~11% of the
// client's CPU per record.
type KeyRepeats struct {
	cols  []int
	seen  map[uint64]struct{}
	found bool
	// While a one-column integer key only grows, no key can repeat and
	// no set is needed (the set was 16% of target-postgres's CPU on an
	// upsert of keys in order): asc keeps those keys, in order, for the
	// set that the first key out of order or not an integer starts.
	asc       []int64
	ascending bool
}

// NewKeyRepeats returns the tracker of a table's batches.
func NewKeyRepeats(t *Table) KeyRepeats {
	var r KeyRepeats
	if t == nil || !t.UniqueKey {
		return r
	}
	for i, c := range t.Columns {
		if c.Key {
			r.cols = append(r.cols, i)
		}
	}
	if len(r.cols) > 0 {
		r.seen = make(map[uint64]struct{})
		r.ascending = len(r.cols) == 1
	}
	return r
}

// Add notes a record's key (vals as the batch's Append gets them).
func (r *KeyRepeats) Add(vals []singer.Value) {
	if r.seen == nil || r.found {
		return
	}
	if r.ascending {
		if v := &vals[r.cols[0]]; v.IntOK && (len(r.asc) == 0 || v.Int > r.asc[len(r.asc)-1]) {
			r.asc = append(r.asc, v.Int)
			return
		}
		r.ascending = false
		for _, k := range r.asc {
			r.seen[intKeyHash(k)] = struct{}{}
		}
		r.asc = r.asc[:0]
	}
	h := KeyHash(vals, r.cols)
	if _, ok := r.seen[h]; ok {
		r.found = true
		return
	}
	r.seen[h] = struct{}{}
}

// Found says whether a key may repeat in the batch (a hash collision
// counts as a repeat: it only costs the dedupe path).
func (r *KeyRepeats) Found() bool { return r.found }

// Reset forgets the batch's keys.
func (r *KeyRepeats) Reset() {
	r.found = false
	clear(r.seen)
	r.asc = r.asc[:0]
	r.ascending = len(r.cols) == 1
}

// intKeyHash is KeyHash of a one-column key holding integer k.
func intKeyHash(k int64) uint64 {
	return KeyHash([]singer.Value{{Kind: singer.Number, IntOK: true, Int: k}}, []int{0})
}
