package mysql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/mariadbtest"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestConformanceInsert runs the suite on the path without LOAD DATA LOCAL
// (what a server with local_infile off gets): prepared multi-row INSERTs.
func TestConformanceInsert(t *testing.T) {
	connect(t)
	sqltargettest.RunSuite(t, harness{extra: map[string]any{"local_infile": false}})
}

// TestUnknownDatabase: a database that does not exist is the config's
// fault (exit 2 at once, no retry), as in the tap; the server is reachable.
func TestUnknownDatabase(t *testing.T) {
	connect(t)
	r := sqltargettest.Run(t, harness{}, map[string]any{"host": "127.0.0.1", "user": "root", "database": "sk_no_such_db"},
		`{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}`+"\n"+`{"type":"STATE","value":{"a":1}}`+"\n")
	if r.Code != 2 || r.Stdout != "" || r.Stderr != "target-mysql: error: invalid config: connecting to MySQL: Error 1049 (42000): Unknown database 'sk_no_such_db': check database in the config\n" {
		t.Errorf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

func TestDatabaseDown(t *testing.T) {
	r := sqltargettest.Run(t, harness{}, map[string]any{"host": "127.0.0.1", "port": 1, "user": "root", "password": "s3cret-pw", "database": "test"},
		`{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}`+"\n"+`{"type":"STATE","value":{"a":1}}`+"\n")
	if r.Code != 1 || r.Stdout != "" {
		t.Errorf("exit %d stdout %q", r.Code, r.Stdout)
	}
	if !strings.HasPrefix(r.Stderr, "target-mysql: error: connecting to MySQL: ") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("stderr %q", r.Stderr)
	}
	if strings.Contains(r.Stderr, "s3cret-pw") {
		t.Error("the password leaked into the error")
	}
}

func TestConfigWithoutDatabase(t *testing.T) {
	r := sqltargettest.Run(t, harness{}, map[string]any{"host": "127.0.0.1", "user": "root"}, "")
	if r.Code != 2 || !strings.Contains(r.Stderr, "set database (or default_target_schema): the database the tables go to") {
		t.Errorf("exit %d stderr %q", r.Code, r.Stderr)
	}
}

const priceSchema = `{"type":"SCHEMA","stream":"p","schema":{"type":"object","properties":{"id":{"type":"integer"},"price":{"type":"number","multipleOf":0.01,"maximum":1000,"exclusiveMaximum":true,"minimum":-1000,"exclusiveMinimum":true},"code":{"type":["null","string"],"maxLength":3}}},"key_properties":["id"]}`

// TestValueErrors: values a column cannot hold stop the run with the line,
// stream and column, and nothing of their batch is committed.
func TestValueErrors(t *testing.T) {
	h := harness{}
	bothPaths(t, func(t *testing.T, local bool) {
		cfg, db := h.Config(t)
		cfg["local_infile"] = local
		r := sqltargettest.Run(t, h, cfg, priceSchema+"\n"+`{"type":"RECORD","stream":"p","record":{"id":1,"price":12.5,"code":"abc"}}
{"type":"STATE","value":{"ok":1}}
{"type":"RECORD","stream":"p","record":{"id":2,"price":999.99}}
`)
		if r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		if got := strings.Join(h.Rows(t, db, "p", []string{"id", "price", "code"}, "id"), ","); got != "1|12.5|abc,2|999.99|NULL" {
			t.Errorf("rows %q", got)
		}
		cfg["validate_records"] = false
		cases := []struct{ name, rec, want string }{
			{"scale", `{"id":3,"price":1.005}`, `target-mysql: error: line 2: stream "p": column "price": 1.005 has more than 2 decimal places (the column is DECIMAL(5,2); no silent rounding)`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := sqltargettest.Run(t, h, cfg, priceSchema+"\n"+`{"type":"RECORD","stream":"p","record":`+c.rec+"}\n")
				if r.Code != 1 || strings.TrimSpace(r.Stderr) != c.want {
					t.Errorf("exit %d stderr %q", r.Code, r.Stderr)
				}
			})
		}
	})
}

