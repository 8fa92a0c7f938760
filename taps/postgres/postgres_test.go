package postgres

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// connect returns an admin connection or skips (fails under CI=true) when
// the server cannot be reached.
func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustExec runs each statement on conn, stopping the test on an error.
func mustExec(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// testSchema creates a schema named from the test, dropped in Cleanup.
func testSchema(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	name := "tappg_" + strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 63 {
		name = name[:63]
	}
	q := pgx.Identifier{name}.Sanitize()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+q+" CASCADE; CREATE SCHEMA "+q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+q+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// testDriver opens a driver that discovers only schema.
func testDriver(t *testing.T, schema string) *Driver {
	t.Helper()
	d, err := Open(context.Background(), &Config{URL: testenv.PostgresURL(), FilterSchemas: []string{schema}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type harness struct{}

func (harness) Setup(t *testing.T) *sqltaptest.Env {
	conn := connect(t)
	schema := testSchema(t, conn)
	return &sqltaptest.Env{
		Driver: testDriver(t, schema),
		Exec: func(sql string) {
			t.Helper()
			if _, err := conn.Exec(context.Background(), sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		},
		Table:    func(name string) string { return pgx.Identifier{schema, name}.Sanitize() },
		StreamID: func(name string) string { return schema + "-" + name },
	}
}

func TestConformance(t *testing.T) {
	sqltaptest.RunSuite(t, harness{})
}

// TestNativeBookmarks checks that bookmarks go back to the server in the
// column's own type: a timestamptz replication key with microseconds, and a
// composite (text, integer) key chunked with a row-value comparison.
func TestNativeBookmarks(t *testing.T) {
	conn := connect(t)
	schema := testSchema(t, conn)
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	ev := pgx.Identifier{schema, "events"}.Sanitize()
	exec("CREATE TABLE " + ev + " (id integer PRIMARY KEY, at timestamptz)")
	exec("INSERT INTO " + ev + " VALUES (1, '2024-01-01 00:00:00.000001+00'), (2, '2024-01-01 00:00:00.000002+00'), (3, '2024-01-01 00:00:00.000002+00')")
	ck := pgx.Identifier{schema, "composite"}.Sanitize()
	exec("CREATE TABLE " + ck + " (k text, n integer, PRIMARY KEY (k, n))")
	exec("INSERT INTO " + ck + " VALUES ('a', 2), ('a', 10), ('b', 1), ('b b', 1), ('c', 0)")

	env := &sqltaptest.Env{Driver: testDriver(t, schema)}
	cat := sqltaptest.Discover(t, env)
	evID, ckID := schema+"-events", schema+"-composite"
	sqltaptest.Select(t, cat, singer.ReplicationIncremental, "at", evID)
	state, _ := singer.ParseState([]byte(`{"bookmarks":{"` + evID + `":{"replication_key":"at","replication_key_value":"2024-01-01 00:00:00.000002+00"}}}`))
	lines, err := sqltaptest.Sync(t, env, sqltaptest.Options(), cat, state)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range lines {
		if i := strings.Index(l, `"record":{"id":`); i >= 0 {
			ids = append(ids, l[i+15:i+16])
		}
	}
	if strings.Join(ids, ",") != "2,3" {
		t.Errorf("incremental from a microsecond bookmark sent ids %v, want 2,3", ids)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, `"replication_key_value":"2024-01-01 00:00:00.000002+00"`) {
		t.Errorf("last state %s", last)
	}

	cat = sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", ckID)
	opts := sqltaptest.Options()
	opts.ChunkSize = 2
	lines, err = sqltaptest.Sync(t, env, opts, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs, states []string
	for _, l := range lines {
		if i := strings.Index(l, `"record":`); i >= 0 {
			recs = append(recs, l[i+9:strings.Index(l, `,"version"`)])
		}
		if strings.Contains(l, "last_pk_fetched") {
			states = append(states, l[strings.Index(l, `"last_pk_fetched"`):strings.Index(l, `,"version"`)])
		}
	}
	want := `{"k":"a","n":2} {"k":"a","n":10} {"k":"b","n":1} {"k":"b b","n":1} {"k":"c","n":0}`
	if strings.Join(recs, " ") != want {
		t.Errorf("composite key records %v, want %s", recs, want)
	}
	if got := strings.Join(states, " "); got != `"last_pk_fetched":{"k":"a","n":10} "last_pk_fetched":{"k":"b b","n":1}` {
		t.Errorf("composite key states: %s", got)
	}
}

// requireLogical skips (fails under CI=true) unless the server's wal_level
// is logical, which LOG_BASED replication needs.
func requireLogical(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	var walLevel string
	if err := conn.QueryRow(context.Background(), "SHOW wal_level").Scan(&walLevel); err != nil {
		t.Fatal(err)
	}
	testenv.Require(t, walLevel == "logical", "wal_level is "+walLevel+", LOG_BASED needs logical (ALTER SYSTEM SET wal_level = logical and restart the server)")
}
