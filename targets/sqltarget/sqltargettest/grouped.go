package sqltargettest

import (
	"fmt"
	"strings"
)

// GroupedInput is the input of the grouped-load tests: SCHEMAs of streams
// a, b and c (properties id and v; keyProperties is the key_properties
// JSON array), then two records each of a, b, c and a again (ids 1-8, v
// "a1" ... "a8"), then STATE {"pos":8}. With batches of two records and
// one loader, a's first load starts, b's and c's batches queue behind it,
// a's second queues too, and the reader waits for a's first batch to come
// back.
func GroupedInput(keyProperties string) string {
	var b strings.Builder
	for _, s := range []string{"a", "b", "c"} {
		fmt.Fprintf(&b, `{"type":"SCHEMA","stream":%q,"schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":%s}`+"\n", s, keyProperties)
	}
	id := 0
	for _, s := range []string{"a", "b", "c", "a"} {
		for range 2 {
			id++
			fmt.Fprintf(&b, `{"type":"RECORD","stream":%q,"record":{"id":%d,"v":"%s%d"}}`+"\n", s, id, s, id)
		}
	}
	b.WriteString(`{"type":"STATE","value":{"pos":8}}` + "\n")
	return b.String()
}
