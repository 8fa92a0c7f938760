package singer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScanner: the tokenizer accepts exactly what encoding/json accepts,
// except invalid UTF-8 and lone surrogate escapes, which it refuses
// (encoding/json replaces them with U+FFFD), and objects with a key twice
// (encoding/json keeps the last value).
func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2.5e-3,"x\u00e9",true,null]`, `"\ud83d\ude00"`, `{"a":{"b":[]}}`, `-0.0E+1`, `{"a" : "b" , "c":[ ]}`, `{"a":1,"a":2}`, "\"\xff\"", `01`, `{"a":1,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := skipWS(b, 0)
		end, err := skipValue(b, i)
		ours := err == nil && skipWS(b, end) == len(b)
		theirs := json.Valid(b)
		if ours && !theirs {
			t.Fatalf("scanner accepts what encoding/json rejects: %q", b)
		}
		if theirs && utf8.Valid(b) && !ours && !strings.Contains(err.Error(), "lone UTF-16 surrogate") && !strings.Contains(err.Error(), "duplicate key") {
			t.Fatalf("scanner rejects valid JSON %q: %v", b, err)
		}
		if ours {
			// Unescaping agrees with encoding/json for every string.
			var v any
			if json.Unmarshal(b, &v) == nil {
				if s, ok := v.(string); ok {
					got := string(appendUnescaped(nil, b[i+1:end-1]))
					if got != s {
						t.Fatalf("unescape %q: got %q want %q", b, got, s)
					}
				}
			}
		}
	})
}

// FuzzPlan: whatever the record, a plan that vouches for it agrees with the
// judge, and a plan syntax error means the record is not valid JSON.
func FuzzPlan(f *testing.F) {
	schemas := make([]*Schema, len(planSchemas))
	for i, src := range planSchemas {
		s, err := CompileSchema([]byte(src), SchemaOptions{FlattenDepth: i % 3})
		if err != nil {
			f.Fatal(err)
		}
		schemas[i] = s
	}
	f.Add(uint8(0), []byte(`{"id":1,"name":"x","active":false}`))
	f.Add(uint8(2), []byte(`{"amount":0.01,"ratio":0.30000000000000004}`))
	f.Add(uint8(5), []byte(`{"addr":{"city":"x"},"tags":["abcd"]}`))
	f.Fuzz(func(t *testing.T, which uint8, rec []byte) {
		s := schemas[int(which)%len(schemas)]
		var row Row
		ok, err := s.Plan.Decode(rec, &row)
		if err != nil {
			if json.Valid(rec) && utf8.Valid(rec) && len(rec) > 0 && rec[skipWS(rec, 0)] == '{' && !strings.Contains(err.Error(), "lone UTF-16 surrogate") && !strings.Contains(err.Error(), "duplicate key") {
				t.Fatalf("plan syntax error on valid JSON %q: %v", rec, err)
			}
			return
		}
		if ok {
			if jerr := s.JudgeRaw(rec); jerr != nil {
				t.Fatalf("plan accepted %q, judge says %v", rec, jerr)
			}
		}
	})
}

// FuzzLazyRecords: a decoder with LazyRecords finds the same record bytes
// as a strict one for every line the strict one accepts, and a line it
// accepts whose record then passes a full parse is a line the strict
// decoder accepts.
func FuzzLazyRecords(f *testing.F) {
	for _, s := range []string{
		`{"type":"RECORD","stream":"s","record":{"a":"x\"}y","b":[1,{"c":"]"}]}}`,
		`{"type":"RECORD","stream":"s","record":{"a":"\\\\"},"version":1}`,
		`{"type":"RECORD","record":{"a":{}},"stream":"s"}`,
		`{"type":"RECORD","stream":"s","record":{"a":"\\"}`,
		`{"type":"RECORD","stream":"s","record":{"a":[}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		strict := NewDecoder(bytes.NewReader(line))
		lazy := NewDecoder(bytes.NewReader(line))
		lazy.LazyRecords = true
		sok, lok := strict.Next(), lazy.Next()
		if sok && !lok {
			t.Fatalf("lazy rejects a line strict accepts: %q: %v", line, lazy.Err())
		}
		if !lok {
			return
		}
		lm := lazy.Message()
		if sok {
			if !bytes.Equal(strict.Message().Record, lm.Record) {
				t.Fatalf("record spans differ for %q: %q vs %q", line, strict.Message().Record, lm.Record)
			}
			return
		}
		// Lazy accepted, strict did not: the record must be what is wrong.
		if lm.Type == TypeRecord {
			i := skipWS(lm.Record, 0)
			if end, err := skipValue(lm.Record, i); err == nil && skipWS(lm.Record, end) == len(lm.Record) {
				t.Fatalf("lazy accepted %q with a valid record %q, strict says %v", line, lm.Record, strict.Err())
			}
			return
		}
		t.Fatalf("lazy accepted a non-record line strict rejects: %q: %v", line, strict.Err())
	})
}

// FuzzOpenRecords: a decoder with OpenRecords, finishing each open record
// with the length a full parse finds, reads every line exactly as a strict
// decoder does.
func FuzzOpenRecords(f *testing.F) {
	for _, s := range []string{
		`{"type":"RECORD","stream":"s","record":{"a":"x\"}y","b":[1,{"c":"]"}]},"version":3,"time_extracted":"2024-01-01T00:00:00Z"}`,
		`{"type":"RECORD","stream":"s","record":{"a":1}}`,
		`{"record":{"a":{}},"type":"RECORD","stream":"s"}`,
		`{"type":"RECORD","stream":"s","record":{"a":1},"type":"STATE"}`,
		`{"type":"RECORD","stream":"s","record":{"a":1} , "x":[1,2] }`,
		`{"type":"RECORD","stream":"s","record":{"a":1},"version":"x"}`,
		`{"type":"STATE","value":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		strict := NewDecoder(bytes.NewReader(line))
		open := NewDecoder(bytes.NewReader(line))
		open.OpenRecords = true
		sok := strict.Next()
		ook := open.Next()
		var oerr error
		if ook && open.Message().Type == TypeRecord {
			// What a consumer does: decode the record in place, finish.
			rec := open.Message().Record
			end, err := skipValue(rec, 0)
			if err != nil {
				ook, oerr = false, err
			} else if err := open.FinishRecord(end); err != nil {
				ook, oerr = false, err
			}
		} else if !ook {
			oerr = open.Err()
		}
		if sok != ook {
			t.Fatalf("strict %v (%v), open %v (%v) for %q", sok, strict.Err(), ook, oerr, line)
		}
		if !sok {
			return
		}
		sm, om := strict.Message(), open.Message()
		if sm.Type != om.Type || sm.Stream != om.Stream || !bytes.Equal(sm.Record, om.Record) ||
			sm.Version != om.Version || sm.HasVersion != om.HasVersion || !bytes.Equal(sm.TimeExtracted, om.TimeExtracted) {
			t.Fatalf("messages differ for %q:\nstrict %+v\nopen   %+v", line, sm, om)
		}
	})
}
