package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// logEnv is a LOG_BASED test setup: a schema, a slot and a publication of
// its own (named pg4_...), dropped at the end.
type logEnv struct {
	t      *testing.T
	conn   *pgx.Conn
	schema string
	slot   string
	pub    string
	env    *sqltaptest.Env
	d      *Driver
}

func newLogEnv(t *testing.T, tag string) *logEnv {
	t.Helper()
	conn := connect(t)
	requireLogical(t, conn)
	e := &logEnv{t: t, conn: conn, schema: testSchema(t, conn)}
	e.slot, e.pub = replicationNames(t, tag)
	return e
}

func (e *logEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.conn.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func (e *logEnv) table(name string) string { return pgx.Identifier{e.schema, name}.Sanitize() }

// open (re)discovers with a new driver and selects ids for LOG_BASED.
func (e *logEnv) open(names ...string) *singer.Catalog {
	e.t.Helper()
	d, err := Open(context.Background(), &Config{URL: testenv.PostgresURL(), FilterSchemas: []string{e.schema}, SlotName: e.slot, PublicationName: e.pub})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { d.Close() })
	e.d = d
	e.env = &sqltaptest.Env{Driver: d}
	cat := sqltaptest.Discover(e.t, e.env)
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = e.schema + "-" + n
	}
	sqltaptest.Select(e.t, cat, singer.ReplicationLogBased, "", ids...)
	return cat
}

// sync runs the tap and returns its RECORD lines and the last state.
func (e *logEnv) sync(cat *singer.Catalog, state *singer.State) ([]string, *singer.State) {
	e.t.Helper()
	opts := sqltaptest.Options()
	opts.LogIdle = 500 * time.Millisecond
	lines, err := sqltaptest.Sync(e.t, e.env, opts, cat, state)
	if err != nil {
		e.t.Fatal(err)
	}
	var recs []string
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			recs = append(recs, l)
		}
	}
	st, err := singer.ParseState([]byte(lines[len(lines)-1]))
	if err != nil {
		e.t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	return recs, st
}

func logRecord(stream, record string) string {
	return fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":%s,"version":%d,"time_extracted":"2024-05-06T07:08:09Z"}`, stream, record, sqltaptest.Version)
}

// TestLogBasedUnchangedToast updates a row through a small column while
// its 100 kB text, jsonb and bytea values (random, so stored out of line
// and incompressible) stay unchanged: pgoutput sends those as "unchanged",
// and the record must still carry their exact values, for a table with the
// default replica identity (read back by key) and one with REPLICA
// IDENTITY FULL (taken from the old row).
func TestLogBasedUnchangedToast(t *testing.T) {
	e := newLogEnv(t, "toast")
	big := func() []byte {
		b := make([]byte, 75_000)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	txt := base64.StdEncoding.EncodeToString(big()) // 100 kB
	js := `{"blob": "` + base64.StdEncoding.EncodeToString(big()) + `"}`
	bin := big()
	for _, name := range []string{"plain", "full"} {
		e.exec("CREATE TABLE " + e.table(name) + " (id integer PRIMARY KEY, n integer, t text, j jsonb, b bytea)")
		e.exec("INSERT INTO "+e.table(name)+" VALUES (1, 1, $1, $2, $3), (2, 1, 'small', '{}', '\\x00')", txt, js, bin)
	}
	e.exec("ALTER TABLE " + e.table("full") + " REPLICA IDENTITY FULL")
	var ext int
	if err := e.conn.QueryRow(context.Background(), "SELECT pg_column_size(t) FROM "+e.table("plain")+" WHERE id = 1").Scan(&ext); err != nil || ext < 2000 {
		t.Fatalf("value is not TOASTed: size %d, %v", ext, err)
	}
	cat := e.open("plain", "full")
	snap, state := e.sync(cat, nil)
	if len(snap) != 4 {
		t.Fatalf("snapshot: %d records", len(snap))
	}
	bigRow := func(n int) string {
		return fmt.Sprintf(`{"id":1,"n":%d,"t":%q,"j":%s,"b":%q,"_sdc_deleted_at":null}`, n, txt, js, hex.EncodeToString(bin))
	}
	for _, name := range []string{"plain", "full"} {
		tbl := e.table(name)
		// One transaction: the update lacking TOAST values, then a later
		// change of the same transaction, which must stay after it.
		e.exec("BEGIN; UPDATE " + tbl + " SET n = 2 WHERE id = 1; UPDATE " + tbl + " SET n = 3 WHERE id = 2; COMMIT")
		e.exec("UPDATE " + tbl + " SET n = 4 WHERE id = 1")
	}
	recs, state2 := e.sync(cat, state.Clone())
	var want []string
	for _, name := range []string{"plain", "full"} {
		id := e.schema + "-" + name
		want = append(want,
			logRecord(id, bigRow(2)),
			logRecord(id, `{"id":2,"n":3,"t":"small","j":{},"b":"00","_sdc_deleted_at":null}`),
			logRecord(id, bigRow(4)))
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i := range want {
		if recs[i] != want[i] {
			g, w := recs[i], want[i]
			if len(g) > 300 {
				g = g[:150] + "..." + g[len(g)-150:]
			}
			if len(w) > 300 {
				w = w[:150] + "..." + w[len(w)-150:]
			}
			t.Errorf("record %d (%d bytes, want %d):\n got %s\nwant %s", i, len(recs[i]), len(want[i]), g, w)
		}
	}

	// A row deleted after the update, before the tap reads it: its values
	// cannot be read back any more; the update record lacks them (a target
	// merging on keys would null them, and the delete that follows removes
	// or marks the row anyway), and the delete comes next.
	e.exec("UPDATE " + e.table("plain") + " SET n = 5 WHERE id = 1")
	e.exec("DELETE FROM " + e.table("plain") + " WHERE id = 1")
	recs, _ = e.sync(cat, state2.Clone())
	id := e.schema + "-plain"
	if len(recs) != 2 || recs[0] != logRecord(id, `{"id":1,"n":5,"_sdc_deleted_at":null}`) || !strings.HasPrefix(recs[1], `{"type":"RECORD","stream":"`+id+`","record":{"id":1,"_sdc_deleted_at":"20`) {
		t.Errorf("update then delete:\n%s", strings.Join(recs, "\n"))
	}
}
