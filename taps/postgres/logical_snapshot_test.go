package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// newSnapEnv is a LOG_BASED setup whose schema is named pg4b_<tag>, with a
// slot and publication of its own (replicationNames), all dropped at the end.
func newSnapEnv(t *testing.T, tag string) *logEnv {
	t.Helper()
	conn := connect(t)
	requireLogical(t, conn)
	e := &logEnv{t: t, conn: conn, schema: "pg4b_" + tag}
	e.slot, e.pub = replicationNames(t, tag)
	drop := func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+quoteIdent(e.schema)+" CASCADE")
	}
	drop()
	t.Cleanup(drop)
	e.exec("CREATE SCHEMA " + quoteIdent(e.schema))
	return e
}

var deletedAtTime = regexp.MustCompile(`"_sdc_deleted_at":"[^"]+"`)

// splitRecords sorts the RECORD lines of lines by stream into the table
// reads' records (no _sdc_deleted_at) and the change records (a delete's
// time replaced by "T"), each the record object as the tap wrote it.
func splitRecords(t *testing.T, lines []string, reads, changes map[string][]string) {
	t.Helper()
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"type":"RECORD"`) {
			continue
		}
		var m struct {
			Stream  string          `json:"stream"`
			Record  json.RawMessage `json:"record"`
			Version *int64          `json:"version"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if m.Version == nil || *m.Version != sqltaptest.Version {
			t.Errorf("record without the stream's version: %s", l)
		}
		r := string(m.Record)
		if strings.Contains(r, `"_sdc_deleted_at"`) {
			changes[m.Stream] = append(changes[m.Stream], deletedAtTime.ReplaceAllString(r, `"_sdc_deleted_at":"T"`))
		} else {
			reads[m.Stream] = append(reads[m.Stream], r)
		}
	}
}

func compareRecords(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for _, id := range sortedKeys(got, want) {
		g, w := strings.Join(got[id], "\n"), strings.Join(want[id], "\n")
		if g != w {
			t.Errorf("%s of %s:\n got %d:\n%s\nwant %d:\n%s", what, id, len(got[id]), g, len(want[id]), w)
		}
	}
}

