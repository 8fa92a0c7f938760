package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// connect returns a connection pool or skips (fails under CI=true) when the
// server cannot be reached.
func connect(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", testenv.MySQLDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
	}
	if err != nil {
		testenv.Missing(t, "MySQL unreachable, set TEST_MYSQL_URL: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type harness struct {
	extra map[string]any // config keys added to every test's config
}

func (harness) Spec() cli.TargetSpec { return Spec() }

var nameSafe = regexp.MustCompile(`[^a-z0-9_]+`)

func (h harness) Config(t *testing.T) (map[string]any, string) {
	connect(t)
	name := nameSafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	db := fmt.Sprintf("sk_%s_%d", name, time.Now().UnixNano()%1_000_000)
	t.Cleanup(func() {
		c := connect(t)
		c.Exec("DROP DATABASE IF EXISTS " + quote(db))
	})
	cfg := map[string]any{"dsn": testenv.MySQLDSN(), "default_target_schema": db}
	for k, v := range h.extra {
		cfg[k] = v
	}
	return cfg, db
}

// columnKinds returns, per column of a table, how the harness renders it.
func columnKinds(t *testing.T, db *sql.DB, schema, table string) map[string]string {
	rows, err := db.Query(`SELECT COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kinds := map[string]string{}
	for rows.Next() {
		var name, dt, ct string
		if err := rows.Scan(&name, &dt, &ct); err != nil {
			t.Fatal(err)
		}
		switch {
		case dt == "datetime" || dt == "timestamp":
			kinds[name] = "timestamp"
		case strings.HasPrefix(ct, "tinyint(1)"):
			kinds[name] = "bool"
		case dt == "decimal":
			kinds[name] = "decimal"
		case dt == "json":
			kinds[name] = "json"
		}
	}
	checks, err := db.Query(`SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, schema, table)
	if err == nil {
		defer checks.Close()
		for checks.Next() {
			var c string
			checks.Scan(&c)
			if m := regexp.MustCompile("^json_valid\\(`(.*)`\\)$").FindStringSubmatch(c); m != nil {
				kinds[strings.ReplaceAll(m[1], "``", "`")] = "json"
			}
		}
	}
	return kinds
}

func (harness) Rows(t *testing.T, schema, table string, cols []string, orderBy string) []string {
	db := connect(t)
	kinds := columnKinds(t, db, schema, table)
	var sel, kind []string
	for _, c := range cols {
		switch {
		case strings.Contains(c, " IS "):
			sel, kind = append(sel, c), append(kind, "bool")
		case strings.Contains(c, "("):
			sel, kind = append(sel, c), append(kind, "")
		default:
			sel, kind = append(sel, quote(c)), append(kind, kinds[c])
		}
	}
	if len(sel) == 0 {
		sel, kind = []string{"1"}, []string{""}
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
func render(t *testing.T, v sql.NullString, kind string) string {
	if !v.Valid {
		return "NULL"
	}
	s := v.String
	switch kind {
	case "timestamp":
		ts, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatalf("render timestamp %q: %v", s, err)
		}
		return ts.Format("2006-01-02T15:04:05.000000Z")
	case "bool":
		return fmt.Sprint(s != "0")
	case "decimal":
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	case "json":
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			t.Fatalf("render JSON %q: %v", s, err)
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
	db := connect(t)
	rows, err := db.Query(`SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, table)
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

func (harness) Binary(t *testing.T) string { return sqltargettest.BuildBinary(t, "target-mysql") }

func TestConformance(t *testing.T) {
	connect(t)
	sqltargettest.RunSuite(t, harness{})
}

// TestTimeEndOfDay: 24:00:00, which TIME holds and tap-postgres emits,
// passes validation (format "time") and lands as it is; a time after it is
// refused.
func TestTimeEndOfDay(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	sch := `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"},"at":{"type":["null","string"],"format":"time"}}},"key_properties":["id"]}`
	r := sqltargettest.Run(t, h, cfg, sch+`
{"type":"RECORD","stream":"t","record":{"id":1,"at":"24:00:00"}}
{"type":"RECORD","stream":"t","record":{"id":2,"at":"24:00:00.000"}}
{"type":"RECORD","stream":"t","record":{"id":3,"at":"23:59:59.999999"}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := h.Rows(t, schema, "t", []string{"id", "at"}, "id"); strings.Join(got, ",") != "1|24:00:00.000000,2|24:00:00.000000,3|23:59:59.999999" {
		t.Errorf("rows %q", got)
	}
	cfg["validate_records"] = false
	r = sqltargettest.Run(t, h, cfg, sch+"\n"+`{"type":"RECORD","stream":"t","record":{"id":4,"at":"24:00:00.5"}}`+"\n")
	if want := `target-mysql: error: line 2: stream "t": column "at": "24:00:00.5" is not a time of day (hh:mm:ss)`; r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stderr %q", r.Code, r.Stderr)
	}
}

// existingType returns a column's COLUMN_TYPE.
func existingType(t *testing.T, schema, table, col string) string {
	t.Helper()
	var ct string
	if err := connect(t).QueryRow(`SELECT LOWER(COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`, schema, table, col).Scan(&ct); err != nil {
		t.Fatal(err)
	}
	return ct
}

// TestNumbersBeyondDecimal: a number beyond DECIMAL(65,30) (1e300) widens
// the column to LONGTEXT before its batch loads; the values before it keep
// their text (7, not 7.000000000000000000000000000000), the new ones their
// text as sent (1e300).
func TestNumbersBeyondDecimal(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	sch := `{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":["null","number"]}}},"key_properties":["id"]}`
	r := sqltargettest.Run(t, h, cfg, sch+`
{"type":"RECORD","stream":"n","record":{"id":1,"v":7}}
{"type":"RECORD","stream":"n","record":{"id":2,"v":-2.5}}
{"type":"RECORD","stream":"n","record":{"id":3,"v":0.000}}
{"type":"RECORD","stream":"n","record":{"id":4,"v":1e300}}
{"type":"RECORD","stream":"n","record":{"id":5,"v":12.50}}
{"type":"STATE","value":{"n":5}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := r.States(); len(got) != 1 || got[0] != `{"n":5}` {
		t.Errorf("states %q", got)
	}
	if ct := existingType(t, schema, "n", "v"); ct != "longtext" {
		t.Errorf("column type %s", ct)
	}
	want := "1|7,2|-2.5,3|0,4|1e300,5|12.50"
	if got := h.Rows(t, schema, "n", []string{"id", "v"}, "id"); strings.Join(got, ",") != want {
		t.Errorf("rows\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	// Every later run keeps the column and the values' text.
	r = sqltargettest.Run(t, h, cfg, sch+"\n"+`{"type":"RECORD","stream":"n","record":{"id":6,"v":1e300}}`+"\n")
	if r.Code != 0 {
		t.Fatalf("second run: exit %d: %s", r.Code, r.Stderr)
	}
	if got := h.Rows(t, schema, "n", []string{"id", "v"}, "id"); got[len(got)-1] != "6|1e300" {
		t.Errorf("rows %q", got)
	}
}

// TestIntegerBeyondBigint: an integer beyond BIGINT widens the column to
// DECIMAL(65,0), and beyond 65 digits to LONGTEXT, before its batch loads;
// every value keeps its exact text.
func TestIntegerBeyondBigint(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	huge := strings.Repeat("9", 70)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":["null","integer"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"n","record":{"id":1,"v":7}}
{"type":"RECORD","stream":"n","record":{"id":2,"v":18446744073709551615}}
{"type":"RECORD","stream":"n","record":{"id":3,"v":-123456789012345678901234567890}}
{"type":"STATE","value":{"n":3}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := r.States(); len(got) != 1 || got[0] != `{"n":3}` {
		t.Errorf("states %q", got)
	}
	if !strings.Contains(r.Stderr, `line 3: stream "n": column v: 18446744073709551615 is beyond BIGINT: widening the column to take it`) {
		t.Errorf("stderr %s", r.Stderr)
	}
	if ct := existingType(t, schema, "n", "v"); ct != "decimal(65,0)" {
		t.Errorf("column type %s", ct)
	}
	want := "1|7,2|18446744073709551615,3|-123456789012345678901234567890"
	if got := h.Rows(t, schema, "n", []string{"id", "v"}, "id"); strings.Join(got, ",") != want {
		t.Errorf("rows\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	r = sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":["null","integer"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"n","record":{"id":4,"v":`+huge+`}}
`)
	if r.Code != 0 {
		t.Fatalf("second run: exit %d: %s", r.Code, r.Stderr)
	}
	if ct := existingType(t, schema, "n", "v"); ct != "longtext" {
		t.Errorf("column type %s", ct)
	}
	want += ",4|" + huge
	if got := h.Rows(t, schema, "n", []string{"id", "v"}, "id"); strings.Join(got, ",") != want {
		t.Errorf("rows\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

// TestForeignColumnNeverAltered: a column target-mysql did not create (a
// BLOB holding binary bytes, made by hand) is never changed in a way that
// alters its values: strings for it stop the run with one line naming
// table, column, type and what to do, exit 1, no state; the table is as it
// was. A change that keeps every value (INT to BIGINT, VARCHAR(5) to
// LONGTEXT) still goes ahead.
func TestForeignColumnNeverAltered(t *testing.T) {
	db := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	tbl := tableIdent(schema, "files")
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + quote(schema),
		"CREATE TABLE " + tbl + " (id BIGINT PRIMARY KEY, payload BLOB, n INT, name VARCHAR(5))",
		"INSERT INTO " + tbl + " VALUES (1, x'FF00DE', 7, 'abc')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"files","schema":{"type":"object","properties":{"id":{"type":"integer"},"payload":{"type":["null","string"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"files","record":{"id":2,"payload":"text"}}
{"type":"STATE","value":{"n":2}}
`)
	want := "target-mysql: error: preparing table for stream \"files\": table `" + schema + "`.`files`, column `payload`: its type blob was not made by target-mysql, and taking string values would change it to LONGTEXT, altering the values it holds; change the column yourself (ALTER TABLE ... MODIFY COLUMN ...), declare its type with x-sql-datatype, or load the stream into another table"
	if r.Code != 1 || r.Stdout != "" || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
	var hex string
	if err := db.QueryRow("SELECT HEX(payload) FROM " + tbl + " WHERE id = 1").Scan(&hex); err != nil {
		t.Fatal(err)
	}
	if ct := existingType(t, schema, "files", "payload"); ct != "blob" || hex != "FF00DE" {
		t.Errorf("the column changed: %s %s", ct, hex)
	}
	r = sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"files","schema":{"type":"object","properties":{"id":{"type":"integer"},"n":{"type":"integer"},"name":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"files","record":{"id":3,"n":9223372036854775807,"name":"longer name"}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := h.Rows(t, schema, "files", []string{"id", "n", "name"}, "id"); strings.Join(got, ",") != "1|7|abc,3|9223372036854775807|longer name" {
		t.Errorf("rows %q", got)
	}
}

func TestAppendSkipsExistingKeys(t *testing.T) {
	connect(t)
	t.Run("load_data", func(t *testing.T) { sqltargettest.AppendSkipsExistingKeys(t, harness{}) })
	t.Run("insert", func(t *testing.T) {
		sqltargettest.AppendSkipsExistingKeys(t, harness{extra: map[string]any{"local_infile": false}})
	})
}

func TestOverwriteWidensReplacement(t *testing.T) {
	connect(t)
	sqltargettest.OverwriteWidensReplacement(t, harness{})
}

// TestPrepareTablesTogether: the tables of the SCHEMA messages after the
// first are prepared together (PrepareTables: the catalog reads of all of
// them in one query each): new tables are made, existing ones evolved or
// kept (a JSON column stays JSON), each logged once; when one of them
// cannot be prepared, the others are prepared on their own and the run
// stops with that table's error.
func TestPrepareTablesTogether(t *testing.T) {
	db := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	cfg["max_parallel_flushes"] = 1
	q := func(name string) string { return tableIdent(schema, name) }
	for _, sql := range []string{
		"CREATE DATABASE IF NOT EXISTS " + quote(schema),
		"CREATE TABLE " + q("keep") + " (id BIGINT PRIMARY KEY, a LONGTEXT)",
		"CREATE TABLE " + q("grow") + " (id BIGINT PRIMARY KEY, a LONGTEXT)",
		"INSERT INTO " + q("grow") + " VALUES (1, 'old')",
		"CREATE TABLE " + q("js") + " (id BIGINT PRIMARY KEY, doc JSON)",
		"CREATE TABLE " + q("odd") + " (id BIGINT PRIMARY KEY, a BLOB)",
	} {
		if _, err := db.Exec(sql); err != nil {
			t.Fatal(err)
		}
	}
	schemaOf := func(stream, props string) string {
		return `{"type":"SCHEMA","stream":"` + stream + `","schema":{"type":"object","properties":{"id":{"type":"integer"},` + props + `}},"key_properties":["id"]}` + "\n"
	}
	ab := `"a":{"type":["null","string"]},"b":{"type":["null","integer"]}`
	in := schemaOf("keep", `"a":{"type":["null","string"]}`) + schemaOf("grow", ab) + schemaOf("new1", ab) + schemaOf("new2", ab) +
		schemaOf("js", `"doc":{"type":["null","object"]}`) +
		`{"type":"RECORD","stream":"keep","record":{"id":1,"a":"k"}}
{"type":"RECORD","stream":"grow","record":{"id":2,"a":"g","b":7}}
{"type":"RECORD","stream":"new1","record":{"id":3,"a":"n","b":8}}
{"type":"RECORD","stream":"new2","record":{"id":4,"a":"m","b":9}}
{"type":"RECORD","stream":"js","record":{"id":5,"doc":{"x":[1,2]}}}
{"type":"STATE","value":{"n":1}}
`
	r := sqltargettest.Run(t, h, cfg, in)
	if r.Code != 0 || r.Stdout != "{\"n\":1}\n" {
		t.Fatalf("exit %d stdout %q stderr\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for line, n := range map[string]int{
		"added column `b` BIGINT to " + q("grow"):                       1,
		"created table " + q("new1") + ` (3 columns) for stream "new1"`: 1,
		"created table " + q("new2") + ` (3 columns) for stream "new2"`: 1,
		"created table": 2,
		"changed from":  0,
	} {
		if got := strings.Count(r.Stderr, line); got != n {
			t.Errorf("%q logged %d times, want %d:\n%s", line, got, n, r.Stderr)
		}
	}
	for table, want := range map[string]string{"keep": "1|k", "grow": "1|old|NULL,2|g|7", "new1": "3|n|8", "new2": "4|m|9"} {
		cols := []string{"id", "a", "b"}
		if table == "keep" {
			cols = cols[:2]
		}
		if got := strings.Join(h.Rows(t, schema, table, cols, "id"), ","); got != want {
			t.Errorf("table %s: %s, want %s", table, got, want)
		}
	}
	var doc string
	if err := db.QueryRow("SELECT doc FROM " + q("js") + " WHERE id = 5").Scan(&doc); err != nil {
		t.Fatal(err)
	}
	if ct := existingType(t, schema, "js", "doc"); doc != `{"x":[1,2]}` || ct != "longtext" {
		t.Errorf("js: doc %s in a %s column", doc, ct)
	}

	// new3 and odd go together; odd cannot be prepared (its column a is a
	// BLOB, not made by target-mysql): new3 is made once, odd stops the
	// run with its own error, nothing is loaded.
	in = schemaOf("new2", ab) + schemaOf("new3", ab) + schemaOf("odd", `"a":{"type":["null","string"]}`) +
		`{"type":"RECORD","stream":"new3","record":{"id":5,"a":"x","b":1}}
{"type":"STATE","value":{"n":2}}
`
	r = sqltargettest.Run(t, h, cfg, in)
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	want := "target-mysql: error: preparing table for stream \"odd\": table " + q("odd") + ", column `a`: its type blob was not made by target-mysql, and taking string values would change it to LONGTEXT, altering the values it holds; change the column yourself (ALTER TABLE ... MODIFY COLUMN ...), declare its type with x-sql-datatype, or load the stream into another table"
	if r.Code != 1 || r.Stdout != "" || lines[len(lines)-1] != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant last line\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
	if n := strings.Count(r.Stderr, "created table "+q("new3")); n != 1 {
		t.Errorf("new3's creation logged %d times:\n%s", n, r.Stderr)
	}
	if got := h.Rows(t, schema, "new3", []string{"id"}, "id"); len(got) != 0 {
		t.Errorf("new3 has rows %q", got)
	}
}
