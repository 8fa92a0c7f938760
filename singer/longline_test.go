package singer

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

// TestReadLongLine: lines that fit the buffer come back in place, longer
// ones joined, and a line over the limit is an error before more of it is
// held.
func TestReadLongLine(t *testing.T) {
	in := strings.Repeat("a", 10) + "\n" + strings.Repeat("b", 70) + "\n" + strings.Repeat("c", 101) + "\n" + strings.Repeat("d", 30)
	r := bufio.NewReaderSize(strings.NewReader(in), 16)
	var buf []byte
	for _, want := range []string{strings.Repeat("a", 10), strings.Repeat("b", 70)} {
		got, err := ReadLine(r, &buf, 100)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	var tl *LineTooLongError
	if _, err := ReadLine(r, &buf, 100); !errors.As(err, &tl) || tl.Limit != 100 {
		t.Fatalf("a 101-byte line with a limit of 100: %v", err)
	}
}

// TestReadLongLineAllocations: a long line costs its chunks and one joined
// copy of its exact size, not a slice grown by append (which copies the
// line at every step).
func TestReadLongLineAllocations(t *testing.T) {
	const size = 4 << 20
	line := strings.Repeat("x", size) + "\n"
	var peak uint64
	allocs := testing.AllocsPerRun(3, func() {
		r := bufio.NewReaderSize(strings.NewReader(line), 64<<10)
		var buf []byte
		got, err := ReadLine(r, &buf, size+1)
		if err != nil || len(got) != size || cap(got) != size {
			t.Fatalf("len %d cap %d err %v", len(got), cap(got), err)
		}
		peak = uint64(cap(got))
	})
	// 64 chunks of 64 KiB, the chunk list's growth, the joined line.
	if allocs > 64+16+1 {
		t.Errorf("%v allocations for a 4 MiB line, want at most %d", allocs, 64+16+1)
	}
	if peak != size {
		t.Errorf("the joined line has cap %d, want exactly %d", peak, size)
	}
}

// TestDecoderLineTooLong: the decoder names the line that is too long.
func TestDecoderLineTooLong(t *testing.T) {
	in := `{"type":"STATE","value":{}}` + "\n" + strings.Repeat("x", 5000) + "\n"
	d := NewDecoder(strings.NewReader(in))
	d.maxLine = 4096
	if !d.Next() {
		t.Fatal(d.Err())
	}
	if d.Next() {
		t.Fatal("a line over the limit was read")
	}
	want := "line 2: the line is longer than 4096 bytes, the longest line this toolkit reads: split the record, or send large values by reference"
	if d.Err() == nil || d.Err().Error() != want {
		t.Errorf("error %v, want %s", d.Err(), want)
	}
}
