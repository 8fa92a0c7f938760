package postgres

import (
	"bufio"
	"os"
	"testing"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// BenchmarkDecodeEncode measures the client side of a load: decode and
// validate a RECORD line through the plan, then encode it as binary COPY.
func BenchmarkDecodeEncode(b *testing.B) {
	f, err := os.Open("/tmp/flat1m.jsonl")
	if err != nil {
		b.Skip("no /tmp/flat1m.jsonl")
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(lines) < 10001 {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	dec := singer.NewDecoder(bufioReader(lines[:1]))
	dec.Next()
	sch, err := singer.CompileSchema(dec.Message().Schema, singer.SchemaOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var encs []encoder
	kinds := map[string]physKind{"id": physInt8, "name": physText, "email": physText, "city": physText, "qty": physInt8, "score": physInt8, "active": physBool, "code": physText, "amount": physNumeric, "updated_at": physTimestamptz}
	for _, c := range sch.Plan.Columns {
		encs = append(encs, encoder{kind: kinds[c.Name], name: c.Name, scale: -1})
	}
	batch := newCopyBatch(&sqltarget.Table{}, encs, nil)
	var row singer.Row
	recs := lines[1:]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		line := recs[i%len(recs)]
		if line[10] == 'S' {
			continue
		}
		// The envelope: the record object starts after "record":.
		j := 0
		for k := 0; k+9 < len(line); k++ {
			if string(line[k:k+9]) == `"record":` {
				j = k + 9
				break
			}
		}
		rec := line[j : len(line)-1]
		if err := sch.Decode(rec, &row, true); err != nil {
			b.Fatal(err)
		}
		if err := batch.Append(row.Values); err != nil {
			b.Fatal(err)
		}
		if batch.Rows() > 10000 {
			batch.Reset()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type sliceReader struct{ data []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, os.ErrClosed
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func bufioReader(lines [][]byte) *sliceReader {
	var all []byte
	for _, l := range lines {
		all = append(all, l...)
		all = append(all, '\n')
	}
	return &sliceReader{data: all}
}
