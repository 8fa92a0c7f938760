package chunkbuf

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// TestRows writes rows of every size class (small, larger than the room
// kept, larger than an eighth of a chunk, larger than a chunk), some taken
// back, and reads exactly the kept ones back, over several resets.
func TestRows(t *testing.T) {
	p := NewPool(1024)
	b := New(p)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 4 {
		var want bytes.Buffer
		for i := range 2000 {
			var n int
			switch rng.IntN(10) {
			case 0:
				n = 100 + rng.IntN(200) // beyond an eighth of a chunk
			case 1:
				n = 1000 + rng.IntN(3000) // beyond a chunk
			case 2:
				n = 4096 + rng.IntN(8000) // four chunks or more: kept as is
			default:
				n = rng.IntN(40)
			}
			row := make([]byte, n)
			for k := range row {
				row[k] = byte(i + k + round)
			}
			buf := b.Begin()
			buf = append(buf, row...)
			if rng.IntN(7) == 0 {
				b.Abort()
				continue
			}
			b.Commit(buf)
			want.Write(row)
			if b.Len() != want.Len() {
				t.Fatalf("round %d row %d: Len %d, want %d", round, i, b.Len(), want.Len())
			}
		}
		r := b.Reader([]byte("head"), []byte("tail"))
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if exp := "head" + want.String() + "tail"; string(got) != exp {
			t.Fatalf("round %d: read %d bytes, want %d (first difference at %d)", round, len(got), len(exp), firstDiff(got, []byte(exp)))
		}
		r.Close()
		if _, err := r.Read(make([]byte, 1)); err != ErrClosed {
			t.Fatalf("Read after Close: %v, want ErrClosed", err)
		}
		b.Reset()
		if b.Len() != 0 || p.Live() != 0 {
			t.Fatalf("after Reset: Len %d, %d chunks live", b.Len(), p.Live())
		}
	}
}

// TestSmallRowsFillChunks: rows of one size leave no more than a row's
// room unused per chunk, and reuse the pool's chunks across buffers.
func TestSmallRowsFillChunks(t *testing.T) {
	p := NewPool(4096)
	a, c := New(p), New(p)
	row := bytes.Repeat([]byte("x"), 100)
	for range 1000 {
		buf := a.Begin()
		a.Commit(append(buf, row...))
	}
	if live, most := p.Live(), 100_000/(4096-100)+1; live > most {
		t.Errorf("100 kB in %d chunks of 4 kB, want at most %d", live, most)
	}
	a.Reset()
	kept := len(p.free)
	if p.Live() != 0 || kept == 0 {
		t.Fatalf("after Reset: %d chunks live, %d kept for reuse", p.Live(), kept)
	}
	buf := c.Begin()
	c.Commit(append(buf, row...))
	if p.Live() != 1 || len(p.free) != kept-1 {
		t.Errorf("another buffer's first row: %d chunks live, %d kept (was %d): want a kept chunk reused", p.Live(), len(p.free), kept)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
