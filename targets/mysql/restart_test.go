package mysql

import (
	"database/sql"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/faultproxy"
	"github.com/singerkit/singerkit/internal/testserver"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestServerRestartMidLoad: the server is restarted while the target is
// in the middle of a LOAD DATA; the batch's transaction is lost with its
// connection, the target loads it again on a new connection once the
// server is back, and the table holds every record exactly once. The
// driver's own log lines never reach stderr.
func TestServerRestartMidLoad(t *testing.T) {
	srv := testserver.StartMariaDB(t)
	p := faultproxy.New(t, srv.Addr())
	p.StallAt([]byte("LOAD DATA"), 2, 2000)
	dc := mysql.NewConfig()
	dc.User, dc.Net, dc.Addr, dc.DBName = "root", "tcp", p.Addr(), "test"
	cfg := map[string]any{"dsn": dc.FormatDSN(), "batch_size_rows": 1000, "max_parallel_flushes": 1,
		"network_timeout_seconds": 10, "max_retries": 8, "retry_backoff_seconds": 0.2}
	tp := sqltargettest.StartTarget(t, harness{}, cfg)
	tp.Write(sqltargettest.BatchedInput(false), true)
	select {
	case <-p.Stalled():
	case <-tp.Done():
		t.Fatalf("the target ended before the second LOAD DATA: exit %d\n%s", tp.Code(), tp.Stderr())
	}
	srv.Stop(t, syscall.SIGTERM)
	srv.Start(t)
	p.Resume()
	if code := tp.Wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, tp.Stderr())
	}
	if !strings.Contains(tp.Stderr(), `WARNING loading 1000 records of stream "t" into t failed (attempt 1 of 9)`) {
		t.Errorf("no retry on stderr:\n%s", tp.Stderr())
	}
	if strings.Contains(tp.Stderr(), "[mysql]") {
		t.Errorf("the driver's log lines reached stderr:\n%s", tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":1000},{"pos":2000},{"pos":3000},{"pos":4000},{"pos":5000}` {
		t.Errorf("states %s", got)
	}
	db, err := sql.Open("mysql", srv.MariaDBDSN("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, distinct, lo, hi, right int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id), SUM(v = CONCAT('value ', id)) FROM t`).Scan(&n, &distinct, &lo, &hi, &right); err != nil {
		t.Fatal(err)
	}
	if n != 5000 || distinct != 5000 || lo != 1 || hi != 5000 || right != 5000 {
		t.Errorf("table: %d rows, %d ids, %d..%d, %d values right; want every record exactly once", n, distinct, lo, hi, right)
	}
}
