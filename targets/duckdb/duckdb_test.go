package duckdb

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// The conformance suite runs against real DuckDB files in t.TempDir(): no
// server, so these tests run everywhere.

type harness struct {
	extra map[string]any
}

func (harness) Spec() cli.TargetSpec { return Spec() }

// Config gives each test one database file (like a server), and each
// call a schema of its own in it.
func (h harness) Config(t *testing.T) (map[string]any, string) {
	path, n := testFile(t, true)
	schema := fmt.Sprintf("sk_%d", n)
	cfg := map[string]any{"path": path, "default_target_schema": schema}
	for k, v := range h.extra {
		cfg[k] = v
	}
	return cfg, schema
}

// readDB opens a database file for reading, or a copy of a database file for reading: the target may still
// hold the file (a test queries while it idles), and DuckDB lets no other
// process open a file another one writes. The copy has every committed
// transaction (the WAL is copied with the file).
func readDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err == nil {
		err = db.Ping()
		if err == nil {
			return db
		}
		db.Close()
	}
	dir := t.TempDir()
	cp := filepath.Join(dir, "copy.duckdb")
	for _, suffix := range []string{"", ".wal"} {
		if err := copyFile(path+suffix, cp+suffix); err != nil && !(suffix == ".wal" && errors.Is(err, os.ErrNotExist)) {
			t.Fatalf("copying %s: %v", path+suffix, err)
		}
	}
	db, err = sql.Open("duckdb", cp)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		t.Fatalf("opening a copy of %s: %v", path, err)
	}
	return db
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// dbFor opens the test's database file. The caller closes it at once:
// the target of the test's next run opens the file.
func dbFor(t *testing.T, schema, table string) *sql.DB {
	t.Helper()
	path, _ := testFile(t, false)
	return readDB(t, path)
}

func columnTypesOf(t *testing.T, db *sql.DB, schema, table string) map[string]string {
	rows, err := db.Query(`SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $1 AND table_name = $2`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := map[string]string{}
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		types[strings.ToLower(n)] = ty
	}
	return types
}

func (harness) Rows(t *testing.T, schema, table string, cols []string, orderBy string) []string {
	db := dbFor(t, schema, table)
	defer db.Close()
	types := columnTypesOf(t, db, schema, table)
	var sel, kind []string
	for _, c := range cols {
		switch {
		case strings.Contains(c, " IS "):
			sel, kind = append(sel, "CAST(("+c+") AS VARCHAR)"), append(kind, "BOOLEAN")
		case strings.Contains(c, "("):
			sel, kind = append(sel, "CAST(("+c+") AS VARCHAR)"), append(kind, "")
		case isNestedType(types[strings.ToLower(c)]):
			// STRUCT and LIST (object_columns struct): as JSON, numbers
			// without the DECIMAL's trailing zeros.
			sel, kind = append(sel, "CAST(to_json("+quote(c)+") AS VARCHAR)"), append(kind, "nested")
		default:
			sel, kind = append(sel, "CAST("+quote(c)+" AS VARCHAR)"), append(kind, types[strings.ToLower(c)])
		}
	}
	if len(sel) == 0 {
		sel, kind = []string{"'1'"}, []string{""}
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + tableIdent(schema, table)
	if orderBy != "" {
		var ob []string
		for _, o := range strings.Split(orderBy, ",") {
			ob = append(ob, quote(strings.TrimSpace(o)))
		}
		q += " ORDER BY " + strings.Join(ob, ", ")
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	vals := make([]sql.NullString, len(sel))
	ptrs := make([]any, len(sel))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = render(t, v, kind[i])
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// render normalizes a value as the suite documents.
func render(t *testing.T, v sql.NullString, typ string) string {
	if !v.Valid {
		return "NULL"
	}
	s := v.String
	switch {
	case typ == "TIMESTAMP WITH TIME ZONE":
		ts, err := time.Parse("2006-01-02 15:04:05.999999-07", s)
		if err != nil {
			ts, err = time.Parse("2006-01-02 15:04:05.999999-07:00", s)
		}
		if err != nil {
			t.Fatalf("render timestamp %q: %v", s, err)
		}
		return ts.UTC().Format("2006-01-02T15:04:05.000000Z")
	case typ == "TIMESTAMP":
		ts, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatalf("render timestamp %q: %v", s, err)
		}
		return ts.Format("2006-01-02T15:04:05.000000Z")
	case strings.HasPrefix(typ, "DECIMAL"):
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	case typ == "JSON" || typ == "nested":
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			t.Fatalf("render JSON %q: %v", s, err)
		}
		if typ == "nested" {
			x = trimDecimals(x)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(x)
		return strings.TrimSuffix(buf.String(), "\n")
	}
	return s
}

func (harness) Columns(t *testing.T, schema, table string) []string {
	db := dbFor(t, schema, table)
	defer db.Close()
	rows, err := db.Query(`SELECT column_name FROM duckdb_columns() WHERE schema_name = $1 AND table_name = $2 ORDER BY column_index`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func (harness) Binary(t *testing.T) string { return sqltargettest.BuildBinary(t, "target-duckdb") }

func TestConformance(t *testing.T) {
	sqltargettest.RunSuite(t, harness{})
}

func TestAppendSkipsExistingKeys(t *testing.T) {
	sqltargettest.AppendSkipsExistingKeys(t, harness{})
}

func TestOverwriteWidensReplacement(t *testing.T) {
	sqltargettest.OverwriteWidensReplacement(t, harness{})
}

// TestConformanceStruct runs the suite with object_columns struct.
func TestConformanceStruct(t *testing.T) {
	sqltargettest.RunSuite(t, harness{extra: map[string]any{"object_columns": "struct"}})
}

// trimDecimals drops the trailing zeros of the numbers of a decoded JSON
// value (a DECIMAL(38,9) field's 50.940000000 is 50.94).
func trimDecimals(x any) any {
	switch v := x.(type) {
	case json.Number:
		if s := string(v); strings.Contains(s, ".") && !strings.ContainsAny(s, "eE") {
			return json.Number(strings.TrimRight(strings.TrimRight(s, "0"), "."))
		}
	case map[string]any:
		for k, e := range v {
			v[k] = trimDecimals(e)
		}
	case []any:
		for i, e := range v {
			v[i] = trimDecimals(e)
		}
	}
	return x
}
