package singer

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/valyala/fastjson"
)

// benchRecordLine is one RECORD line of typical length (291 bytes), as
// `singer gen --shape foundation` writes them, with every kind of value in
// it: a nested object, a decimal, a date-time, escapes-free UTF-8.
func benchRecordLine(tb testing.TB) []byte {
	tb.Helper()
	return []byte(`{"type":"RECORD","stream":"users","record":{"id":2,"name":"Radia Sato","email":"rsato95@ex.org","count":959,"vip":true,"amount":5491.306,"updated_at":"2024-01-01T00:00:05Z","birthday":"1995-08-02","address":{"street":"271 Oak St","city":"Osaka","zip":"30842"},"note":"café ☕ on Fridays"}}`)
}

func reportRecords(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchSink keeps the walks from being optimised away.
var benchSink int

// walkSingerkit visits every value of the JSON value at b[i] with the
// package's tokenizer: strings are unescaped when they hold escapes, numbers
// and literals are scanned. It returns the end offset and a checksum.
func walkSingerkit(b []byte, i int, scratch *[]byte) (int, int, error) {
	switch c := b[i]; {
	case c == '{':
		var it objectIter
		it.start(b, i)
		sum := 0
		for {
			key, _, off, ok := it.next()
			if !ok {
				break
			}
			end, s, err := walkSingerkit(b, off, scratch)
			if err != nil {
				return 0, 0, err
			}
			sum += len(key) + s
			it.i = end
		}
		return it.i, sum, it.err
	case c == '[':
		j := skipWS(b, i+1)
		sum := 0
		if b[j] == ']' {
			return j + 1, 0, nil
		}
		for {
			end, s, err := walkSingerkit(b, j, scratch)
			if err != nil {
				return 0, 0, err
			}
			sum += s
			j = skipWS(b, end)
			if b[j] == ']' {
				return j + 1, sum, nil
			}
			j = skipWS(b, j+1)
		}
	case c == '"':
		end, esc, err := scanString(b, i)
		if err != nil {
			return 0, 0, err
		}
		if esc {
			*scratch = appendUnescaped((*scratch)[:0], b[i+1:end-1])
			return end, len(*scratch), nil
		}
		return end, end - i - 2, nil
	case c == 't' || c == 'f' || c == 'n':
		end, err := skipValue(b, i)
		return end, 1, err
	default:
		end, _, err := scanNumber(b, i)
		return end, end - i, err
	}
}

func walkFastjson(v *fastjson.Value) int {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		sum := 0
		o.Visit(func(key []byte, v *fastjson.Value) { sum += len(key) + walkFastjson(v) })
		return sum
	case fastjson.TypeArray:
		a, _ := v.Array()
		sum := 0
		for _, e := range a {
			sum += walkFastjson(e)
		}
		return sum
	case fastjson.TypeString:
		return len(v.GetStringBytes())
	default:
		return 1
	}
}

func walkAny(v any) int {
	switch v := v.(type) {
	case map[string]any:
		sum := 0
		for k, e := range v {
			sum += len(k) + walkAny(e)
		}
		return sum
	case []any:
		sum := 0
		for _, e := range v {
			sum += walkAny(e)
		}
		return sum
	case string:
		return len(v)
	default:
		return 1
	}
}

// BenchmarkTokenize parses one whole RECORD line and visits every value in
// it, with our tokenizer and with three other JSON libraries.
func BenchmarkTokenize(b *testing.B) {
	line := benchRecordLine(b)
	b.Run("singerkit", func(b *testing.B) {
		var scratch []byte
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			end, sum, err := walkSingerkit(line, 0, &scratch)
			if err != nil || end != len(line) {
				b.Fatal(err, end)
			}
			benchSink += sum
		}
		reportRecords(b)
	})
	b.Run("fastjson", func(b *testing.B) {
		var p fastjson.Parser
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := p.ParseBytes(line)
			if err != nil {
				b.Fatal(err)
			}
			benchSink += walkFastjson(v)
		}
		reportRecords(b)
	})
	// goccy: the envelope into a struct with the record kept raw, then the
	// record into map[string]any, walked (a generic target knows no struct).
	b.Run("goccy", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			var env struct {
				Type   string            `json:"type"`
				Stream string            `json:"stream"`
				Record gojson.RawMessage `json:"record"`
			}
			if err := gojson.Unmarshal(line, &env); err != nil {
				b.Fatal(err)
			}
			var rec map[string]any
			if err := gojson.Unmarshal(env.Record, &rec); err != nil {
				b.Fatal(err)
			}
			benchSink += len(env.Type) + len(env.Stream) + walkAny(rec)
		}
		reportRecords(b)
	})
	// goccy_envelope: the envelope alone, the record left raw and unvisited
	// (the figure in MODULES.md); a floor for goccy, not a full walk.
	b.Run("goccy_envelope", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			var env struct {
				Type   string            `json:"type"`
				Stream string            `json:"stream"`
				Record gojson.RawMessage `json:"record"`
			}
			if err := gojson.Unmarshal(line, &env); err != nil {
				b.Fatal(err)
			}
			benchSink += len(env.Type) + len(env.Stream) + len(env.Record)
		}
		reportRecords(b)
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				b.Fatal(err)
			}
			benchSink += walkAny(m)
		}
		reportRecords(b)
	})
}
