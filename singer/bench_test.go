package singer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	gojson "github.com/goccy/go-json"
	"github.com/valyala/fastjson"
)

// The benchmarks below measure the protocol layer on the generator's
// foundation records (about 290 bytes a line). scripts/bench.sh runs them
// after the end-to-end figures; every benchmark reports records/s.

// benchRecordLines returns n foundation RECORD lines (without newlines).
func benchRecordLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var out bytes.Buffer
	o := &genOptions{records: int64(n), stateEvery: int64(n) + 1, shape: "foundation", seed: 1, streams: 1}
	if err := generateStream(context.Background(), o, &out); err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`{"type":"RECORD"`)) {
			lines = append(lines, l)
		}
	}
	if len(lines) != n {
		tb.Fatalf("generated %d record lines, want %d", len(lines), n)
	}
	return lines
}

// benchRecordLine is one foundation RECORD line of typical length, with a
// non-null note, so that every kind of value is in it.
func benchRecordLine(tb testing.TB) []byte {
	tb.Helper()
	for _, l := range benchRecordLines(tb, 200) {
		if len(l) >= 280 && len(l) <= 300 && !bytes.Contains(l, []byte(`"note":null`)) {
			return l
		}
	}
	tb.Fatal("no foundation record line of 280-300 bytes with a note")
	return nil
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

// repeatReader serves a block of lines over and over, like a pipe that
// never ends.
type repeatReader struct {
	block []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	return n, nil
}

func benchBlock(tb testing.TB) ([]byte, int) {
	lines := benchRecordLines(tb, 4096)
	block := bytes.Join(lines, []byte("\n"))
	return append(block, '\n'), len(lines)
}

// BenchmarkDecodeValidate reads RECORD lines and validates each against the
// foundation schema: with the decoder and the schema plan (what targets
// run), and with encoding/json and jsonschema/v5 alone (the naive target).
func BenchmarkDecodeValidate(b *testing.B) {
	block, _ := benchBlock(b)
	b.Run("plan", func(b *testing.B) {
		s, err := CompileSchema([]byte(genShapes["foundation"].schema), SchemaOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d := NewDecoder(&repeatReader{block: block})
		d.OpenRecords = true
		var row Row
		b.SetBytes(int64(len(block)) / 4096)
		b.ReportAllocs()
		for b.Loop() {
			if !d.Next() {
				b.Fatal(d.Err())
			}
			n, err := s.DecodePrefix(d.Message().Record, &row, true)
			if err == nil {
				err = d.FinishRecord(n)
			}
			if err != nil || row.Judged {
				b.Fatalf("line %d: judged %v, err %v", d.Line(), row.Judged, err)
			}
		}
		reportRecords(b)
	})
	// The two halves of plan, to show where its time goes: the decoder
	// alone (the envelope, with the record skipped and syntax-checked), and
	// the schema plan alone on records already split from their envelope.
	b.Run("decoder_only", func(b *testing.B) {
		d := NewDecoder(&repeatReader{block: block})
		b.SetBytes(int64(len(block)) / 4096)
		b.ReportAllocs()
		for b.Loop() {
			if !d.Next() {
				b.Fatal(d.Err())
			}
			benchSink += len(d.Message().Record)
		}
		reportRecords(b)
	})
	b.Run("plan_only", func(b *testing.B) {
		s, err := CompileSchema([]byte(genShapes["foundation"].schema), SchemaOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var records [][]byte
		for _, l := range benchRecordLines(b, 4096) {
			const prefix = `{"type":"RECORD","stream":"users","record":`
			records = append(records, l[len(prefix):len(l)-1])
		}
		var row Row
		i := 0
		b.SetBytes(int64(len(block)) / 4096)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Decode(records[i%len(records)], &row, true); err != nil || row.Judged {
				b.Fatalf("record %d: judged %v, err %v", i, row.Judged, err)
			}
			i++
		}
		reportRecords(b)
	})
	b.Run("judge_only", func(b *testing.B) {
		s, err := CompileSchema([]byte(genShapes["foundation"].schema), SchemaOptions{})
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReaderSize(&repeatReader{block: block}, readBufferSize)
		b.SetBytes(int64(len(block)) / 4096)
		b.ReportAllocs()
		for b.Loop() {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			var env struct {
				Type   string          `json:"type"`
				Stream string          `json:"stream"`
				Record json.RawMessage `json:"record"`
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&env); err != nil {
				b.Fatal(err)
			}
			if err := s.JudgeRaw(env.Record); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b)
	})
}

// BenchmarkReadLines is the floor: reading the same lines and nothing else.
func BenchmarkReadLines(b *testing.B) {
	block, _ := benchBlock(b)
	br := bufio.NewReaderSize(&repeatReader{block: block}, readBufferSize)
	b.SetBytes(int64(len(block)) / 4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b)
}

// BenchmarkGenerate is `singer gen --shape foundation` without the I/O.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	o := &genOptions{records: int64(b.N), stateEvery: 10000, shape: "foundation", seed: 1, streams: 1}
	if err := generateStream(context.Background(), o, io.Discard); err != nil {
		b.Fatal(err)
	}
	reportRecords(b)
}
