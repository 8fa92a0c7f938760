package singer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func decodeAll(t *testing.T, input string) ([]Message, error) {
	t.Helper()
	d := NewDecoder(strings.NewReader(input))
	var out []Message
	for d.Next() {
		m := *d.Message()
		m.Record = append([]byte(nil), m.Record...)
		m.Schema = append([]byte(nil), m.Schema...)
		m.Value = append([]byte(nil), m.Value...)
		m.KeyProperties = append([]string(nil), m.KeyProperties...)
		out = append(out, m)
	}
	return out, d.Err()
}

func TestDecoderMessages(t *testing.T) {
	input := `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}

{"type":"record","stream":"users","record":{"id":1,"amount":12345678901234567890.123456789},"version":3,"time_extracted":"2024-01-02T03:04:05.123456Z"}
{"type":"State","value":{"bookmarks":{"users":{"id":1}}}}
{"type":"ACTIVATE_VERSION","stream":"users","version":3}
{"type":"BATCH","stream":"users","encoding":{"format":"jsonl","compression":"gzip"},"manifest":["file:///tmp/a.jsonl.gz"]}`
	msgs, err := decodeAll(t, input)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 5 {
		t.Fatalf("got %d messages, want 5", len(msgs))
	}
	wantTypes := []MessageType{TypeSchema, TypeRecord, TypeState, TypeActivateVersion, TypeBatch}
	wantLines := []int64{1, 3, 4, 5, 6}
	for i, m := range msgs {
		if m.Type != wantTypes[i] || m.Line != wantLines[i] {
			t.Errorf("message %d: type %v line %d, want %v line %d", i, m.Type, m.Line, wantTypes[i], wantLines[i])
		}
	}
	if got := strings.Join(msgs[0].KeyProperties, ","); got != "id" {
		t.Errorf("key_properties = %q", got)
	}
	rec := msgs[1]
	if string(rec.Record) != `{"id":1,"amount":12345678901234567890.123456789}` {
		t.Errorf("record not byte-identical: %s", rec.Record)
	}
	if !rec.HasVersion || rec.Version != 3 || string(rec.TimeExtracted) != "2024-01-02T03:04:05.123456Z" {
		t.Errorf("record envelope: %+v", rec)
	}
	if string(msgs[2].Value) != `{"bookmarks":{"users":{"id":1}}}` {
		t.Errorf("state value %s", msgs[2].Value)
	}
	if msgs[4].Encoding.Compression != "gzip" || msgs[4].Manifest[0] != "file:///tmp/a.jsonl.gz" {
		t.Errorf("batch %+v", msgs[4])
	}
}

func TestDecoderLongLine(t *testing.T) {
	big := strings.Repeat("x", 50<<20)
	input := `{"type":"RECORD","stream":"s","record":{"blob":"` + big + `"}}` + "\n" + `{"type":"STATE","value":{}}`
	msgs, err := decodeAll(t, input)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || len(msgs[0].Record) != len(big)+11 {
		t.Fatalf("long line not read whole: %d messages", len(msgs))
	}
}

func TestDecoderErrors(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{"malformed", "{\"type\":\"STATE\",\"value\":{}}\n{\"type\":\"RECORD\",\"stream\":\"s\",\"record\":{\"a\":1,}}", `line 2: invalid JSON: invalid character '}' where an object key was expected at byte 47`},
		{"truncated", `{"type":"RECORD","stream":"s","record":{"a":"abc`, `line 1: invalid JSON: unexpected end of input inside a string (truncated line?) at byte 49`},
		{"no type", `{"stream":"s"}`, `line 1: message has no "type"`},
		{"not object", `[1,2]`, `line 1: not a JSON object`},
		{"state not object", `{"type":"STATE","value":[1]}`, `line 1: STATE "value" must be a JSON object`},
		{"schema without keys", `{"type":"SCHEMA","stream":"s","schema":{}}`, `line 1: SCHEMA for stream "s" has no "key_properties" (use [] when the stream has no key)`},
		{"record not object", `{"type":"RECORD","stream":"s","record":5}`, `line 1: RECORD for stream "s": "record" must be a JSON object`},
		{"invalid utf8", "{\"type\":\"RECORD\",\"stream\":\"s\",\"record\":{\"a\":\"\xff\"}}", `line 1: invalid JSON: invalid UTF-8 byte 0xff in string at byte 46`},
		{"activate without version", `{"type":"ACTIVATE_VERSION","stream":"s"}`, `line 1: ACTIVATE_VERSION for stream "s" has no "version"`},
		{"trailing data", `{"type":"STATE","value":{}} x`, `line 1: invalid JSON: unexpected data after the message at byte 29`},
		{"type twice", `{"type":"RECORD","type":"RECORD","stream":"s","record":{"a":1}}`, `line 1: invalid JSON: duplicate key "type" at byte 18`},
		{"type twice, other value", `{"type":"STATE","value":{},"type":"RECORD","stream":"s","record":{}}`, `line 1: invalid JSON: duplicate key "type" at byte 28`},
		{"unknown envelope key twice", `{"type":"STATE","x":1,"value":{},"x":2}`, `line 1: invalid JSON: duplicate key "x" at byte 34`},
		{"record property twice", `{"type":"RECORD","stream":"s","record":{"id":2,"a":"x","a":"y"}}`, `line 1: invalid JSON: duplicate key "a" at byte 56`},
		{"nested property twice", `{"type":"RECORD","stream":"s","record":{"id":2,"o":{"b":1,"c":[{"d":1,"d":2}]}}}`, `line 1: invalid JSON: duplicate key "d" at byte 71`},
		{"empty key twice", `{"type":"STATE","value":{"":1,"":2}}`, `line 1: invalid JSON: duplicate key "" at byte 31`},
		{"empty key twice in a record", `{"type":"RECORD","stream":"s","record":{"":1,"a":2,"":3}}`, `line 1: invalid JSON: duplicate key "" at byte 52`},
		{"escaped key twice", `{"type":"RECORD","stream":"s","record":{"a":1,"\u0061":2}}`, `line 1: invalid JSON: duplicate key "a" at byte 47`},
		{"schema type twice", `{"type":"SCHEMA","stream":"s","schema":{"type":"object","type":"string"},"key_properties":[]}`, `line 1: invalid JSON: duplicate key "type" at byte 57`},
		{"state key twice", `{"type":"STATE","value":{"bookmarks":{},"bookmarks":{}}}`, `line 1: invalid JSON: duplicate key "bookmarks" at byte 41`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeAll(t, c.input)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want an InputError, got %v", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error\n got %s\nwant prefix %s", err, c.want)
			}
		})
	}
}

