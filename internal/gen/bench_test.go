package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/singerkit/singerkit/singer"
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

func reportRecords(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
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
		s, err := singer.CompileSchema([]byte(genShapes["foundation"].schema), singer.SchemaOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d := singer.NewDecoder(&repeatReader{block: block})
		d.OpenRecords = true
		var row singer.Row
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
		d := singer.NewDecoder(&repeatReader{block: block})
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
		s, err := singer.CompileSchema([]byte(genShapes["foundation"].schema), singer.SchemaOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var records [][]byte
		for _, l := range benchRecordLines(b, 4096) {
			const prefix = `{"type":"RECORD","stream":"users","record":`
			records = append(records, l[len(prefix):len(l)-1])
		}
		var row singer.Row
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
		s, err := singer.CompileSchema([]byte(genShapes["foundation"].schema), singer.SchemaOptions{})
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

// benchSink keeps the benchmarks' work from being optimised away.
var benchSink int