func sortedKeys(ms ...map[string][]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// firstLogState is the STATE written before a run's change phase (the
// first with currently_syncing null).
func firstLogState(t *testing.T, lines []string) *singer.State {
	t.Helper()
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"STATE"`) && strings.Contains(l, `"currently_syncing":null`) {
			st, err := singer.ParseState([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	t.Fatalf("no STATE before the change phase:\n%s", strings.Join(lines, "\n"))
	return nil
}

func lastState(t *testing.T, lines []string) *singer.State {
	t.Helper()
	st, err := singer.ParseState([]byte(lines[len(lines)-1]))
	if err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	return st
}

// TestLogBasedExportedSnapshot: the first LOG_BASED run reads three tables
// (keyed and keyless) in the snapshot the new slot exported, while rows
// change after the export: some before any table is read (the test hook),
// the rest by a concurrent writer while the tables are read. The table
// reads must hold exactly the rows as they were at the export, and the
// change stream (this run's and the next's) exactly every change made
// after it, in commit order: each change once, in the snapshot or in the
// stream, never both, never missing.
func TestLogBasedExportedSnapshot(t *testing.T) {
	e := newSnapEnv(t, "exported")
	ctx := context.Background()
	e.exec("CREATE TABLE " + e.table("a") + " (id integer PRIMARY KEY, v integer, note text)")
	e.exec("INSERT INTO " + e.table("a") + " SELECT i, i, 'n' || i FROM generate_series(1, 200) i")
	e.exec("CREATE TABLE " + e.table("b") + " (id integer PRIMARY KEY, v integer)")
	e.exec("INSERT INTO " + e.table("b") + " SELECT i, 0 FROM generate_series(1, 50) i")
	e.exec("CREATE TABLE " + e.table("c") + " (x integer, y text)") // keyless: read by ctid
	e.exec("INSERT INTO " + e.table("c") + " SELECT i, 'c' || i FROM generate_series(1, 30) i")
	cat := e.open("a", "b", "c")
	ida, idb, idc := e.schema+"-a", e.schema+"-b", e.schema+"-c"

	wantReads := map[string][]string{}
	va, vb, note := map[int]int{}, map[int]int{}, map[int]string{}
	for i := 1; i <= 200; i++ {
		va[i], note[i] = i, fmt.Sprintf("n%d", i)
		wantReads[ida] = append(wantReads[ida], fmt.Sprintf(`{"id":%d,"v":%d,"note":"n%d"}`, i, i, i))
	}
	for i := 1; i <= 50; i++ {
		wantReads[idb] = append(wantReads[idb], fmt.Sprintf(`{"id":%d,"v":0}`, i))
	}
	for i := 1; i <= 30; i++ {
		wantReads[idc] = append(wantReads[idc], fmt.Sprintf(`{"x":%d,"y":"c%d"}`, i, i))
	}
	wantChanges := map[string][]string{}
	changeA := func(id int) {
		wantChanges[ida] = append(wantChanges[ida], fmt.Sprintf(`{"id":%d,"v":%d,"note":%q,"_sdc_deleted_at":null}`, id, va[id], note[id]))
	}
	changeB := func(id int) {
		wantChanges[idb] = append(wantChanges[idb], fmt.Sprintf(`{"id":%d,"v":%d,"_sdc_deleted_at":null}`, id, vb[id]))
	}

	writer, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Close(context.Background()) })
	done := make(chan error, 1)
	hooked := 0
	e.d.snapshotHook = func() {
		hooked++
		e.exec("UPDATE " + e.table("a") + " SET v = 1000 WHERE id = 5")
		va[5] = 1000
		changeA(5)
		e.exec("DELETE FROM " + e.table("a") + " WHERE id = 7")
		wantChanges[ida] = append(wantChanges[ida], `{"id":7,"_sdc_deleted_at":"T"}`)
		e.exec("INSERT INTO " + e.table("a") + " VALUES (1001, 1, 'late')")
		va[1001], note[1001] = 1, "late"
		changeA(1001)
		e.exec("UPDATE " + e.table("b") + " SET v = 9 WHERE id = 1")
		vb[1] = 9
		changeB(1)
		e.exec("INSERT INTO " + e.table("c") + " VALUES (99, 'late')")
		wantChanges[idc] = append(wantChanges[idc], `{"x":99,"y":"late","_sdc_deleted_at":null}`)

		// The writer's transactions, planned here so the expected changes
		// are known; it runs on while the tables are read.
		var plan []string
		for i := range 300 {
			id := i*37%200 + 1
			if id == 7 {
				id = 1001
			}
			va[id]++
			changeA(id)
			sql := fmt.Sprintf("BEGIN; UPDATE %s SET v = v + 1 WHERE id = %d;", e.table("a"), id)
			if i%10 == 0 {
				bid := i/10%50 + 1
				vb[bid]++
				changeB(bid)
				sql += fmt.Sprintf(" UPDATE %s SET v = v + 1 WHERE id = %d;", e.table("b"), bid)
			}
			plan = append(plan, sql+" COMMIT")
		}
		started := make(chan struct{})
		go func() {
			for i, sql := range plan {
				if _, err := writer.Exec(ctx, sql); err != nil {
					done <- fmt.Errorf("writer: %s: %w", sql, err)
					return
				}
				if i == 19 {
					close(started)
				}
			}
			done <- nil
		}()
		// Some of the writer's changes land before the first read.
		select {
		case <-started:
		case err := <-done:
			done <- err
		}
	}

	opts := sqltaptest.Options()
	opts.ChunkSize = 7
	opts.LogIdle = time.Second
	lines, err := sqltaptest.Sync(t, e.env, opts, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if hooked != 1 {
		t.Fatalf("the snapshot hook ran %d times, want 1", hooked)
	}
	if e.d.snap != nil {
		t.Error("the exported snapshot is still open after the run")
	}
	// Every stream's lsn is the slot's consistent point (where the slot
	// still stands: the first run confirms nothing).
	point, ok, err := e.d.slotConfirmed(ctx, e.slot)
	if err != nil || !ok {
		t.Fatalf("slot %s: %v %v", e.slot, ok, err)
	}
	st := firstLogState(t, lines)
	for _, id := range []string{ida, idb, idc} {
		lsn, err := parseLSN(st.Bookmarks[id][sqltap.BookmarkLogPosition])
		if err != nil || lsn != point {
			t.Errorf("stream %s: lsn %s before the change phase, want the consistent point %s (%v)", id, lsn, point, err)
		}
	}

	// The next run reads what the first did not get to; nothing twice.
	lines2, err := sqltaptest.Sync(t, e.env, opts, cat, lastState(t, lines))
	if err != nil {
		t.Fatal(err)
	}
	reads, changes := map[string][]string{}, map[string][]string{}
	splitRecords(t, lines, reads, changes)
	reads2 := map[string][]string{}
	splitRecords(t, lines2, reads2, changes)
	compareRecords(t, "snapshot records", reads, wantReads)
	if len(reads2) != 0 {
		t.Errorf("the second run read tables again: %v", reads2)
	}
	compareRecords(t, "change records", changes, wantChanges)
	if hooked != 1 {
		t.Errorf("the snapshot hook ran again (%d)", hooked)
	}
}

// cancelAfterRecords is an output that cancels the run once it has seen n
// RECORD lines.
type cancelAfterRecords struct {
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfterRecords) Write(p []byte) (int, error) {
	c.n -= bytes.Count(p, []byte(`{"type":"RECORD"`))
	if c.n <= 0 {
		c.cancel()
	}
	return c.buf.Write(p)
}

// TestLogBasedSnapshotInterrupted: a first run killed in the middle of its
// snapshot read loses the exported snapshot with its connection. The
// resumed run reads the rest of the interrupted table as it is now and the
// table the first run did not start from the current position (at least
// once), and streams every change from the slot's consistent point: no
// change is lost; rows changed after the point and read by the resumed run
// come again in the stream.
func TestLogBasedSnapshotInterrupted(t *testing.T) {
	e := newSnapEnv(t, "interrupted")
	e.exec("CREATE TABLE " + e.table("a") + " (id integer PRIMARY KEY, v integer)")
	e.exec("INSERT INTO " + e.table("a") + " SELECT i, i FROM generate_series(1, 30) i")
	e.exec("CREATE TABLE " + e.table("b") + " (id integer PRIMARY KEY, v integer)")
	e.exec("INSERT INTO " + e.table("b") + " SELECT i, i FROM generate_series(1, 10) i")
	cat := e.open("a", "b")
	ida, idb := e.schema+"-a", e.schema+"-b"
	hooked := 0
	e.d.snapshotHook = func() {
		hooked++
		// After the export: row 1 is read as it was, its change streamed.
		e.exec("UPDATE " + e.table("a") + " SET v = 100 WHERE id = 1")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelAfterRecords{n: 10, cancel: cancel}
	out := singer.NewEncoder(w)
	eng := &sqltap.Engine{Driver: e.d, Options: sqltap.Options{ChunkSize: 4, Now: sqltaptest.Options().Now}}
	err := eng.Sync(ctx, cat, singer.NewState(), out)
	_ = out.Flush()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	if e.d.snap != nil {
		t.Error("the exported snapshot is still open after the interrupted run")
	}
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	st := lastState(t, lines)
	point, ok, err := e.d.slotConfirmed(context.Background(), e.slot)
	if err != nil || !ok {
		t.Fatalf("slot %s: %v %v", e.slot, ok, err)
	}
	if st.CurrentlySyncing != ida {
		t.Errorf("interrupted state: currently_syncing %q, want %q", st.CurrentlySyncing, ida)
	}
	if lsn, _ := parseLSN(st.Bookmarks[ida][sqltap.BookmarkLogPosition]); lsn != point {
		t.Errorf("interrupted state: lsn %s, want the consistent point %s", lsn, point)
	}
	if _, ok := st.Bookmarks[idb]; ok {
		t.Errorf("interrupted state has bookmarks for the stream not started: %v", st.Bookmarks[idb])
	}
	pk, _ := st.Bookmarks[ida][sqltap.BookmarkLastPKFetched].(map[string]any)
	last, err := json.Number(fmt.Sprint(pk["id"])).Int64()
	if err != nil || last < 10 || last >= 25 {
		t.Fatalf("interrupted state: last_pk_fetched %v, want an id in 10..24", pk)
	}
	reads, changes := map[string][]string{}, map[string][]string{}
	splitRecords(t, lines, reads, changes)
	want := map[string][]string{}
	for i := 1; i <= int(last); i++ {
		want[ida] = append(want[ida], fmt.Sprintf(`{"id":%d,"v":%d}`, i, i))
	}
	compareRecords(t, "interrupted run's records", reads, want)
	compareRecords(t, "interrupted run's changes", changes, nil)

	// Changes between the runs: to a row already sent, to rows not yet
	// read, and to the stream not yet started.
	e.exec("UPDATE " + e.table("a") + " SET v = 200 WHERE id = 2")
	e.exec("UPDATE " + e.table("a") + " SET v = 300 WHERE id = 25")
	e.exec("DELETE FROM " + e.table("a") + " WHERE id = 26")
	e.exec("INSERT INTO " + e.table("a") + " VALUES (31, 31)")
	e.exec("UPDATE " + e.table("b") + " SET v = 400 WHERE id = 3")

	opts := sqltaptest.Options()
	opts.ChunkSize = 4
	opts.LogIdle = 500 * time.Millisecond
	lines2, err := sqltaptest.Sync(t, e.env, opts, cat, st)
	if err != nil {
		t.Fatal(err)
	}
	if hooked != 1 {
		t.Errorf("the resumed run exported a snapshot (hook ran %d times)", hooked)
	}
	reads, changes = map[string][]string{}, map[string][]string{}
	splitRecords(t, lines2, reads, changes)
	want = map[string][]string{}
	for i := int(last) + 1; i <= 31; i++ {
		v := i
		switch i {
		case 25:
			v = 300
		case 26:
			continue
		}
		want[ida] = append(want[ida], fmt.Sprintf(`{"id":%d,"v":%d}`, i, v))
	}
	for i := 1; i <= 10; i++ {
		v := i
		if i == 3 {
			v = 400
		}
		want[idb] = append(want[idb], fmt.Sprintf(`{"id":%d,"v":%d}`, i, v))
	}
	compareRecords(t, "resumed run's table records", reads, want)
	// Every change since the consistent point, those already read included
	// (25, 31); b's change came before its position, in its read.
	compareRecords(t, "resumed run's changes", changes, map[string][]string{ida: {
		`{"id":1,"v":100,"_sdc_deleted_at":null}`,
		`{"id":2,"v":200,"_sdc_deleted_at":null}`,
		`{"id":25,"v":300,"_sdc_deleted_at":null}`,
		`{"id":26,"_sdc_deleted_at":"T"}`,
		`{"id":31,"v":31,"_sdc_deleted_at":null}`,
	}})
	if lsnB, _ := parseLSN(firstLogState(t, lines2).Bookmarks[idb][sqltap.BookmarkLogPosition]); lsnB <= point {
		t.Errorf("stream b: lsn %s, want the position of the resumed run, past the consistent point %s", lsnB, point)
	}
}

// TestLogBasedExistingSlot: a stream added to a running LOG_BASED setup
// (the slot exists) is read from the current WAL position, at least once,
// without a new snapshot, and the streams already running go on.
func TestLogBasedExistingSlot(t *testing.T) {
	e := newSnapEnv(t, "existing")
	e.exec("CREATE TABLE " + e.table("a") + " (id integer PRIMARY KEY, v integer)")
	e.exec("INSERT INTO " + e.table("a") + " VALUES (1, 1), (2, 2)")
	e.exec("CREATE TABLE " + e.table("b") + " (id integer PRIMARY KEY, v integer)")
	cat := e.open("a")
	ida, idb := e.schema+"-a", e.schema+"-b"
	hooked := 0
	e.d.snapshotHook = func() { hooked++ }
	recs, st := e.sync(cat, nil)
	if hooked != 1 {
		t.Fatalf("first run: snapshot hook ran %d times, want 1", hooked)
	}
	if want := []string{logRecord(ida, `{"id":1,"v":1}`), logRecord(ida, `{"id":2,"v":2}`)}; strings.Join(recs, "\n") != strings.Join(want, "\n") {
		t.Errorf("first run:\n%s", strings.Join(recs, "\n"))
	}
	point, _ := parseLSN(st.Bookmarks[ida][sqltap.BookmarkLogPosition])

	e.exec("INSERT INTO " + e.table("b") + " VALUES (1, 10), (2, 20)")
	e.exec("UPDATE " + e.table("a") + " SET v = 11 WHERE id = 1")
	cat = e.open("a", "b") // a new driver, as a new run would have
	e.d.snapshotHook = func() { hooked++ }
	recs, st2 := e.sync(cat, st.Clone())
	if hooked != 1 {
		t.Errorf("a new stream on an existing slot exported a snapshot (hook ran %d times)", hooked)
	}
	want := []string{
		logRecord(idb, `{"id":1,"v":10}`),
		logRecord(idb, `{"id":2,"v":20}`),
		logRecord(ida, `{"id":1,"v":11,"_sdc_deleted_at":null}`),
	}
	if strings.Join(recs, "\n") != strings.Join(want, "\n") {
		t.Errorf("second run:\n%s\nwant:\n%s", strings.Join(recs, "\n"), strings.Join(want, "\n"))
	}
	lsnA, _ := parseLSN(st2.Bookmarks[ida][sqltap.BookmarkLogPosition])
	lsnB, _ := parseLSN(st2.Bookmarks[idb][sqltap.BookmarkLogPosition])
	if lsnA <= point || lsnB <= point {
		t.Errorf("lsns %s and %s did not move past %s", lsnA, lsnB, point)
	}

	// A change to b now streams once.
	e.exec("UPDATE " + e.table("b") + " SET v = 21 WHERE id = 2")
	recs, _ = e.sync(cat, st2.Clone())
	if want := logRecord(idb, `{"id":2,"v":21,"_sdc_deleted_at":null}`); len(recs) != 1 || recs[0] != want {
		t.Errorf("third run:\n%s\nwant:\n%s", strings.Join(recs, "\n"), want)
	}
}

// TestLogBasedNoReplicationRole: a user without the REPLICATION attribute
// cannot open the replication connection that creates the slot: one clear
// config error (exit 2), nothing but the first STATE written, no slot.
func TestLogBasedNoReplicationRole(t *testing.T) {
	e := newSnapEnv(t, "norepl")
	ctx := context.Background()
	role := "pg4b_norepl"
	dropRole := func() {
		_, _ = e.conn.Exec(ctx, "DROP OWNED BY "+quoteIdent(role))
		_, _ = e.conn.Exec(ctx, "DROP ROLE IF EXISTS "+quoteIdent(role))
	}
	dropRole()
	t.Cleanup(dropRole)
	e.exec("CREATE ROLE " + quoteIdent(role) + " LOGIN NOREPLICATION")
	e.exec("CREATE TABLE " + e.table("a") + " (id integer PRIMARY KEY)")
	e.exec("GRANT USAGE ON SCHEMA " + quoteIdent(e.schema) + " TO " + quoteIdent(role))
	e.exec("GRANT SELECT ON " + e.table("a") + " TO " + quoteIdent(role))
	// The publication an admin made: the role could not (not the owner).
	e.exec("CREATE PUBLICATION " + quoteIdent(e.pub) + " FOR TABLE " + e.table("a"))

	cc, err := pgx.ParseConfig(testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", role, cc.Host, cc.Port, cc.Database)
	d, err := Open(ctx, &Config{URL: url, FilterSchemas: []string{e.schema}, SlotName: e.slot, PublicationName: e.pub})
	if err != nil {
		testenv.Missing(t, "cannot connect as %s (trust authentication needed): %v", role, err)
	}
	t.Cleanup(func() { d.Close() })
	env := &sqltaptest.Env{Driver: d}
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", e.schema+"-a")
	lines, err := sqltaptest.Sync(t, env, sqltaptest.Options(), cat, nil)
	want := `invalid config: creating replication slot "` + e.slot + `": the user needs the REPLICATION attribute (ALTER ROLE ... REPLICATION)`
	var ce *config.Error
	if !errors.As(err, &ce) || err.Error() != `stream "`+e.schema+`-a": `+want {
		t.Errorf("err = %v, want a config error %q", err, want)
	}
	if strings.Contains(strings.Join(lines, "\n"), `"type":"RECORD"`) {
		t.Errorf("records before the error:\n%s", strings.Join(lines, "\n"))
	}
	var slots int
	if err := e.conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", e.slot).Scan(&slots); err != nil || slots != 0 {
		t.Errorf("slot %s: %d created (%v)", e.slot, slots, err)
	}
}
