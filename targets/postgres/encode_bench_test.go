package postgres

import (
	"bytes"
	"context"
	"testing"

	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/internal/gen"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// BenchmarkDecodeEncode measures the client side of a load: decode and
// validate RECORD lines through the plan, then encode them as binary COPY
// (what the decoding goroutine does; the COPY itself is the server's).
func BenchmarkDecodeEncode(b *testing.B) {
	var stream, stderr bytes.Buffer
	// singer gen, without the singer binary's root: that imports singer
	// canary, which imports this package.
	g := gen.NewCommand(&stream, &stderr)
	g.SetArgs([]string{"--shape", "flat", "--records", "20000", "--stream", "bench"})
	if err := g.ExecuteContext(context.Background()); err != nil {
		b.Fatalf("singer gen: %v %s", err, stderr.String())
	}
	d := singer.NewDecoder(bytes.NewReader(stream.Bytes()))
	d.LazyRecords = true
	var sch *singer.Schema
	var records [][]byte
	for d.Next() {
		m := d.Message()
		switch m.Type {
		case singer.TypeSchema:
			var err error
			if sch, err = singer.CompileSchema(m.Schema, singer.SchemaOptions{}); err != nil {
				b.Fatal(err)
			}
		case singer.TypeRecord:
			records = append(records, bytes.Clone(m.Record))
		}
	}
	// Encoders as PrepareTable chooses them for a new table.
	var encs []encoder
	for _, c := range sch.Plan.Columns {
		e, ok := physicalKind(c.Name, columnType(sqltarget.LogicalTypeOf(c.Schema)))
		if !ok {
			b.Fatalf("column %s: no encoder", c.Name)
		}
		encs = append(encs, e)
	}
	// The table as the engine plans it: id is the key; append keeps no
	// key set, upsert notices repeated keys.
	for _, mode := range []struct {
		name   string
		unique bool
	}{{"append", false}, {"upsert", true}} {
		b.Run(mode.name, func(b *testing.B) {
			t := &sqltarget.Table{Keys: []string{"id"}, UniqueKey: mode.unique}
			for _, c := range sch.Plan.Columns {
				t.Columns = append(t.Columns, &sqltarget.Column{Name: c.Name, Key: c.Name == "id"})
			}
			batch := newCopyBatch(t, encs, nil, chunkbuf.NewPool(0))
			var row singer.Row
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := sch.Decode(records[i%len(records)], &row, true); err != nil || row.Judged {
					b.Fatalf("judged %v err %v", row.Judged, err)
				}
				if err := batch.Append(row.Values); err != nil {
					b.Fatal(err)
				}
				if batch.Rows() >= 10000 {
					batch.Reset()
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
