package mysql

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

const retryStream = `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}
`

// lockRow opens a transaction that updates row id of table t in db (after
// making itself heavy: InnoDB rolls back the lighter transaction of a
// deadlock, which is then the target's); it is rolled back at cleanup.
func lockRow(t *testing.T, db string, id int) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	pool := connect(t)
	// (Outside the transaction: DDL commits it.)
	if _, err := pool.ExecContext(ctx, "CREATE TABLE "+quote(db)+".ballast (n INT) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+quote(db)+".ballast SELECT seq FROM seq_1_to_2000"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+quote(db)+".t SET v = 'test' WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitLockWait waits until a session of the test's database waits for a
// row lock: INNODB_TRX says so, or (MariaDB 10.11 was seen to leave a
// waiting LOAD DATA out of INNODB_TRX for its whole lock wait) the
// target's two-row LOAD DATA has run for a second, which only a lock
// wait explains.
func waitLockWait(t *testing.T, db string) {
	t.Helper()
	pool := connect(t)
	testenv.WaitFor(t, "a target-mysql session to wait for the test's lock", func() bool {
		var n int
		if err := pool.QueryRow(`SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'
			AND trx_mysql_thread_id IN (SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? OR INSTR(INFO, ?) > 0))
			+ (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%' AND INSTR(INFO, ?) > 0 AND TIME >= 1)`, db, db, db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// TestDeadlockRetried: the target's load and a concurrent transaction
// deadlock; InnoDB rolls back the target's (1213), which is run again and
// lands the target's values.
func TestDeadlockRetried(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, db := h.Config(t)
	r := sqltargettest.Run(t, h, cfg, retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"old"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"old"}}
`)
	if r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	tx := lockRow(t, db, 2)
	tp := sqltargettest.StartTarget(t, h, sqltargettest.With(cfg, "retry_backoff_seconds", 0.05))
	tp.Write(retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"new"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"new"}}
{"type":"STATE","value":{"pos":2}}
`, true)
	waitLockWait(t, db)
	// Row 1 is the target's now: asking for it closes the cycle.
	if _, err := tx.Exec("UPDATE " + quote(db) + ".t SET v = 'test' WHERE id = 1"); err != nil {
		t.Fatalf("the test's transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if code := tp.Wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, tp.Stderr())
	}
	if !strings.Contains(tp.Stderr(), `WARNING loading 2 records of stream "t" into t failed (attempt 1 of 6), retrying in 50ms: `) ||
		!strings.Contains(tp.Stderr(), "Error 1213 (40001): Deadlock found") {
		t.Errorf("no retry of the deadlock on stderr:\n%s", tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":2}` {
		t.Errorf("states %q", got)
	}
	if got := strings.Join(h.Rows(t, db, "t", []string{"id", "v"}, "id"), ","); got != "1|new,2|new" {
		t.Errorf("rows %q, want the target's values (its retry ran after the test's transaction)", got)
	}
}

// TestRetriesExhausted: a lock held for the whole run makes every attempt
// fail with 1205 (lock wait timeout); the run ends with the server's error
// and its code, the rows as before.
func TestRetriesExhausted(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, db := h.Config(t)
	r := sqltargettest.Run(t, h, cfg, retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"old"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"old"}}
`)
	if r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	lockRow(t, db, 2)
	cfg = sqltargettest.With(cfg, "session_sqls", []string{"SET SESSION innodb_lock_wait_timeout = 1"}, "max_retries", 1, "retry_backoff_seconds", 0.05)
	r = sqltargettest.Run(t, h, cfg, retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"new"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"new"}}
{"type":"STATE","value":{"pos":2}}
`)
	want := `target-mysql: error: loading 2 records of stream "t" into t: LOAD DATA failed: Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction (gave up after 2 attempts, max_retries 1)`
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if r.Code != 1 || lines[len(lines)-1] != want || r.Stdout != "" {
		t.Errorf("exit %d, stdout %q, want the line\n  %s\nstderr:\n%s", r.Code, r.Stdout, want, r.Stderr)
	}
	if got := strings.Join(h.Rows(t, db, "t", []string{"id", "v"}, "id"), ","); got != "1|old,2|old" {
		t.Errorf("rows %q, want them untouched", got)
	}
}
