package mysql

import (
	"context"
	"database/sql/driver"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestNativeBookmarks checks that bookmarks go back to the server in the
// column's own type: a datetime(6) replication key with microseconds, and
// composite (varchar, int) and binary keys chunked by the key order.
func TestNativeBookmarks(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	q := quoteIdent(name)
	mustExec(t, db,
		"CREATE TABLE "+q+".events (id int PRIMARY KEY, at datetime(6))",
		"INSERT INTO "+q+".events VALUES (1, '2024-01-01 00:00:00.000001'), (2, '2024-01-01 00:00:00.000002'), (3, '2024-01-01 00:00:00.000002')",
		"CREATE TABLE "+q+".composite (k varchar(10), n int, PRIMARY KEY (k, n))",
		"INSERT INTO "+q+".composite VALUES ('a', 2), ('a', 10), ('b', 1), ('b b', 1), ('c', 0)",
		"CREATE TABLE "+q+".bin (k varbinary(4) PRIMARY KEY)",
		"INSERT INTO "+q+".bin VALUES (x'00'), (x'0001'), (x'ff'), (x'22')",
	)
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	cat := sqltaptest.Discover(t, env)
	evID := name + "-events"
	sqltaptest.Select(t, cat, singer.ReplicationIncremental, "at", evID)
	state, _ := singer.ParseState([]byte(`{"bookmarks":{"` + evID + `":{"replication_key":"at","replication_key_value":"2024-01-01 00:00:00.000002"}}}`))
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
	if last := lines[len(lines)-1]; !strings.Contains(last, `"replication_key_value":"2024-01-01 00:00:00.000002"`) {
		t.Errorf("last state %s", last)
	}

	cases := []struct {
		name, table, records, states string
	}{
		{"composite", "composite",
			`{"k":"a","n":2} {"k":"a","n":10} {"k":"b","n":1} {"k":"b b","n":1} {"k":"c","n":0}`,
			`"last_pk_fetched":{"k":"a","n":10} "last_pk_fetched":{"k":"b b","n":1}`},
		{"binary", "bin",
			`{"k":"00"} {"k":"0001"} {"k":"22"} {"k":"ff"}`,
			`"last_pk_fetched":{"k":"0001"} "last_pk_fetched":{"k":"ff"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat := sqltaptest.Discover(t, env)
			sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", name+"-"+c.table)
			opts := sqltaptest.Options()
			opts.ChunkSize = 2
			lines, err := sqltaptest.Sync(t, env, opts, cat, nil)
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
			if got := strings.Join(recs, " "); got != c.records {
				t.Errorf("records %s, want %s", got, c.records)
			}
			if got := strings.Join(states, " "); got != c.states {
				t.Errorf("states %s, want %s", got, c.states)
			}
		})
	}
}

// TestScanPrepared: table scans run as prepared statements, so the
// server sends the rows in the binary protocol, and every type reads the
// same as in the text protocol (TestTypes reads the whole type table
// through this path).
func TestScanPrepared(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	q := quoteIdent(name)
	mustExec(t, db,
		"CREATE TABLE "+q+".t (id int PRIMARY KEY, f float, d double, n decimal(30,10), at datetime(3), dur time, u bigint unsigned)",
		"INSERT INTO "+q+".t VALUES (1, 0.7, 0.1, 12345678901234567890.0123456789, '2024-01-02 03:04:05.678', '-838:59:59', 18446744073709551615), (2, NULL, -1e300, -0.5, '0000-00-00 00:00:00', '00:00:01', 0)",
	)
	d := testDriver(t, name)
	env := &sqltaptest.Env{Driver: d}
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", name+"-t")
	lines, err := sqltaptest.Sync(t, env, sqltaptest.Options(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for _, l := range lines {
		if i := strings.Index(l, `"record":`); i >= 0 {
			recs = append(recs, l[i+9:strings.Index(l, `,"version"`)])
		}
	}
	want := `{"id":1,"f":0.7,"d":0.1,"n":12345678901234567890.0123456789,"at":"2024-01-02T03:04:05.678Z","dur":"-838:59:59","u":18446744073709551615}` +
		` {"id":2,"f":null,"d":-1e+300,"n":-0.5000000000,"at":null,"dur":"00:00:01","u":0}`
	if got := strings.Join(recs, " "); got != want {
		t.Errorf("records\n%s\nwant\n%s", got, want)
	}
	var variable string
	var executed int
	if err := d.conn.QueryRowContext(context.Background(), "SHOW SESSION STATUS LIKE 'Com_stmt_execute'").Scan(&variable, &executed); err != nil {
		t.Fatal(err)
	}
	if executed == 0 {
		t.Error("the scan ran no prepared statement: its rows came in the text protocol")
	}
}

// refusingConn is a driver connection whose server refuses to prepare
// (as a proxy without prepared statements does) or whose connection
// fails at the prepare.
type refusingConn struct {
	prepErr error
	queried string
}

func (c *refusingConn) PrepareContext(context.Context, string) (driver.Stmt, error) {
	return nil, c.prepErr
}

func (c *refusingConn) QueryContext(_ context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	c.queried = query
	return nil, nil
}

// TestQueryRowsFallsBack: a server's refusal to prepare runs the query in
// the text protocol; a broken connection is an error, not a second try.
func TestQueryRowsFallsBack(t *testing.T) {
	refused := &refusingConn{prepErr: &mysqldrv.MySQLError{Number: 1461, Message: "Can't create more than max_prepared_stmt_count statements"}}
	if _, closeStmt, err := queryRows(context.Background(), refused, "SELECT 1", nil); err != nil || refused.queried != "SELECT 1" {
		t.Errorf("refused prepare: error %v, text query %q", err, refused.queried)
	} else {
		closeStmt()
	}
	broken := &refusingConn{prepErr: driver.ErrBadConn}
	if _, _, err := queryRows(context.Background(), broken, "SELECT 1", nil); err != driver.ErrBadConn || broken.queried != "" {
		t.Errorf("broken connection: error %v, text query %q", err, broken.queried)
	}
}
