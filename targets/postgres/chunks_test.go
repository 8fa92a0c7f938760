package postgres

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestRowsAcrossChunks loads rows of every size the chunked batches treat
// apart (small, beyond the room kept in a chunk, beyond an eighth of a
// chunk, beyond a whole 256 KiB chunk), from two interleaved streams,
// in several batches (so chunks go from one batch and stream to the
// next), appended and upserted: every byte lands where it belongs.
func TestRowsAcrossChunks(t *testing.T) {
	conn := connect(t)
	sizes := []int{0, 7, 120, 3000, 40_000, 300_000, 15, 1}
	for _, method := range []string{"append", "upsert"} {
		t.Run(method, func(t *testing.T) {
			cfg, schema := harness{}.Config(t)
			cfg["load_method"] = method
			cfg["batch_size_rows"] = 37
			var in strings.Builder
			for _, s := range []string{"a", "b"} {
				in.WriteString(`{"type":"SCHEMA","stream":"` + s + `","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"},"n":{"type":"number"}}},"key_properties":["id"]}` + "\n")
			}
			want := map[string]*strings.Builder{"a": {}, "b": {}}
			var total int
			for id := 1; id <= 400; id++ {
				s := []string{"a", "b"}[id%2]
				size := sizes[(id/2)%len(sizes)]
				v := fmt.Sprintf("%d:", id) + strings.Repeat(string(rune('a'+id%26)), size)
				total += len(v)
				in.WriteString(fmt.Sprintf(`{"type":"RECORD","stream":"%s","record":{"id":%d,"v":%s,"n":%d.%d}}`+"\n", s, id, singer.AppendJSONString(nil, v), id, id%7))
				sum := md5.Sum([]byte(v))
				want[s].WriteString(hex.EncodeToString(sum[:]))
			}
			in.WriteString(`{"type":"STATE","value":{"done":true}}` + "\n")
			r := sqltargettest.Run(t, harness{}, cfg, in.String())
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			var got int
			for _, s := range []string{"a", "b"} {
				var n, length int
				var digest string
				err := conn.QueryRow(context.Background(), "SELECT count(*), sum(length(v)), md5(string_agg(md5(v), '' ORDER BY id)) FROM "+pgx.Identifier{schema, s}.Sanitize()).Scan(&n, &length, &digest)
				if err != nil {
					t.Fatal(err)
				}
				sum := md5.Sum([]byte(want[s].String()))
				if n != 200 || digest != hex.EncodeToString(sum[:]) {
					t.Errorf("stream %s: %d rows, digest %s, want 200 rows, digest %x", s, n, digest, sum)
				}
				got += length
			}
			if got != total {
				t.Errorf("%d bytes of text loaded, want %d", got, total)
			}
		})
	}
}
