package singer

import (
	"bytes"
	"strings"
	"testing"
)

// Reading a line must not allocate: every target reads millions of them,
// and one allocation a line was once hidden in an error check (the target
// of errors.As escapes to the heap).
func TestDecoderDoesNotAllocatePerLine(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}` + "\n")
	const lines = 1000
	for range lines {
		sb.WriteString(`{"type":"STATE","value":{"a":1}}` + "\n")
	}
	data := []byte(sb.String())
	allocs := testing.AllocsPerRun(3, func() {
		d := NewDecoder(bytes.NewReader(data))
		for d.Next() {
		}
		if d.Err() != nil {
			t.Fatal(d.Err())
		}
	})
	// The decoder's own set-up allocates a few times; a per-line
	// allocation would add a thousand.
	if allocs > lines/10 {
		t.Errorf("decoding %d lines allocated %v times: something allocates per line", lines+1, allocs)
	}
}
