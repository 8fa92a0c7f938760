package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

// mysqlUTC opens an admin pool on dsn whose sessions run in UTC, or skips
// (fails under CI=true) when the server cannot be reached.
func mysqlUTC(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	mc, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["time_zone"] = "'+00:00'"
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		testenv.Missing(t, "MySQL unreachable, set TEST_MYSQL_URL: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgres connects, or skips (fails under CI=true).
func postgres(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pg, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) })
	return pg
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// name is a database or schema name for this test, unique to the run (so
// runs on one server never collide), at most 60 bytes.
func name(t *testing.T, suffix string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(n) > 36 {
		n = n[len(n)-36:]
	}
	return fmt.Sprintf("e2e_%s_%d%s", n, time.Now().UnixNano()%1_000_000_000, suffix)
}

func myIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// mysqlDatabase creates a database dropped at cleanup.
func mysqlDatabase(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	if _, err := db.Exec("CREATE DATABASE " + myIdent(name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + myIdent(name)); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
}

// postgresSchema creates a schema dropped at cleanup.
func postgresSchema(t *testing.T, pg *pgx.Conn, name string) {
	t.Helper()
	q := pgx.Identifier{name}.Sanitize()
	if _, err := pg.Exec(context.Background(), "CREATE SCHEMA "+q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+q+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
}

// pgExec returns a function that runs one statement on pg, failing the
// test with the statement when it fails.
func pgExec(t *testing.T, pg *pgx.Conn) func(sql string) {
	return func(sql string) {
		t.Helper()
		if _, err := pg.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// ordersSource creates the table orders in schema src with rows 1..n of
// every kind of value the cross-connector tests compare (a numeric with
// trailing zeros, text with quotes and a non-ASCII letter, timestamps with
// fractions of a second, JSON, NULLs in one row of five).
func ordersSource(exec func(string), src string, n int) {
	exec(`CREATE TABLE ` + src + `.orders (id bigint PRIMARY KEY, name varchar(40), amount numeric(12,3),
		placed timestamptz, due date, paid boolean, doc jsonb, note text)`)
	exec(`INSERT INTO ` + src + `.orders SELECT i, 'name ' || i || E' "q" ü', i * 1.125,
		'2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour 1.5 second', DATE '2024-01-01' + i, i % 2 = 0,
		jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)), CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' END
		FROM generate_series(1, ` + strconv.Itoa(n) + `) AS i`)
}

// pipeline discovers with tap, selects every stream and returns a function
// that runs tap | target once (in-process, through the command lines),
// keeping the target's last state for the next run.
func pipeline(t *testing.T, tap cli.TapSpec, target cli.TargetSpec, tapCfg, tgtCfg map[string]any) func() {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jsonOf := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tapPath, tgtPath := write("tap.json", jsonOf(tapCfg)), write("target.json", jsonOf(tgtCfg))
	var catOut, stderr bytes.Buffer
	if code := cli.RunTap(ctx, tap, []string{"--config", tapPath, "--discover"}, nil, &catOut, &stderr); code != 0 {
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
	catPath := write("catalog.json", cb.Bytes())
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
			code := cli.RunTap(ctx, tap, args, nil, pw, &tapErr)
			pw.Close()
			done <- code
		}()
		tgtCode := cli.RunTarget(ctx, target, []string{"--config", tgtPath}, pr, &states, &tgtErr)
		_, _ = io.Copy(io.Discard, pr)
		if code := <-done; code != 0 {
			t.Fatalf("tap exit %d: %s", code, tapErr.String())
		}
		if tgtCode != 0 {
			t.Fatalf("target exit %d: %s", tgtCode, tgtErr.String())
		}
		lines := strings.Split(strings.TrimSpace(states.String()), "\n")
		if lines[len(lines)-1] == "" {
			t.Fatalf("the target emitted no state; stderr:\n%s", tgtErr.String())
		}
		write("state.json", []byte(lines[len(lines)-1]))
	}
}

// sqlTexts reads every row of a query whose columns are text (NULL as
// <null>), each row through norm.
func sqlTexts(t *testing.T, db *sql.DB, q string, norm func([]string) string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		s := make([]string, len(vals))
		for i, v := range vals {
			s[i] = "<null>"
			if v.Valid {
				s[i] = v.String
			}
		}
		out = append(out, norm(s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// pgTexts is sqlTexts on PostgreSQL.
func pgTexts(t *testing.T, pg *pgx.Conn, q string, norm func([]string) string) []string {
	t.Helper()
	rows, err := pg.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		s := make([]string, len(vals))
		for i, v := range vals {
			s[i] = "<null>"
			if v != nil {
				s[i] = v.(string)
			}
		}
		out = append(out, norm(s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// compareRows fails at the first row that differs.
func compareRows(t *testing.T, want, got []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("the source has no rows: nothing compared")
	}
	if len(got) != len(want) {
		t.Fatalf("destination has %d rows, source %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d differs:\n src %s\n dst %s", i, want[i], got[i])
		}
	}
}

// jsonText is a JSON value's text, compact with sorted keys.
func jsonText(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
