package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	targetmysql "github.com/singerkit/singerkit/targets/mysql"
	targetpg "github.com/singerkit/singerkit/targets/postgres"
)

// e2eSource creates the source table of the end-to-end tests: 2500 rows
// of the common types.
func e2eSource(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	tbl := quoteIdent(name) + ".orders"
	for _, s := range []string{
		`CREATE TABLE ` + tbl + ` (id bigint PRIMARY KEY, name varchar(40), amount decimal(12,3), ratio double,
			placed timestamp NULL, due date, paid tinyint(1), doc json, note text, big bigint unsigned, bin varbinary(8))`,
		`INSERT INTO ` + tbl + ` WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
				UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9),
			s(i) AS (SELECT a.n * 1000 + b.n * 100 + c.n * 10 + e.n + 1 FROM d a, d b, d c, d e)
			SELECT i, CONCAT('name ', i, ' "q"\n'), i * 1.125, i / 7e0,
			TIMESTAMP('2024-01-01 00:00:00') + INTERVAL i * 3601 SECOND, DATE('2024-01-01') + INTERVAL i DAY, i % 2 = 0,
			JSON_OBJECT('i', i, 'tags', JSON_ARRAY('a', i)), IF(i % 5 = 0, NULL, 'n'), 18446744073709551615 - i, UNHEX(LPAD(HEX(i), 4, '0'))
			FROM s WHERE i <= 2500`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// e2eRow normalises one row's column texts: floats by value, JSON by
// content, the rest as is.
func e2eRow(cols []string) string {
	for i, c := range cols {
		switch i {
		case 3: // ratio
			if f, err := strconv.ParseFloat(c, 64); err == nil {
				cols[i] = strconv.FormatFloat(f, 'g', -1, 64)
			}
		case 7: // doc
			var v any
			if json.Unmarshal([]byte(c), &v) == nil {
				b, _ := json.Marshal(v)
				cols[i] = string(b)
			}
		}
	}
	return strings.Join(cols, "|")
}

// queryRows reads every row of a query of text columns (NULL as <null>).
func queryRows(t *testing.T, q func() (rowsIter, error)) []string {
	t.Helper()
	rows, err := q()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Strings()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e2eRow(vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type rowsIter interface {
	Next() bool
	Strings() ([]string, error)
	Err() error
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Strings() ([]string, error) {
	cols, _ := r.Columns()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := r.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = "<null>"
		if v.Valid {
			out[i] = v.String
		}
	}
	return out, nil
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Strings() ([]string, error) {
	vals, err := r.Values()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = "<null>"
		if v != nil {
			out[i] = v.(string)
		}
	}
	return out, nil
}

// mysqlColumns reads the e2e table in MySQL (source or target-mysql's,
// where bin is hex text already); sourceColumns reads the source.
const mysqlColumns = `CAST(id AS CHAR), name, CAST(amount AS CHAR), CAST(ratio AS CHAR),
	DATE_FORMAT(placed, '%Y-%m-%d %H:%i:%s'), CAST(due AS CHAR), IF(paid, '1', '0'), CAST(doc AS CHAR), note,
	CAST(big AS CHAR), LOWER(bin)`

var sourceColumns = strings.Replace(mysqlColumns, "LOWER(bin)", "LOWER(HEX(bin))", 1)

// utcDB is an admin pool whose sessions run in UTC.
func utcDB(t *testing.T) *sql.DB {
	t.Helper()
	connect(t)
	mc, err := mysqldrv.ParseDSN(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["time_zone"] = "'+00:00'"
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// e2ePipeline discovers, selects every stream and returns a function that
// runs tap-mysql | target once (in-process, through the command lines),
// keeping the target's last state for the next run.
func e2ePipeline(t *testing.T, target singer.TargetSpec, tapCfg, tgtCfg map[string]any) func() {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tapPath, tgtPath := write("tap.json", tapCfg), write("target.json", tgtCfg)
	var catOut, stderr bytes.Buffer
	if code := singer.RunTap(ctx, Spec(), []string{"--config", tapPath, "--discover"}, nil, &catOut, &stderr); code != 0 {
		t.Fatalf("discover: exit %d: %s", code, stderr.String())
	}
	cat, err := singer.ReadCatalog(&catOut)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Streams {
		cat.Streams[i].Metadata.SetSelected(nil, true)
	}
	var cb bytes.Buffer
	if err := cat.WriteJSON(&cb); err != nil {
		t.Fatal(err)
	}
	catPath := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(catPath, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.json")
	return func() {
		t.Helper()
		args := []string{"--config", tapPath, "--catalog", catPath}
		if _, err := os.Stat(statePath); err == nil {
			args = append(args, "--state", statePath)
		}
		pr, pw := io.Pipe()
		var tapErr, tgtErr, states bytes.Buffer
		done := make(chan int)
		go func() {
			code := singer.RunTap(ctx, Spec(), args, nil, pw, &tapErr)
			pw.Close()
			done <- code
		}()
		tgtCode := singer.RunTarget(ctx, target, []string{"--config", tgtPath}, pr, &states, &tgtErr)
		_, _ = io.Copy(io.Discard, pr)
		if code := <-done; code != 0 {
			t.Fatalf("tap exit %d: %s", code, tapErr.String())
		}
		if tgtCode != 0 {
			t.Fatalf("target exit %d: %s", tgtCode, tgtErr.String())
		}
		lines := strings.Split(strings.TrimSpace(states.String()), "\n")
		if err := os.WriteFile(statePath, []byte(lines[len(lines)-1]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func compareRows(t *testing.T, want, got []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("destination has %d rows, source %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d differs:\n src %s\n dst %s", i, want[i], got[i])
		}
	}
}

// e2eChange updates, deletes and inserts source rows between runs.
func e2eChange(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	tbl := quoteIdent(name) + ".orders"
	for _, s := range []string{
		`UPDATE ` + tbl + ` SET name = 'changed', amount = -0.001 WHERE id % 100 = 0`,
		`DELETE FROM ` + tbl + ` WHERE id = 7`,
		`INSERT INTO ` + tbl + ` (id, name) VALUES (9999, 'new')`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// e2ePostgres readies a schema in PostgreSQL for the copy of database
// name (on the server of dsn) and returns a connection, the schema, and the pipeline of
// tap-mysql (with extra tap settings) into target-postgres.
func e2ePostgres(t *testing.T, name, dsn string, tapExtra map[string]any) (*pgx.Conn, string, func()) {
	t.Helper()
	pgURL := os.Getenv("TEST_POSTGRES_URL")
	if pgURL == "" {
		pgURL = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	pg, err := pgx.Connect(cctx, pgURL)
	cancel()
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) }) // after the schema's drop below
	dst := name + "_dst"
	if len(dst) > 63 {
		dst = dst[len(dst)-63:]
	}
	qdst := pgx.Identifier{dst}.Sanitize()
	if _, err := pg.Exec(ctx, "DROP SCHEMA IF EXISTS "+qdst+" CASCADE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+qdst+" CASCADE") })
	tapCfg := map[string]any{"dsn": dsn, "filter_dbs": []string{name}, "chunk_size": 1000}
	for k, v := range tapExtra {
		tapCfg[k] = v
	}
	run := e2ePipeline(t, targetpg.Spec(), tapCfg,
		map[string]any{"url": pgURL, "default_target_schema": dst, "hard_delete": true, "add_metadata_columns": true,
			"schema_mapping": map[string]any{name: map[string]any{"target_schema": dst}}})
	return pg, dst, run
}

// e2eComparePostgres compares the source table with target-postgres's
// copy, row for row.
func e2eComparePostgres(t *testing.T, db *sql.DB, name string, pg *pgx.Conn, dst string) {
	t.Helper()
	want := queryRows(t, func() (rowsIter, error) {
		r, err := db.Query(`SELECT ` + sourceColumns + ` FROM ` + quoteIdent(name) + `.orders ORDER BY id`)
		return sqlRows{r}, err
	})
	got := queryRows(t, func() (rowsIter, error) {
		r, err := pg.Query(context.Background(), `SELECT id::text, name, amount::text, ratio::text,
			to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), due::text, CASE WHEN paid THEN '1' ELSE '0' END,
			doc::text, note, big::text, bin FROM `+pgx.Identifier{dst, "orders"}.Sanitize()+` AS o ORDER BY o.id`)
		return pgRows{r}, err
	})
	compareRows(t, want, got)
}

// TestEndToEndPostgres pipes tap-mysql into target-postgres and compares
// the tables row for row; a second run after changes must leave them equal
// again (FULL_TABLE with ACTIVATE_VERSION and hard_delete).
func TestEndToEndPostgres(t *testing.T) {
	db := utcDB(t)
	name := testDB(t, db)
	e2eSource(t, db, name)
	pg, dst, run := e2ePostgres(t, name, testConfig(t, name).DSN, nil)
	run()
	e2eComparePostgres(t, db, name, pg, dst)
	e2eChange(t, db, name)
	run()
	e2eComparePostgres(t, db, name, pg, dst)
}

// TestEndToEndPostgresLogBased pipes LOG_BASED tap-mysql into
// target-postgres: after a snapshot, changes that include updates of the
// primary key (one row, several rows in one statement, a key moved onto a
// key freed in the same transaction) must leave the tables equal row for
// row: the old keys deleted, not kept beside the new ones.
func TestEndToEndPostgresLogBased(t *testing.T) {
	// A server of its own: the binlog on, in ROW format.
	s := startServer(t, "--log-bin=mysql-bin", "--server-id=7", "--binlog-format=ROW")
	mc, err := mysqldrv.ParseDSN(s.dsn("root", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	name := testDB(t, db)
	e2eSource(t, db, name)
	mc.DBName, mc.Params = name, nil
	pg, dst, run := e2ePostgres(t, name, mc.FormatDSN(), map[string]any{"default_replication_method": "LOG_BASED", "binlog_idle_seconds": 0.5})
	run()
	e2eComparePostgres(t, db, name, pg, dst)
	tbl := quoteIdent(name) + ".orders"
	e2eChange(t, db, name)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`UPDATE ` + tbl + ` SET id = 100000 WHERE id = 5`,
		`UPDATE ` + tbl + ` SET id = id + 200000, name = 'moved' WHERE id BETWEEN 10 AND 20`,
		`DELETE FROM ` + tbl + ` WHERE id = 30`,
		`UPDATE ` + tbl + ` SET id = 30 WHERE id = 31`,
	} {
		if _, err := tx.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	run()
	e2eComparePostgres(t, db, name, pg, dst)
}

// TestEndToEndMySQL pipes tap-mysql into target-mysql (another database on
// the same server) and compares the tables row for row, twice.
func TestEndToEndMySQL(t *testing.T) {
	db := utcDB(t)
	name := testDB(t, db)
	dst := name + "_dst"
	if len(dst) > 64 {
		dst = dst[len(dst)-64:]
	}
	for _, s := range []string{"DROP DATABASE IF EXISTS " + quoteIdent(dst), "CREATE DATABASE " + quoteIdent(dst)} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE IF EXISTS " + quoteIdent(dst)) })
	e2eSource(t, db, name)
	mc, err := mysqldrv.ParseDSN(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	mc.DBName = dst
	run := e2ePipeline(t, targetmysql.Spec(), map[string]any{"dsn": testConfig(t, name).DSN, "filter_dbs": []string{name}, "chunk_size": 1000},
		map[string]any{"dsn": mc.FormatDSN(), "default_target_schema": dst, "hard_delete": true, "add_metadata_columns": true,
			"schema_mapping": map[string]any{name: map[string]any{"target_schema": dst}}})
	compare := func() {
		t.Helper()
		read := func(d, cols string) []string {
			return queryRows(t, func() (rowsIter, error) {
				r, err := db.Query(`SELECT ` + cols + ` FROM ` + quoteIdent(d) + `.orders ORDER BY id`)
				return sqlRows{r}, err
			})
		}
		compareRows(t, read(name, sourceColumns), read(dst, mysqlColumns))
	}
	run()
	compare()
	e2eChange(t, db, name)
	run()
	compare()
}
