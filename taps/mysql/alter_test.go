package mysql

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// needRowMetadata skips (fails under CI=true) unless the server logs column names
// (binlog_row_metadata=FULL, which `make services` sets).
func needRowMetadata(t *testing.T, exec func(string)) {
	t.Helper()
	db := connect(t)
	var meta string
	if err := db.QueryRow(`SELECT @@global.binlog_row_metadata`).Scan(&meta); err != nil {
		testenv.Missing(t, "the server has no binlog_row_metadata (MariaDB 10.5+, MySQL 8.0.1+): %v", err)
	}
	if meta != "FULL" {
		testenv.Missing(t, "binlog_row_metadata is %s: run `make services` (it sets FULL)", meta)
	}
}

// firstWrite is an output that closes started at its first write: the
// run has discovered its tables by then.
type firstWrite struct {
	mu      sync.Mutex
	buf     strings.Builder
	once    sync.Once
	started chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.WriteString(string(p))
}

var gtidPosRE = regexp.MustCompile(`binlog after [^ ]+( gtid=[^)]+)?\)`)

// TestMy5AlterTable: columns added and dropped between two LOG_BASED runs
// and within one run. Rows are mapped by the column names of the binlog's
// table maps: an added column is ignored until the catalog selects it
// (rows logged before it existed then carry null), a dropped unselected
// column is no matter, a dropped selected column stops the run with one
// line (exit 2) and a state that resumes at the change.
func TestMy5AlterTable(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	exec := func(s string) { t.Helper(); mustExec(t, db, s) }
	needRowMetadata(t, exec)
	tbl := quoteIdent(name) + ".my5_alter"
	exec("CREATE TABLE " + tbl + " (id int PRIMARY KEY, a varchar(10), b int, c int)")
	exec("INSERT INTO " + tbl + " VALUES (1, 'w', 10, 100)")
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	id := name + "-my5_alter"
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", id)
	cat.Stream(id).Metadata.SetSelected(singer.PropertyBreadcrumb("c"), false)
	lines, err := sqltaptest.Sync(t, env, logOptions(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeRecords(t, lines), `{"id":1,"a":"w","b":10}`; got != want {
		t.Errorf("snapshot:\n%s\nwant\n%s", got, want)
	}
	state1 := lastState(t, lines)

	// Between runs: a column added (in the middle), an unselected one dropped.
	exec("INSERT INTO " + tbl + " VALUES (2, 'x', 20, 200)")
	exec("ALTER TABLE " + tbl + " ADD COLUMN d int AFTER id")
	exec("INSERT INTO " + tbl + " VALUES (3, 7, 'y', 30, 300)")
	exec("ALTER TABLE " + tbl + " DROP COLUMN c")
	exec("INSERT INTO " + tbl + " VALUES (4, 8, 'z', 40)")
	exec("UPDATE " + tbl + " SET a = 'X' WHERE id = 2")

	// The old catalog: d is not selected, so it is not in the records.
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, state1.Clone())
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`{"id":2,"a":"x","b":20,"_sdc_deleted_at":null}`,
		`{"id":3,"a":"y","b":30,"_sdc_deleted_at":null}`,
		`{"id":4,"a":"z","b":40,"_sdc_deleted_at":null}`,
		`{"id":2,"a":"X","b":20,"_sdc_deleted_at":null}`,
	}, "\n")
	if got := changeRecords(t, lines); got != want {
		t.Errorf("changes, old catalog:\n%s\nwant\n%s", got, want)
	}

	// A new catalog selecting d: rows logged before d existed carry null.
	cat2 := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat2, singer.ReplicationLogBased, "", id)
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat2, state1.Clone())
	if err != nil {
		t.Fatal(err)
	}
	want = strings.Join([]string{
		`{"id":2,"d":null,"a":"x","b":20,"_sdc_deleted_at":null}`,
		`{"id":3,"d":7,"a":"y","b":30,"_sdc_deleted_at":null}`,
		`{"id":4,"d":8,"a":"z","b":40,"_sdc_deleted_at":null}`,
		`{"id":2,"d":null,"a":"X","b":20,"_sdc_deleted_at":null}`,
	}, "\n")
	if got := changeRecords(t, lines); got != want {
		t.Errorf("changes, new catalog:\n%s\nwant\n%s", got, want)
	}
	state2 := lastState(t, lines)

	// Within one run: the changes happen after the run discovered the
	// table (its first output line), while it streams.
	w := &firstWrite{started: make(chan struct{})}
	out := singer.NewEncoder(w)
	opts := logOptions()
	opts.LogIdle = 3 * time.Second
	opts.Now = func() time.Time { return sqltaptest.Now }
	e := &sqltap.Engine{Driver: env.Driver, Options: opts}
	done := make(chan error, 1)
	go func() { done <- e.Sync(context.Background(), cat2, state2, out) }()
	select {
	case <-w.started:
	case err := <-done:
		t.Fatalf("the run ended before writing: %v", err)
	}
	exec("ALTER TABLE " + tbl + " ADD COLUMN e int")
	exec("INSERT INTO " + tbl + " VALUES (5, 9, 'v', 50, 500)")
	exec("ALTER TABLE " + tbl + " DROP COLUMN e")
	exec("INSERT INTO " + tbl + " VALUES (6, 10, 'u', 60)")
	exec("ALTER TABLE " + tbl + " DROP COLUMN b")
	exec("INSERT INTO " + tbl + " VALUES (7, 11, 't')")
	err = <-done
	_ = out.Flush()
	got := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	want = strings.Join([]string{
		`{"id":5,"d":9,"a":"v","b":50,"_sdc_deleted_at":null}`,
		`{"id":6,"d":10,"a":"u","b":60,"_sdc_deleted_at":null}`,
	}, "\n")
	if g := changeRecords(t, got); g != want {
		t.Errorf("changes within one run:\n%s\nwant\n%s", g, want)
	}
	wantErr := `LOG_BASED: stream "` + id + `": selected column "b" was dropped from the table (binlog after <pos>): run --discover, deselect the column in the catalog and run again (the state resumes at the change)`
	if err == nil || cli.ExitCode(err) != cli.ExitUsage || gtidPosRE.ReplaceAllString(err.Error(), "binlog after <pos>)") != wantErr {
		t.Fatalf("err = %v\nwant (exit 2) %s", err, wantErr)
	}

	// Deselecting b, the next run resumes at the change: row 7 only.
	state3 := lastState(t, got)
	cat3 := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat3, singer.ReplicationLogBased, "", id)
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat3, state3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeRecords(t, lines), `{"id":7,"d":11,"a":"t","_sdc_deleted_at":null}`; got != want {
		t.Errorf("changes after deselecting the dropped column:\n%s\nwant\n%s", got, want)
	}
}
