package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestLogBased snapshots a table, then streams inserts, updates and deletes
// through the slot, run after run, and checks that the slot is confirmed
// only up to the lsn of the state each run started with.
func TestLogBased(t *testing.T) {
	conn := connect(t)
	requireLogical(t, conn)
	schema := testSchema(t, conn)
	ctx := context.Background()
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	slot, pub := replicationNames(t, "logbased")
	tbl := pgx.Identifier{schema, "items"}.Sanitize()
	exec("CREATE TABLE " + tbl + " (id integer PRIMARY KEY, name text, amount numeric(6,2), at timestamptz)")
	exec("INSERT INTO " + tbl + " VALUES (1, 'one', 1.50, '2024-01-01 00:00:00+00'), (2, 'two', NULL, NULL)")

	d, err := Open(ctx, &Config{URL: testenv.PostgresURL(), FilterSchemas: []string{schema}, SlotName: slot, PublicationName: pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	env := &sqltaptest.Env{Driver: d}
	id := schema + "-items"
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", id)
	opts := sqltaptest.Options()
	opts.LogIdle = 500 * time.Millisecond

	records := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.HasPrefix(l, `{"type":"RECORD"`) {
				out = append(out, l)
			}
		}
		return out
	}
	lastState := func(lines []string) *singer.State {
		t.Helper()
		l := lines[len(lines)-1]
		st, err := singer.ParseState([]byte(l))
		if err != nil {
			t.Fatalf("last line %q: %v", l, err)
		}
		if _, ok := st.Bookmarks[id][sqltap.BookmarkLogPosition]; !ok {
			t.Fatalf("last state has no lsn: %s", l)
		}
		return st
	}
	rec := func(r string, version bool) string {
		v := ""
		if version {
			v = fmt.Sprintf(`,"version":%d`, sqltaptest.Version)
		}
		return fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":%s%s,"time_extracted":"2024-05-06T07:08:09Z"}`, id, r, v)
	}

	// Run 1: the snapshot.
	lines, err := sqltaptest.Sync(t, env, opts, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(records(lines), "\n")
	want := strings.Join([]string{
		rec(`{"id":1,"name":"one","amount":1.50,"at":"2024-01-01T00:00:00Z"}`, true),
		rec(`{"id":2,"name":"two","amount":null,"at":null}`, true),
	}, "\n")
	if got != want {
		t.Fatalf("snapshot records:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(lines[1], `"_sdc_deleted_at":{"type":["null","string"],"format":"date-time"}`) {
		t.Errorf("SCHEMA lacks _sdc_deleted_at: %s", lines[1])
	}
	state1 := lastState(lines)

	// Changes, then run 2 from the snapshot's state.
	exec("INSERT INTO " + tbl + " VALUES (3, 'three', 3, '2024-03-03 03:03:03.5+00')")
	exec("UPDATE " + tbl + " SET name = 'uno', amount = -1 WHERE id = 1")
	exec("DELETE FROM " + tbl + " WHERE id = 2")
	lines, err = sqltaptest.Sync(t, env, opts, cat, state1.Clone())
	if err != nil {
		t.Fatal(err)
	}
	recs := records(lines)
	if len(recs) != 3 {
		t.Fatalf("run 2: %d records, want 3:\n%s", len(recs), strings.Join(lines, "\n"))
	}
	for i, w := range []string{
		rec(`{"id":3,"name":"three","amount":3.00,"at":"2024-03-03T03:03:03.5Z","_sdc_deleted_at":null}`, true),
		rec(`{"id":1,"name":"uno","amount":-1.00,"at":"2024-01-01T00:00:00Z","_sdc_deleted_at":null}`, true),
	} {
		if recs[i] != w {
			t.Errorf("run 2 record %d:\n got %s\nwant %s", i, recs[i], w)
		}
	}
	// A delete carries the key and the commit time.
	if !strings.Contains(recs[2], `"record":{"id":2,"_sdc_deleted_at":"20`) {
		t.Errorf("run 2 delete record: %s", recs[2])
	}
	state2 := lastState(lines)

	// Run 3: no change to the table (only WAL of another one): nothing is
	// sent, the lsn still moves on (keepalive), and the slot is confirmed
	// to state2's lsn, not further.
	lsn2, _ := parseLSN(state2.Bookmarks[id][sqltap.BookmarkLogPosition])
	other := pgx.Identifier{schema, "other"}.Sanitize()
	exec("CREATE TABLE " + other + " (x integer)")
	exec("INSERT INTO " + other + " SELECT generate_series(1, 100)")
	lines, err = sqltaptest.Sync(t, env, opts, cat, state2.Clone())
	if err != nil {
		t.Fatal(err)
	}
	if recs := records(lines); len(recs) != 0 {
		t.Errorf("run 3 resent: %v", recs)
	}
	confirmed, _, err := d.slotConfirmed(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	if confirmed != lsn2 {
		t.Errorf("slot confirmed %s, want the input state's %s", confirmed, lsn2)
	}
	if lsn3, _ := parseLSN(lastState(lines).Bookmarks[id][sqltap.BookmarkLogPosition]); lsn3 <= lsn2 {
		t.Errorf("idle run: lsn %s did not move past %s", lsn3, lsn2)
	}

	// A state behind the slot's confirmed position is refused.
	lsn1, _ := parseLSN(state1.Bookmarks[id][sqltap.BookmarkLogPosition])
	lines, err = sqltaptest.Sync(t, env, opts, cat, state1)
	wantErr := fmt.Sprintf(`stream %q: replication slot %q was confirmed up to %s, past the state's lsn %s (another consumer used the slot, or the state is old): remove the stream's bookmark to snapshot it again`, id, slot, lsn2, lsn1)
	if err == nil || err.Error() != wantErr {
		t.Errorf("stale state: err = %v, want %s", err, wantErr)
	} else if !errors.As(err, new(*cli.UsageError)) {
		t.Errorf("stale state: %T is not a usage error (exit 2)", err)
	}
	if len(lines) != 1 || lines[0] != "" {
		t.Errorf("stale state: output before the error: %q", lines)
	}

	// A slot dropped behind the tap's back: the changes are lost, say so.
	exec("SELECT pg_drop_replication_slot('" + slot + "')")
	lines, err = sqltaptest.Sync(t, env, opts, cat, state2.Clone())
	if len(lines) != 1 || lines[0] != "" {
		t.Errorf("missing slot: output before the error: %q", lines)
	}
	var ue *cli.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `replication slot "`+slot+`" does not exist`) {
		t.Errorf("missing slot: err = %v, want a usage error naming the slot", err)
	}
}

// TestLogBasedReadsToTheLogEnd: a change committed before a run began is
// in that run, however long the walsender takes to get to it. Here it
// follows a large transaction on a table the run does not read: decoding
// that takes the server far longer than the run's idle time (50ms), and
// a run that ended on the idle time alone (it did) left the change to
// the next run, one schedule late.
func TestLogBasedReadsToTheLogEnd(t *testing.T) {
	conn := connect(t)
	requireLogical(t, conn)
	schema := testSchema(t, conn)
	slot, pub := replicationNames(t, "logend")
	tbl := pgx.Identifier{schema, "items"}.Sanitize()
	bulk := pgx.Identifier{schema, "bulk"}.Sanitize()
	mustExec(t, conn, "CREATE TABLE "+tbl+" (id integer PRIMARY KEY, name text)", "CREATE TABLE "+bulk+" (x integer, pad text)")

	d, err := Open(context.Background(), &Config{URL: testenv.PostgresURL(), FilterSchemas: []string{schema}, SlotName: slot, PublicationName: pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	env := &sqltaptest.Env{Driver: d}
	id := schema + "-items"
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", id)
	opts := sqltaptest.Options()
	opts.LogIdle = 50 * time.Millisecond

	lines, err := sqltaptest.Sync(t, env, opts, cat, nil) // the (empty) snapshot
	if err != nil {
		t.Fatal(err)
	}
	st, err := singer.ParseState([]byte(lines[len(lines)-1]))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn,
		"INSERT INTO "+bulk+" SELECT g, repeat('x', 100) FROM generate_series(1, 300000) g",
		"INSERT INTO "+tbl+" VALUES (1, 'after the bulk')")
	lines, err = sqltaptest.Sync(t, env, opts, cat, st)
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			recs = append(recs, l)
		}
	}
	want := fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":{"id":1,"name":"after the bulk","_sdc_deleted_at":null},"version":%d,"time_extracted":"2024-05-06T07:08:09Z"}`, id, sqltaptest.Version)
	if len(recs) != 1 || recs[0] != want {
		t.Fatalf("the run after the change sent %d records:\n%s\nwant:\n%s", len(recs), strings.Join(recs, "\n"), want)
	}
}
