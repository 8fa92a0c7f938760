package gate

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/singerlog"
)

// nullLog stores nothing and acknowledges at once: the gate's own cost.
type nullLog struct{}

func (nullLog) Store(_ context.Context, _ string, msgs []*singerlog.Message) ([]uint64, error) {
	return make([]uint64, len(msgs)), nil
}
func (nullLog) Ping(context.Context) error { return nil }

// BenchmarkBatch100: the gate's CPU for one 100-record batch request
// (parse, validate, build the log messages), the log left out.
func BenchmarkBatch100(b *testing.B) {
	cfg := testConfig("bench")
	srv, err := NewServer(cfg, Options{Log: nullLog{}, Producer: "bench", Lookup: testLookup, AccessLog: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	var recs []string
	for i := 0; i < 100; i++ {
		recs = append(recs, upsert(i, fmt.Sprintf(`{"id":%d,"total":%d.25,"note":"customer number %d"}`, i, i, i)))
	}
	body := batchBody("orders", recs...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/v2/import/batch", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokFull)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 202 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}
