package singer

import (
	"bytes"
	"fmt"
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

// wideSchema declares n string properties p0..p(n-1), and an object w
// that declares n properties too (flattened into columns at depth 1).
func wideSchema(n int) string {
	var props strings.Builder
	for i := range n {
		fmt.Fprintf(&props, `"p%d":{"type":["null","string"]},`, i)
	}
	inner := strings.TrimSuffix(props.String(), ",")
	return `{"type":"object","properties":{` + props.String() + `"w":{"type":"object","properties":{` + inner + `}}}}`
}

// wideRecord has every property of wideSchema(n), and w holds them too.
func wideRecord(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `"p%d":"v%d",`, i, i)
	}
	inner := strings.TrimSuffix(sb.String(), ",")
	return `{` + sb.String() + `"w":{` + inner + `}}`
}

// TestWideRecordsRepeatsWithoutAllocating: an object with more than 64
// declared properties finds a repeated key among any of them (the 150th
// here, at the top and inside a nested object) and, without repeats,
// decodes without allocating (wide rows once spent half their decoding
// time in a map of the keys past the 64th).
func TestWideRecordsRepeatsWithoutAllocating(t *testing.T) {
	s, err := CompileSchema([]byte(wideSchema(200)), SchemaOptions{FlattenDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := []byte(wideRecord(200))
	var row Row
	if err := s.Decode(rec, &row, true); err != nil {
		t.Fatal(err)
	}
	if got := string(row.Values[150].Bytes); got != "v150" {
		t.Errorf("column 150 is %q, want v150", got)
	}
	if allocs := testing.AllocsPerRun(10, func() {
		if err := s.Decode(rec, &row, true); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("decoding a 400-property record allocated %v times", allocs)
	}
	top := strings.Replace(string(rec), `"p199":"v199",`, `"p199":"v199","p150":"again",`, 1)
	at := strings.Index(top, `"p150":"again"`)
	if err := s.Decode([]byte(top), &row, true); err == nil || err.Error() != fmt.Sprintf(`record is not valid JSON: duplicate key "p150" at byte %d`, at+1) {
		t.Errorf("repeated p150 at the top: %v", err)
	}
	nested := strings.TrimSuffix(string(rec), "}}") + `,"p150":"again"}}`
	at = strings.LastIndex(nested, `"p150"`)
	if err := s.Decode([]byte(nested), &row, true); err == nil || err.Error() != fmt.Sprintf(`record is not valid JSON: duplicate key "p150" at byte %d`, at+1) {
		t.Errorf("repeated p150 in w: %v", err)
	}
}
