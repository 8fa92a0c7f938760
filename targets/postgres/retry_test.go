package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

const retryStream = `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}
`

// lockRow opens a transaction on conn that updates row id of table t in
// schema, and returns it (rolled back at cleanup).
func lockRow(t *testing.T, schema string, id int, settings ...string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	conn := connect(t)
	for _, s := range settings {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, "UPDATE "+pgx.Identifier{schema, "t"}.Sanitize()+" SET v = 'test' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitLockWait waits until a target-postgres session waits for a lock.
func waitLockWait(t *testing.T) {
	t.Helper()
	conn := connect(t)
	testenv.WaitFor(t, "a target-postgres session to wait for the test's lock", func() bool {
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'target-postgres' AND wait_event_type = 'Lock' AND datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// TestDeadlockRetried: the target's merge and a concurrent transaction
// deadlock; PostgreSQL aborts the target's transaction (40P01), which is
// run again and lands the target's values.
func TestDeadlockRetried(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	r := sqltargettest.Run(t, h, cfg, retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"old"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"old"}}
`)
	if r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	// The test's transaction holds row 2 and waits long before it checks
	// for a deadlock: the target's session (deadlock_timeout 1s) finds it
	// and is the one aborted.
	tx := lockRow(t, schema, 2, "SET deadlock_timeout = '60s'")
	tp := sqltargettest.StartTarget(t, h, sqltargettest.With(cfg, "retry_backoff_seconds", 0.05))
	tp.Write(retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"new"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"new"}}
{"type":"STATE","value":{"pos":2}}
`, true)
	waitLockWait(t)
	// Row 1 is the target's now: taking it closes the cycle.
	done := make(chan error, 1)
	go func() {
		_, err := tx.Exec(context.Background(), "UPDATE "+pgx.Identifier{schema, "t"}.Sanitize()+" SET v = 'test' WHERE id = 1")
		if err == nil {
			err = tx.Commit(context.Background())
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("the test's transaction: %v", err)
	}
	if code := tp.Wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, tp.Stderr())
	}
	if !strings.Contains(tp.Stderr(), `WARNING loading 2 records of stream "t" into t failed (attempt 1 of 6), retrying in 50ms: merging by key: ERROR: deadlock detected (SQLSTATE 40P01)`) {
		t.Errorf("no retry of the deadlock on stderr:\n%s", tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":2}` {
		t.Errorf("states %q", got)
	}
	if got := strings.Join(h.Rows(t, schema, "t", []string{"id", "v"}, "id"), ","); got != "1|new,2|new" {
		t.Errorf("rows %q, want the target's values (its retry ran after the test's transaction)", got)
	}
}

// TestRetriesExhausted: a lock held for the whole run makes every attempt
// fail with 55P03 (lock_timeout); the run ends with the server's error and
// its SQLSTATE, and the rows are as before.
func TestRetriesExhausted(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	r := sqltargettest.Run(t, h, cfg, retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"old"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"old"}}
{"type":"STATE","value":{"pos":0}}
`)
	if r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	lockRow(t, schema, 2)
	// Any key of a PostgreSQL URL that pgx does not know is a session
	// setting: lock_timeout makes each attempt give up on the lock.
	cfg = sqltargettest.With(cfg, "url", testenv.PostgresURL()+"&lock_timeout=100", "max_retries", 2, "retry_backoff_seconds", 0.05)
	r = sqltargettest.Run(t, h, cfg, retryStream+`{"type":"RECORD","stream":"t","record":{"id":1,"v":"new"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"new"}}
{"type":"STATE","value":{"pos":2}}
`)
	want := `target-postgres: error: loading 2 records of stream "t" into t: merging by key: ERROR: canceling statement due to lock timeout (SQLSTATE 55P03) (gave up after 3 attempts, max_retries 2)`
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if r.Code != 1 || lines[len(lines)-1] != want || r.Stdout != "" {
		t.Errorf("exit %d, stdout %q, want the line\n  %s\nstderr:\n%s", r.Code, r.Stdout, want, r.Stderr)
	}
	if n := strings.Count(r.Stderr, "WARNING loading 2 records"); n != 2 {
		t.Errorf("%d retry warnings, want 2:\n%s", n, r.Stderr)
	}
	if got := strings.Join(h.Rows(t, schema, "t", []string{"id", "v"}, "id"), ","); got != "1|old,2|old" {
		t.Errorf("rows %q, want them untouched", got)
	}
}

// TestCopyErrorKeepsSQLState: a COPY the server refuses (a CHECK
// constraint of a table made by hand) ends the run with one line that
// names the constraint, the place and the SQLSTATE, and the
// *pgconn.PgError stays reachable for callers.
func TestCopyErrorKeepsSQLState(t *testing.T) {
	conn := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	ident := pgx.Identifier{schema, "t"}.Sanitize()
	execAll(t, conn,
		"CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE "+ident+" (id bigint, v text CONSTRAINT no_bad CHECK (v <> 'bad'))",
	)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":[]}
{"type":"RECORD","stream":"t","record":{"id":1,"v":"good"}}
{"type":"RECORD","stream":"t","record":{"id":2,"v":"bad"}}
`)
	want := `target-postgres: error: loading 2 records of stream "t" into t: COPY failed: new row for relation "t" violates check constraint "no_bad" (COPY t, line 2) (SQLSTATE 23514)`
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if r.Code != 1 || lines[len(lines)-1] != want {
		t.Errorf("exit %d, want 1 and the line\n  %s\nstderr:\n%s", r.Code, want, r.Stderr)
	}
	var pe *pgconn.PgError
	if err := copyError(&pgconn.PgError{Code: "23514", Message: "m"}); !errors.As(err, &pe) || pe.Code != "23514" {
		t.Errorf("copyError hides the PgError: %v", err)
	}
}