// TestWidenOnValue: a value longer than its VARCHAR column widens the
// column (to LONGTEXT) in the load that meets it; one with more digits than
// a "number" column's DECIMAL(65,30) widens it to LONGTEXT before its batch
// is built further. Old values stay, without DECIMAL(65,30)'s padding.
func TestWidenOnValue(t *testing.T) {
	h := harness{}
	for _, local := range []bool{true, false} {
		name := map[bool]string{true: "load_data", false: "insert"}[local]
		t.Run(name, func(t *testing.T) {
			cfg, db := h.Config(t)
			cfg["local_infile"] = local
			sch := `{"type":"SCHEMA","stream":"w","schema":{"type":"object","properties":{"id":{"type":"string","maxLength":3},"code":{"type":["null","string"],"maxLength":3},"n":{"type":["null","number"]}}},"key_properties":["id"]}`
			r := sqltargettest.Run(t, h, cfg, sch+"\n"+`{"type":"RECORD","stream":"w","record":{"id":"a","code":"abc","n":1.5}}`+"\n")
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			cfg["validate_records"] = false
			long := strings.Repeat("k", 300)
			r = sqltargettest.Run(t, h, cfg, sch+"\n"+`{"type":"RECORD","stream":"w","record":{"id":"b","code":"abcdé","n":0.1234567890123456789012345678901}}`+"\n"+
				`{"type":"RECORD","stream":"w","record":{"id":"`+long+`","code":"x","n":2}}`+"\n")
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			for _, w := range []string{
				"column `code` of `" + db + "`.`w` changed from varchar(3) to LONGTEXT: a value did not fit (old values kept)",
				`line 2: stream "w": column n: 0.1234567890123456789012345678901 does not fit any DECIMAL (65 digits, 30 after the point, with the column's other values): widening the column to take it (every value kept exactly)`,
				"column `n` of `" + db + "`.`w` changed from decimal(65,30) to LONGTEXT to take string values (old values kept)",
				"column `id` of `" + db + "`.`w` changed from varchar(3) to VARCHAR(768): a value did not fit (old values kept)",
			} {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
				}
			}
			got := strings.Join(h.Rows(t, db, "w", []string{"id", "code", "n"}, "id"), ",")
			want := "a|abc|1.5,b|abcdé|0.1234567890123456789012345678901," + long + "|x|2"
			if got != want {
				t.Errorf("rows\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestServerRefusesValue: a column target-mysql does not check itself (a
// FLOAT made by hand; its extra column keeps the batch off the REPLACE
// path, where strict mode makes it an error at once) refuses a value; LOAD DATA LOCAL only warns, and the
// warning fails the batch instead of a silently changed row.
func TestServerRefusesValue(t *testing.T) {
	h := harness{}
	for _, local := range []bool{true, false} {
		name := map[bool]string{true: "load_data", false: "insert"}[local]
		t.Run(name, func(t *testing.T) {
			cfg, db := h.Config(t)
			cfg["local_infile"] = local
			conn := connect(t)
			for _, q := range []string{"CREATE DATABASE " + quote(db), "CREATE TABLE " + tableIdent(db, "e") + " (id BIGINT PRIMARY KEY, f FLOAT, note TEXT)"} {
				if _, err := conn.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"e","schema":{"type":"object","properties":{"id":{"type":"integer"},"f":{"type":"number"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"e","record":{"id":1,"f":1.5}}
{"type":"RECORD","stream":"e","record":{"id":2,"f":1e39}}
{"type":"STATE","value":{"s":1}}
`)
			want := map[bool]string{
				true:  "LOAD DATA changed or skipped values (nothing was committed): Warning 1264: Out of range value for column 'f' at row 2",
				false: "INSERT failed: Error 1264 (22003): Out of range value for column 'f' at row 2",
			}[local]
			if r.Code != 1 || !strings.Contains(r.Stderr, want) || r.Stdout != "" {
				t.Errorf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
			if rows := h.Rows(t, db, "e", []string{"id"}, "id"); len(rows) != 0 {
				t.Errorf("rows %q: the failed batch must not be committed", rows)
			}
		})
	}
}

// TestDatatypes: each JSON-schema property, the column it makes, a value,
// and the value that lands.
func TestDatatypes(t *testing.T) {
	h := harness{}
	cases := []struct {
		name, prop, colType, value, want string
	}{
		{"integer", `{"type":"integer"}`, "bigint(20)", `-9223372036854775808`, "-9223372036854775808"},
		{"number", `{"type":"number"}`, "decimal(65,30)", `-0.000000000000000000000000000001`, "-0.000000000000000000000000000001"},
		{"number big", `{"type":"number"}`, "decimal(65,30)", `99999999999999999999999999999999999`, "99999999999999999999999999999999999"},
		{"decimal format", `{"type":"string","format":"singer.decimal","precision":12,"scale":4}`, "decimal(12,4)", `"12345678.1234"`, "12345678.1234"},
		{"string", `{"type":"string"}`, "longtext", `"emoji 😀 and \\N"`, `emoji 😀 and \N`},
		{"string maxLength", `{"type":"string","maxLength":10}`, "varchar(10)", `"ten chars!"`, "ten chars!"},
		{"boolean", `{"type":"boolean"}`, "tinyint(1)", `true`, "true"},
		{"date-time", `{"type":"string","format":"date-time"}`, "datetime(6)", `"9999-12-31T23:59:59.999999Z"`, "9999-12-31T23:59:59.999999Z"},
		{"date", `{"type":"string","format":"date"}`, "date", `"1000-01-01"`, "1000-01-01"},
		{"time", `{"type":"string","format":"time"}`, "time(6)", `"23:59:59.5"`, "23:59:59.500000"},
		{"object", `{"type":"object"}`, "longtext", `{"b":1,"a":[true,null]}`, `{"a":[true,null],"b":1}`},
		{"no type", `{}`, "longtext", `"just a string"`, `"just a string"`},
		{"string or integer", `{"type":["string","integer"]}`, "longtext", `42`, "42"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, db := h.Config(t)
			r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"d","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":`+c.prop+`}},"key_properties":["id"]}
{"type":"RECORD","stream":"d","record":{"id":1,"v":`+c.value+`}}
`)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			var ct string
			if err := connect(t).QueryRow("SELECT LOWER(COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'd' AND COLUMN_NAME = 'v'", db).Scan(&ct); err != nil {
				t.Fatal(err)
			}
			if ct != c.colType {
				t.Errorf("column type %s, want %s", ct, c.colType)
			}
			if got := strings.Join(h.Rows(t, db, "d", []string{"v"}, ""), ","); got != c.want {
				t.Errorf("value %q, want %q", got, c.want)
			}
		})
	}
}

// TestServerRefusesLocalInfile runs against a server of its own started
// with local_infile off (a global setting the shared server must keep) and
// checks the fallback: one line on stderr, rows all there.
func TestServerRefusesLocalInfile(t *testing.T) {
	h := harness{}
	s := mariadbtest.Start(t, "--local-infile=0")
	s.Exec(t, "CREATE DATABASE li")
	cfg := map[string]any{"dsn": s.DSN("root", "", ""), "default_target_schema": "li", "batch_size_rows": 2}
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"f","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"f","record":{"id":1,"v":"a\tb"}}
{"type":"RECORD","stream":"f","record":{"id":2,"v":"\\N"}}
{"type":"RECORD","stream":"f","record":{"id":1,"v":"c"}}
{"type":"RECORD","stream":"f","record":{"id":3,"v":"d"}}
{"type":"STATE","value":{"s":1}}
`)
	if r.Code != 0 || r.Stdout != "{\"s\":1}\n" {
		t.Fatalf("exit %d stdout %q stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	if n := strings.Count(r.Stderr, "the server refuses LOAD DATA LOCAL INFILE"); n != 1 {
		t.Errorf("%d fallback messages, want 1:\n%s", n, r.Stderr)
	}
	rows, err := s.DB.Query("SELECT CONCAT(id, '|', v) FROM li.f ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "1|c,2|\\N,3|d" {
		t.Errorf("rows %q", got)
	}
}

// TestEvolutionOnServer: a stream whose schema changes in every column
// between runs; the columns widen by the documented rules and every old
// value stays.
func TestEvolutionOnServer(t *testing.T) {
	h := harness{}
	cfg, db := h.Config(t)
	s1 := `{"type":"SCHEMA","stream":"ev","schema":{"type":"object","properties":{"id":{"type":"integer"},"d":{"type":"string","format":"date"},"s":{"type":"string","maxLength":5},"n":{"type":"integer"},"b":{"type":"boolean"},"p":{"type":"number","multipleOf":0.01,"maximum":1000,"exclusiveMaximum":true}}},"key_properties":["id"]}`
	s2 := `{"type":"SCHEMA","stream":"ev","schema":{"type":"object","properties":{"id":{"type":"integer"},"d":{"type":"string","format":"date-time"},"s":{"type":"string","maxLength":50},"n":{"type":"number"},"b":{"type":"string"},"p":{"type":"number","multipleOf":0.0001,"maximum":100000,"exclusiveMaximum":true},"x":{"type":["null","object"]}}},"key_properties":["id"]}`
	r := sqltargettest.Run(t, h, cfg, s1+"\n"+`{"type":"RECORD","stream":"ev","record":{"id":1,"d":"2024-02-29","s":"short","n":7,"b":true,"p":999.99}}`+"\n")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	r = sqltargettest.Run(t, h, cfg, s2+"\n"+`{"type":"RECORD","stream":"ev","record":{"id":2,"d":"2024-03-01T12:00:00.5Z","s":"a longer string","n":0.25,"b":"maybe","p":99999.1234,"x":{"k":[1]}}}`+"\n")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	var types []string
	rows, err := connect(t).Query("SELECT CONCAT(COLUMN_NAME, ' ', LOWER(COLUMN_TYPE)) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'ev' ORDER BY ORDINAL_POSITION", db)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		types = append(types, s)
	}
	rows.Close()
	if got, want := strings.Join(types, ", "), "id bigint(20), d datetime(6), s varchar(50), n decimal(65,30), b longtext, p decimal(9,4), x longtext"; got != want {
		t.Errorf("columns\n got %s\nwant %s", got, want)
	}
	got := strings.Join(h.Rows(t, db, "ev", []string{"id", "d", "s", "n", "b", "p", "x"}, "id"), "\n")
	want := "1|2024-02-29T00:00:00.000000Z|short|7|1|999.99|NULL\n2|2024-03-01T12:00:00.500000Z|a longer string|0.25|maybe|99999.1234|{\"k\":[1]}"
	if got != want {
		t.Errorf("rows\n got %s\nwant %s", got, want)
	}
}

// TestUpsertKeepsDroppedColumns: once the schema drops a property, an
// update by key keeps the old value of its column (the merge, not REPLACE,
// which would set it to NULL).
func TestUpsertKeepsDroppedColumns(t *testing.T) {
	h := harness{}
	cfg, db := h.Config(t)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"k","schema":{"type":"object","properties":{"id":{"type":"integer"},"a":{"type":"string"},"b":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"k","record":{"id":1,"a":"a1","b":"b1"}}
{"type":"RECORD","stream":"k","record":{"id":2,"a":"a2","b":"b2"}}
{"type":"RECORD","stream":"k","record":{"id":1,"a":"a1'","b":"b1'"}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	r = sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"k","schema":{"type":"object","properties":{"id":{"type":"integer"},"a":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"k","record":{"id":1,"a":"new"}}
{"type":"RECORD","stream":"k","record":{"id":3,"a":"a3"}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := strings.Join(h.Rows(t, db, "k", []string{"id", "a", "b"}, "id"), ","); got != "1|new|b1',2|a2|b2,3|a3|NULL" {
		t.Errorf("rows %q", got)
	}
}

// TestUpsertWithoutUniqueIndex: a table made by someone else, with no
// unique index on the key properties (and a key that already repeats):
// each key of a batch ends as exactly its last record, other keys are
// left alone, and with hard_delete a key whose last record is a delete is
// gone.
func TestUpsertWithoutUniqueIndex(t *testing.T) {
	h := harness{}
	bothPaths(t, func(t *testing.T, local bool) {
		cfg, db := h.Config(t)
		cfg["local_infile"] = local
		cfg["hard_delete"] = true
		c := connect(t)
		for _, q := range []string{
			"CREATE DATABASE " + quote(db),
			"CREATE TABLE " + quote(db) + ".`k` (id BIGINT, a VARCHAR(20), _sdc_deleted_at DATETIME(6), KEY (id))",
			"INSERT INTO " + quote(db) + ".`k` VALUES (1, 'old1', NULL), (1, 'old1 again', NULL), (2, 'old2', NULL), (3, 'old3', NULL), (9, 'untouched', NULL)",
		} {
			if _, err := c.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"k","schema":{"type":"object","properties":{"id":{"type":"integer"},"a":{"type":["null","string"]},"_sdc_deleted_at":{"type":["null","string"],"format":"date-time"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"k","record":{"id":1,"a":"new1"}}
{"type":"RECORD","stream":"k","record":{"id":4,"a":"first4"}}
{"type":"RECORD","stream":"k","record":{"id":4,"a":"last4"}}
{"type":"RECORD","stream":"k","record":{"id":2,"a":"new2"}}
{"type":"RECORD","stream":"k","record":{"id":3,"a":"gone","_sdc_deleted_at":"2026-01-02T03:04:05Z"}}
{"type":"RECORD","stream":"k","record":{"id":5,"a":"deleted then back","_sdc_deleted_at":"2026-01-02T03:04:05Z"}}
{"type":"RECORD","stream":"k","record":{"id":5,"a":"back"}}
{"type":"STATE","value":{"done":1}}
`)
		if r.Code != 0 || r.Stdout != `{"done":1}`+"\n" {
			t.Fatalf("exit %d stdout %q: %s", r.Code, r.Stdout, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "has no PRIMARY KEY or UNIQUE index on exactly the key properties (`id`): upserts delete the batch's keys") || strings.Count(r.Stderr, "has no PRIMARY KEY") != 1 {
			t.Errorf("stderr %q", r.Stderr)
		}
		if got := strings.Join(h.Rows(t, db, "k", []string{"id", "a"}, "id"), ","); got != "1|new1,2|new2,4|last4,5|back,9|untouched" {
			t.Errorf("rows %q", got)
		}
	})
}

// bothPaths runs f on the LOAD DATA LOCAL path and on the INSERT path.
func bothPaths(t *testing.T, f func(t *testing.T, local bool)) {
	for _, local := range []bool{true, false} {
		name := "load_data"
		if !local {
			name = "insert"
		}
		t.Run(name, func(t *testing.T) { f(t, local) })
	}
}

// A row that another table's foreign key refers to (ON DELETE CASCADE, from
// another database) is updated in place by an upsert, never deleted and
// inserted again, which would take the referring rows with it. The
// reference is found in InnoDB's dictionary, not by scanning every table.
func TestUpsertKeepsReferringRows(t *testing.T) {
	h := harness{}
	bothPaths(t, func(t *testing.T, local bool) {
		cfg, db := h.Config(t)
		cfg["local_infile"] = local
		c := connect(t)
		child := db + "_child"
		t.Cleanup(func() { _, _ = c.Exec("DROP DATABASE IF EXISTS " + quote(child)) })
		for _, q := range []string{
			"CREATE DATABASE " + quote(db),
			"CREATE DATABASE " + quote(child),
			"CREATE TABLE " + quote(db) + ".`p` (id BIGINT PRIMARY KEY, a LONGTEXT)",
			"CREATE TABLE " + quote(child) + ".`c` (id BIGINT PRIMARY KEY, p BIGINT, FOREIGN KEY (p) REFERENCES " + quote(db) + ".`p` (id) ON DELETE CASCADE)",
			"INSERT INTO " + quote(db) + ".`p` VALUES (1, 'old1'), (2, 'old2')",
			"INSERT INTO " + quote(child) + ".`c` VALUES (10, 1), (20, 2)",
		} {
			if _, err := c.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		// p's table prepared alone, then in a group (PrepareTables asks
		// about the foreign keys to all of the group at once).
		other := func(name string) string {
			return `{"type":"SCHEMA","stream":"` + name + `","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}` + "\n"
		}
		cfg["max_parallel_flushes"] = 1
		for run, before := range []string{"", other("first") + other("q")} {
			a := fmt.Sprintf("new%d", run)
			r := sqltargettest.Run(t, h, cfg, before+`{"type":"SCHEMA","stream":"p","schema":{"type":"object","properties":{"id":{"type":"integer"},"a":{"type":["null","string"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"p","record":{"id":1,"a":"`+a+`"}}
{"type":"RECORD","stream":"p","record":{"id":3,"a":"new3"}}
{"type":"STATE","value":{"done":1}}
`)
			if r.Code != 0 || r.Stdout != `{"done":1}`+"\n" {
				t.Fatalf("run %d: exit %d stdout %q: %s", run, r.Code, r.Stdout, r.Stderr)
			}
			if got := strings.Join(h.Rows(t, db, "p", []string{"id", "a"}, "id"), ","); got != "1|"+a+",2|old2,3|new3" {
				t.Errorf("run %d: rows %q", run, got)
			}
			if got := strings.Join(h.Rows(t, child, "c", []string{"id", "p"}, "id"), ","); got != "10|1,20|2" {
				t.Errorf("run %d: referring rows %q", run, got)
			}
		}
	})
}
