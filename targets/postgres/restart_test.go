package postgres

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/faultproxy"
	"github.com/singerkit/singerkit/internal/testserver"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestServerRestartMidLoad: the server is restarted (fast shutdown) while
// the target is in the middle of a COPY; the batch's transaction is lost
// with its connection, the target loads it again on a new connection once
// the server is back, and the table holds every record exactly once.
func TestServerRestartMidLoad(t *testing.T) {
	srv := testserver.StartPostgres(t)
	p := faultproxy.New(t, srv.Addr())
	p.StallAt([]byte("COPY "), 2, 2000)
	cfg := map[string]any{"url": "postgres://root@" + p.Addr() + "/postgres?sslmode=disable", "default_target_schema": "restart",
		"batch_size_rows": 1000, "max_parallel_flushes": 1, "network_timeout_seconds": 10, "max_retries": 8, "retry_backoff_seconds": 0.2}
	tp := sqltargettest.StartTarget(t, harness{}, cfg)
	tp.Write(sqltargettest.BatchedInput(false), true)
	select {
	case <-p.Stalled():
	case <-tp.Done():
		t.Fatalf("the target ended before the second COPY: exit %d\n%s", tp.Code(), tp.Stderr())
	}
	srv.Stop(t, syscall.SIGINT)
	srv.Start(t)
	p.Resume()
	if code := tp.Wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, tp.Stderr())
	}
	if !strings.Contains(tp.Stderr(), `WARNING loading 1000 records of stream "t" into t failed (attempt 1 of 9)`) {
		t.Errorf("no retry on stderr:\n%s", tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":1000},{"pos":2000},{"pos":3000},{"pos":4000},{"pos":5000}` {
		t.Errorf("states %s", got)
	}
	conn, err := pgx.Connect(context.Background(), srv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, distinct, lo, hi int
	var vs string
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT id), min(id), max(id),
		(md5(string_agg(v, ',' ORDER BY id)) = md5(string_agg('value ' || id, ',' ORDER BY id)))::text FROM restart.t`).Scan(&n, &distinct, &lo, &hi, &vs); err != nil {
		t.Fatal(err)
	}
	if n != 5000 || distinct != 5000 || lo != 1 || hi != 5000 || vs != "true" {
		t.Errorf("table: %d rows, %d ids, %d..%d, values right: %s; want every record exactly once", n, distinct, lo, hi, vs)
	}
}

// TestCommitWithoutReply: the server commits an append batch but its
// reply never arrives (the proxy stalls right after the COMMIT). The
// target cannot know whether the batch landed: it asks the server
// (txid_status) on a new connection, learns that it did, and does not
// load it again: every record is in the table once.
func TestCommitWithoutReply(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	p := faultproxy.New(t, h.ServerAddr(t))
	// The second batch's COMMIT (pgx sends it as a simple query: 'Q',
	// length 11, "commit", NUL) reaches the server; its reply does not.
	p.StallAfter([][]byte{[]byte("COPY "), []byte("COPY "), []byte("Q\x00\x00\x00\x0bcommit")}, 1)
	cfg = sqltargettest.With(h.Via(t, cfg, p.Addr()), "batch_size_rows", 1000, "max_parallel_flushes", 1,
		"network_timeout_seconds", 2, "retry_backoff_seconds", 1)
	tp := sqltargettest.StartTarget(t, h, cfg)
	tp.Write(sqltargettest.BatchedInput(false), true)
	tp.WaitStderr(t, `WARNING loading 1000 records of stream "t" into t failed (attempt 1 of 6)`)
	p.Resume()
	if code := tp.Wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, tp.Stderr())
	}
	if !strings.Contains(tp.Stderr(), `loading 1000 records of stream "t" into t: the attempt whose COMMIT got no reply did commit`) {
		t.Errorf("stderr:\n%s", tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":1000},{"pos":2000},{"pos":3000},{"pos":4000},{"pos":5000}` {
		t.Errorf("states %s", got)
	}
	got := h.Rows(t, schema, "t", []string{"count(*)", "count(DISTINCT id)", "min(id)", "max(id)"}, "")
	if strings.Join(got, ",") != "5000|5000|1|5000" {
		t.Errorf("table %q, want every record once", got)
	}
}

// TestOverwriteSwapWithoutReply: the reply to the COMMIT of overwrite's
// swap is lost. The swap drops the replacement in its own transaction, so
// the retry finds it gone, knows the swap committed, and the run ends
// with its state instead of failing on a replacement that is no more.
func TestOverwriteSwapWithoutReply(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	p := faultproxy.New(t, h.ServerAddr(t))
	p.StallAfter([][]byte{[]byte("TRUNCATE "), []byte("Q\x00\x00\x00\x0bcommit")}, 1)
	cfg = sqltargettest.With(h.Via(t, cfg, p.Addr()), "load_method", "overwrite", "batch_size_rows", 1000, "max_parallel_flushes", 1,
		"network_timeout_seconds", 2, "retry_backoff_seconds", 1)
	tp := sqltargettest.StartTarget(t, h, cfg)
	tp.Write(sqltargettest.BatchedInput(false), true)
	tp.WaitStderr(t, `(attempt 1 of 6)`)
	p.Resume()
	if code := tp.Wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":5000}` {
		t.Errorf("states %s", got)
	}
	got := h.Rows(t, schema, "t", []string{"count(*)", "count(DISTINCT id)", "min(id)", "max(id)"}, "")
	if strings.Join(got, ",") != "5000|5000|1|5000" {
		t.Errorf("table %q, want every record once", got)
	}
}
