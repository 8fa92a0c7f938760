package bigquery

import (
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// rowIndex is what both batch kinds keep beside their buffer: where each
// row starts and, for a table with keys, which rows a later record of the
// same key supersedes, so that an upsert sends one row per key (the last
// record of a key wins).
type rowIndex struct {
	buf     []byte
	starts  []int // offset of each row in buf
	keyCols []int
	latest  map[string]int // key -> its latest row; nil without keys
	dead    []bool
	dups    bool
	scratch []byte
}

func newRowIndex(t *sqltarget.Table) rowIndex {
	r := rowIndex{buf: make([]byte, 0, 1<<16)}
	for i, c := range t.Columns {
		if c.Key {
			r.keyCols = append(r.keyCols, i)
		}
	}
	if len(r.keyCols) > 0 {
		r.latest = map[string]int{}
	}
	return r
}

func (r *rowIndex) Rows() int  { return len(r.starts) }
func (r *rowIndex) Bytes() int { return len(r.buf) }

func (r *rowIndex) Reset() {
	r.buf, r.starts, r.dead, r.dups = r.buf[:0], r.starts[:0], r.dead[:0], false
	if r.latest != nil {
		clear(r.latest)
	}
}

// add takes buf (the old buffer with one more row from start on) as the
// buffer, noting the row's key from vals, encoded by enc. On an error the
// row is taken back.
func (r *rowIndex) add(buf []byte, start int, vals []singer.Value, enc func(col int) *fieldEnc) error {
	if r.latest != nil {
		k := r.scratch[:0]
		var err error
		for _, c := range r.keyCols {
			if k, err = appendValue(k, enc(c), &vals[c]); err != nil {
				r.buf = buf[:start]
				return err
			}
			k = append(k, 0)
		}
		r.scratch = k
		if prev, ok := r.latest[string(k)]; ok {
			r.dead[prev] = true
			r.dups = true
		}
		r.latest[string(k)] = len(r.starts)
	}
	r.buf = buf
	r.starts = append(r.starts, start)
	r.dead = append(r.dead, false)
	return nil
}

// each calls f with every row, or with dedupe only the latest row of each
// key; the row points into the buffer.
func (r *rowIndex) each(dedupe bool, f func(row []byte)) {
	for i, s := range r.starts {
		if dedupe && r.dups && r.dead[i] {
			continue
		}
		end := len(r.buf)
		if i+1 < len(r.starts) {
			end = r.starts[i+1]
		}
		f(r.buf[s:end:end])
	}
}