func TestDecoderUnknownType(t *testing.T) {
	input := "{\"type\":\"FOO\"}\n{\"type\":\"FOO\"}\n{\"type\":\"STATE\",\"value\":{}}\n"
	d := NewDecoder(strings.NewReader(input))
	var warnings []string
	d.Warn = func(s string) { warnings = append(warnings, s) }
	n := 0
	for d.Next() {
		n++
	}
	if d.Err() != nil || n != 1 {
		t.Fatalf("err %v, %d messages", d.Err(), n)
	}
	if len(warnings) != 1 || warnings[0] != `line 1: skipping messages of unknown type "FOO"` {
		t.Errorf("warnings %q", warnings)
	}
	d = NewDecoder(strings.NewReader(input))
	d.Strict = true
	for d.Next() {
	}
	if d.Err() == nil || !strings.HasPrefix(d.Err().Error(), `line 1: unknown message type "FOO"`) {
		t.Errorf("strict: %v", d.Err())
	}
}

func TestDecoderEmpty(t *testing.T) {
	msgs, err := decodeAll(t, "")
	if err != nil || len(msgs) != 0 {
		t.Fatalf("empty input: %v %d", err, len(msgs))
	}
}

func TestEncoderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.WriteSchema(SchemaMessage{Stream: "s", Schema: []byte(`{"type":"object"}`)}))
	must(e.WriteRecord(RecordMessage{Stream: "s", Record: []byte(`{"d":1.10}`), Version: 7, HasVersion: true, TimeExtracted: mustTime(t, "2024-05-06T07:08:09.5+02:00")}))
	// The encoder keeps the last stream's and time's text: each change
	// of either is written as it is.
	must(e.WriteRecord(RecordMessage{Stream: "s", Record: []byte(`{"d":2}`), TimeExtracted: mustTime(t, "2024-05-06T05:08:09.5Z")}))
	must(e.WriteRecord(RecordMessage{Stream: "t\"", Record: []byte(`{"d":3}`), TimeExtracted: mustTime(t, "2024-05-06T05:08:09Z")}))
	must(e.WriteRecord(RecordMessage{Stream: "t\"", Record: []byte(`{"d":4}`)}))
	must(e.WriteRecord(RecordMessage{Stream: "s", Record: []byte(`{"d":5}`), TimeExtracted: mustTime(t, "2024-05-06T05:08:09Z")}))
	must(e.WriteActivateVersion("s", 7))
	must(e.WriteState([]byte(`{"a":1}`)))
	want := `{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}
{"type":"RECORD","stream":"s","record":{"d":1.10},"version":7,"time_extracted":"2024-05-06T05:08:09.500000Z"}
{"type":"RECORD","stream":"s","record":{"d":2},"time_extracted":"2024-05-06T05:08:09.500000Z"}
{"type":"RECORD","stream":"t\"","record":{"d":3},"time_extracted":"2024-05-06T05:08:09Z"}
{"type":"RECORD","stream":"t\"","record":{"d":4}}
{"type":"RECORD","stream":"s","record":{"d":5},"time_extracted":"2024-05-06T05:08:09Z"}
{"type":"ACTIVATE_VERSION","stream":"s","version":7}
{"type":"STATE","value":{"a":1}}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	msgs, err := decodeAll(t, buf.String())
	if err != nil || len(msgs) != 8 {
		t.Fatalf("re-decode: %v", err)
	}
}

func TestAppendJSONString(t *testing.T) {
	got := string(AppendJSONString(nil, "a\"b\\c\n\x01é\u2028\xff"))
	want := `"a\"b\\c\n\u0001é\u2028\ufffd"`
	if got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

// Objects of every width: distinct keys pass (whatever the filter says),
// a repeated key is found before, at and after the switch to a map, also
// when one spelling has escapes.
func TestSkipValueDuplicateKeysAnyWidth(t *testing.T) {
	for _, n := range []int{1, 2, 31, 32, 33, 200} {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		ok := strings.TrimSuffix(b.String(), ",") + "}"
		if _, err := skipValue([]byte(ok), 0); err != nil {
			t.Errorf("%d distinct keys: %v", n, err)
		}
		for _, dup := range []string{`"k0":1`, fmt.Sprintf(`"k%d":1`, n-1), `"\u006b0":1`} {
			bad := b.String() + dup + "}"
			_, err := skipValue([]byte(bad), 0)
			want := `duplicate key "k0"`
			if !strings.HasPrefix(dup, `"k0"`) && !strings.HasPrefix(dup, `"\u`) {
				want = fmt.Sprintf(`duplicate key "k%d"`, n-1)
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%d keys + %s: %v, want %s", n, dup, err, want)
			}
		}
	}
}
