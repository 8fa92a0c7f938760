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
	}
	return r
}

// Add notes a record's key (vals as the batch's Append gets them).
func (r *KeyRepeats) Add(vals []singer.Value) {
	if r.seen == nil || r.found {
		return
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
}
