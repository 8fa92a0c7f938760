package e2e

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/mariadbtest"
	"github.com/singerkit/singerkit/internal/testenv"
	tapmysql "github.com/singerkit/singerkit/taps/mysql"
	targetmysql "github.com/singerkit/singerkit/targets/mysql"
	targetpg "github.com/singerkit/singerkit/targets/postgres"
)

// The tests of tap-mysql into target-postgres and target-mysql: a source
// table of 2500 rows of the common MySQL types.

// mysqlSource creates db.orders in MariaDB.
func mysqlSource(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	tbl := myIdent(name) + ".orders"
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

// mysqlChange updates, deletes and inserts source rows between runs.
func mysqlChange(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	tbl := myIdent(name) + ".orders"
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

// mysqlRow normalises one row's column texts: floats by value, JSON by
// content, the rest as is.
func mysqlRow(cols []string) string {
	if f, err := strconv.ParseFloat(cols[3], 64); err == nil { // ratio
		cols[3] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	cols[7] = jsonText(cols[7]) // doc
	return strings.Join(cols, "|")
}

// mysqlColumns reads the table in MySQL (source or target-mysql's, where
// bin is hex text already); mysqlSourceColumns reads the source.
const mysqlColumns = `CAST(id AS CHAR), name, CAST(amount AS CHAR), CAST(ratio AS CHAR),
	DATE_FORMAT(placed, '%Y-%m-%d %H:%i:%s'), CAST(due AS CHAR), IF(paid, '1', '0'), CAST(doc AS CHAR), note,
	CAST(big AS CHAR), LOWER(bin)`

var mysqlSourceColumns = strings.Replace(mysqlColumns, "LOWER(bin)", "LOWER(HEX(bin))", 1)

func mysqlSourceRows(t *testing.T, db *sql.DB, name string) []string {
	return sqlTexts(t, db, `SELECT `+mysqlSourceColumns+` FROM `+myIdent(name)+`.orders ORDER BY id`, mysqlRow)
}

// mysqlToPostgres readies a schema in PostgreSQL for the copy of database
// name (on the server of dsn) and returns a connection, the schema, and
// the pipeline of tap-mysql (with extra tap settings) into target-postgres.
func mysqlToPostgres(t *testing.T, name, dsn string, tapExtra map[string]any) (*pgx.Conn, string, func()) {
	t.Helper()
	pg := postgres(t)
	dst := name + "_dst"
	postgresSchema(t, pg, dst)
	tapCfg := map[string]any{"dsn": dsn, "filter_dbs": []string{name}, "chunk_size": 1000}
	for k, v := range tapExtra {
		tapCfg[k] = v
	}
	run := pipeline(t, tapmysql.Spec(), targetpg.Spec(), tapCfg,
		map[string]any{"url": testenv.PostgresURL(), "default_target_schema": dst, "hard_delete": true, "add_metadata_columns": true,
			"schema_mapping": map[string]any{name: map[string]any{"target_schema": dst}}})
	return pg, dst, run
}

// comparePostgres compares the source table with target-postgres's copy,
// row for row.
func comparePostgres(t *testing.T, db *sql.DB, name string, pg *pgx.Conn, dst string) {
	t.Helper()
	got := pgTexts(t, pg, `SELECT id::text, name, amount::text, ratio::text,
		to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), due::text, CASE WHEN paid THEN '1' ELSE '0' END,
		doc::text, note, big::text, bin FROM `+pgx.Identifier{dst, "orders"}.Sanitize()+` AS o ORDER BY o.id`, mysqlRow)
	compareRows(t, mysqlSourceRows(t, db, name), got)
}

// dsnFor is dsn with database name.
func dsnFor(t *testing.T, dsn, name string) string {
	t.Helper()
	mc, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	mc.DBName = name
	return mc.FormatDSN()
}

// TestMySQLToPostgres pipes tap-mysql into target-postgres and compares
// the tables row for row; a second run after changes must leave them equal
// again (FULL_TABLE with ACTIVATE_VERSION and hard_delete).
func TestMySQLToPostgres(t *testing.T) {
	db := mysqlUTC(t, testenv.MySQLDSN())
	name := name(t, "")
	mysqlDatabase(t, db, name)
	mysqlSource(t, db, name)
	pg, dst, run := mysqlToPostgres(t, name, dsnFor(t, testenv.MySQLDSN(), name), nil)
	run()
	comparePostgres(t, db, name, pg, dst)
	mysqlChange(t, db, name)
	run()
	comparePostgres(t, db, name, pg, dst)
}

// TestMySQLToPostgresLogBased pipes LOG_BASED tap-mysql into
// target-postgres: after a snapshot, changes that include updates of the
// primary key (one row, several rows in one statement, a key moved onto a
// key freed in the same transaction) must leave the tables equal row for
// row: the old keys deleted, not kept beside the new ones.
func TestMySQLToPostgresLogBased(t *testing.T) {
	// A server of its own: the binlog on, in ROW format.
	s := mariadbtest.Start(t, "--log-bin=mysql-bin", "--server-id=7", "--binlog-format=ROW")
	db := mysqlUTC(t, s.DSN("root", "", ""))
	name := name(t, "")
	mysqlDatabase(t, db, name)
	mysqlSource(t, db, name)
	pg, dst, run := mysqlToPostgres(t, name, s.DSN("root", "", name), map[string]any{"default_replication_method": "LOG_BASED", "binlog_idle_seconds": 0.5})
	run()
	comparePostgres(t, db, name, pg, dst)
	tbl := myIdent(name) + ".orders"
	mysqlChange(t, db, name)
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
	comparePostgres(t, db, name, pg, dst)
}

// TestMySQLToMySQL pipes tap-mysql into target-mysql (another database on
// the same server) and compares the tables row for row, twice.
func TestMySQLToMySQL(t *testing.T) {
	db := mysqlUTC(t, testenv.MySQLDSN())
	name := name(t, "")
	dst := name + "_dst"
	mysqlDatabase(t, db, name)
	mysqlDatabase(t, db, dst)
	mysqlSource(t, db, name)
	run := pipeline(t, tapmysql.Spec(), targetmysql.Spec(), map[string]any{"dsn": dsnFor(t, testenv.MySQLDSN(), name), "filter_dbs": []string{name}, "chunk_size": 1000},
		map[string]any{"dsn": dsnFor(t, testenv.MySQLDSN(), dst), "default_target_schema": dst, "hard_delete": true, "add_metadata_columns": true,
			"schema_mapping": map[string]any{name: map[string]any{"target_schema": dst}}})
	compare := func() {
		t.Helper()
		compareRows(t, mysqlSourceRows(t, db, name), sqlTexts(t, db, `SELECT `+mysqlColumns+` FROM `+myIdent(dst)+`.orders ORDER BY id`, mysqlRow))
	}
	run()
	compare()
	mysqlChange(t, db, name)
	run()
	compare()
}
