package e2e

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	tappg "github.com/singerkit/singerkit/taps/postgres"
	targetmysql "github.com/singerkit/singerkit/targets/mysql"
	targetpg "github.com/singerkit/singerkit/targets/postgres"
)

// TestPostgresToMySQL pipes tap-postgres into target-mysql and compares the
// tables row for row, after a first run and after changes at the source.
func TestPostgresToMySQL(t *testing.T) {
	db := mysqlUTC(t, testenv.MySQLDSN())
	pg := postgres(t)
	src := name(t, "")
	dst := src + "_dst"
	postgresSchema(t, pg, src)
	mysqlDatabase(t, db, dst)
	exec := pgExec(t, pg)
	ordersSource(exec, src, 1500)
	run := pipeline(t, tappg.Spec(), targetmysql.Spec(),
		map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{src}, "itersize": 400},
		map[string]any{"dsn": dsnFor(t, testenv.MySQLDSN(), dst), "default_target_schema": dst, "add_metadata_columns": true, "hard_delete": true,
			"schema_mapping": map[string]any{src: map[string]any{"target_schema": dst}}})
	// Both sides as text: numbers without trailing fraction zeros,
	// timestamps in UTC with microseconds, booleans true/false, JSON
	// compact with sorted keys.
	norm := func(cols []string) string {
		if a := cols[2]; strings.Contains(a, ".") {
			cols[2] = strings.TrimRight(strings.TrimRight(a, "0"), ".")
		}
		if cols[6] != "<null>" {
			cols[6] = jsonText(cols[6])
		}
		return strings.Join(cols, "|")
	}
	compare := func() {
		t.Helper()
		want := pgTexts(t, pg, `SELECT id::text, name, amount::text,
			to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), due::text, paid::text, doc::text, note
			FROM `+src+`.orders o ORDER BY o.id`, norm)
		got := sqlTexts(t, db, "SELECT CAST(id AS CHAR), name, CAST(amount AS CHAR), DATE_FORMAT(placed, '%Y-%m-%dT%H:%i:%s.%fZ'),"+
			" CAST(due AS CHAR), CASE WHEN paid IS NULL THEN NULL WHEN paid THEN 'true' ELSE 'false' END, CAST(doc AS CHAR), note"+
			" FROM "+myIdent(dst)+".orders ORDER BY id", norm)
		compareRows(t, want, got)
	}
	run()
	compare()
	exec(`UPDATE ` + src + `.orders SET name = 'changed', amount = -0.001 WHERE id % 100 = 0`)
	exec(`DELETE FROM ` + src + `.orders WHERE id = 7`)
	exec(`INSERT INTO ` + src + `.orders (id, name) VALUES (9999, 'new')`)
	run()
	compare()
}

// TestPostgresToPostgres pipes tap-postgres into target-postgres and
// compares the tables row for row; a second run after changes must leave
// them equal again.
func TestPostgresToPostgres(t *testing.T) {
	pg := postgres(t)
	src := name(t, "")
	dst := src + "_dst"
	postgresSchema(t, pg, src)
	postgresSchema(t, pg, dst)
	exec := pgExec(t, pg)
	tbl := pgx.Identifier{src, "orders"}.Sanitize()
	exec(`CREATE TABLE ` + tbl + ` (
		id bigint PRIMARY KEY, name varchar(40), amount numeric(12,3), ratio double precision,
		placed timestamptz, due date, paid boolean, doc jsonb, note text, grid integer[][])`)
	exec(`INSERT INTO ` + tbl + ` SELECT i, 'name ' || i || E' "q"\n', i * 1.125, i / 7.0,
		'2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour 1 second', DATE '2024-01-01' + i, i % 2 = 0,
		jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)), CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' END,
		ARRAY[[i, i + 1], [i + 2, NULL]]
		FROM generate_series(1, 2500) AS i`)
	run := pipeline(t, tappg.Spec(), targetpg.Spec(),
		map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{src}, "itersize": 1000},
		map[string]any{"url": testenv.PostgresURL(), "default_target_schema": dst, "hard_delete": true, "add_metadata_columns": true,
			"schema_mapping": map[string]any{src: map[string]any{"target_schema": dst}}})
	compare := func() {
		t.Helper()
		read := func(schema string) []string {
			return pgTexts(t, pg, `SELECT id::text, name, amount::text, ratio::text, placed::text, due::text, paid::text,
				doc::jsonb::text, note, to_jsonb(grid)::text FROM `+pgx.Identifier{schema, "orders"}.Sanitize()+` ORDER BY id`,
				func(cols []string) string { return strings.Join(cols, "|") })
		}
		compareRows(t, read(src), read(dst))
	}
	run()
	compare()
	exec(`UPDATE ` + tbl + ` SET name = 'changed', amount = -0.001 WHERE id % 100 = 0`)
	exec(`DELETE FROM ` + tbl + ` WHERE id = 7`)
	exec(`INSERT INTO ` + tbl + ` (id, name) VALUES (9999, 'new')`)
	run()
	// FULL_TABLE ends with ACTIVATE_VERSION: with hard_delete the row
	// deleted at the source is deleted at the destination too.
	compare()
}
