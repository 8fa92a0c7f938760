package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// execAll runs each statement on conn, failing the test at the first
// error.
func execAll(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// connect returns a connection or skips (fails under CI=true) when the
// server cannot be reached.
func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["TimeZone"] = "UTC"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

type harness struct{}

func (harness) Spec() cli.TargetSpec { return Spec() }

var schemaSafe = regexp.MustCompile(`[^a-z0-9_]+`)

func (harness) Config(t *testing.T) (map[string]any, string) {
	conn := connect(t)
	name := schemaSafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	schema := fmt.Sprintf("sk_%s_%d", name, time.Now().UnixNano()%1_000_000)
	t.Cleanup(func() {
		c := connect(t)
		c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	_ = conn
	return map[string]any{"url": testenv.PostgresURL(), "default_target_schema": schema}, schema
}

var pgTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$`)

func (harness) Rows(t *testing.T, schema, table string, cols []string, orderBy string) []string {
	conn := connect(t)
	var sel []string
	for _, c := range cols {
		if strings.Contains(c, "(") || strings.Contains(c, " IS ") {
			sel = append(sel, "to_jsonb("+c+")")
		} else {
			sel = append(sel, "to_jsonb("+pgx.Identifier{c}.Sanitize()+")")
		}
	}
	if len(sel) == 0 {
		sel = []string{"to_jsonb(1)"}
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + pgx.Identifier{schema, table}.Sanitize()
	if orderBy != "" {
		var ob []string
		for _, o := range strings.Split(orderBy, ",") {
			ob = append(ob, pgx.Identifier{strings.TrimSpace(o)}.Sanitize())
		}
		q += " ORDER BY " + strings.Join(ob, ", ")
	}
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		raw := rows.RawValues()
		parts := make([]string, len(raw))
		for i, r := range raw {
			parts[i] = render(t, r)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// render normalizes a to_jsonb value (text wire format of jsonb).
func render(t *testing.T, raw []byte) string {
	if raw == nil {
		return "NULL"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("render %s: %v", raw, err)
	}
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		if pgTimestamp.MatchString(x) {
			ts, err := time.Parse(time.RFC3339Nano, x)
			if err == nil {
				return ts.UTC().Format("2006-01-02T15:04:05.000000Z")
			}
		}
		return x
	case json.Number:
		s := string(x)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	case bool:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func (harness) Columns(t *testing.T, schema, table string) []string {
	conn := connect(t)
	rows, err := conn.Query(context.Background(), `SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func (harness) Binary(t *testing.T) string { return sqltargettest.BuildBinary(t, "target-postgres") }

func TestConformance(t *testing.T) {
	connect(t)
	sqltargettest.RunSuite(t, harness{})
}

func TestAppendSkipsExistingKeys(t *testing.T) {
	connect(t)
	sqltargettest.AppendSkipsExistingKeys(t, harness{})
}

// TestUnknownDatabase: a database that does not exist is the config's
// fault (exit 2 at once, no retry), as in the tap; the server is reachable.
func TestUnknownDatabase(t *testing.T) {
	connect(t)
	r := sqltargettest.Run(t, harness{}, map[string]any{"host": "127.0.0.1", "user": "root", "dbname": "sk_no_such_db"},
		`{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}`+"\n"+`{"type":"STATE","value":{"a":1}}`+"\n")
	if r.Code != 2 || r.Stdout != "" || r.Stderr != "target-postgres: error: invalid config: connecting to PostgreSQL: database \"sk_no_such_db\" does not exist (SQLSTATE 3D000): check dbname in the config\n" {
		t.Errorf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

func TestDatabaseDown(t *testing.T) {
	r := sqltargettest.Run(t, harness{}, map[string]any{"host": "127.0.0.1", "port": 1, "user": "root", "password": "s3cret-pw", "dbname": "test"},
		`{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}`+"\n"+`{"type":"STATE","value":{"a":1}}`+"\n")
	if r.Code != 1 || r.Stdout != "" {
		t.Errorf("exit %d stdout %q", r.Code, r.Stdout)
	}
	if want := "target-postgres: error: connecting to PostgreSQL at 127.0.0.1:1: connect: connection refused: check host and port in the config, and that the server is running and accepts TCP connections\n"; r.Stderr != want {
		t.Errorf("stderr %q, want %q", r.Stderr, want)
	}
}

// TestUnresolvableHost: the same one line as tap-postgres (pgdsn.ConnectError),
// not pgx's list of every address it tried; exit 1 (DNS may answer later).
func TestUnresolvableHost(t *testing.T) {
	r := sqltargettest.Run(t, harness{}, map[string]any{"host": "no-such-host.invalid", "user": "root", "password": "s3cret-pw", "dbname": "test"},
		`{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}`+"\n")
	if want := "target-postgres: error: connecting to PostgreSQL: host \"no-such-host.invalid\": no such host: check host in the config\n"; r.Code != 1 || r.Stdout != "" || r.Stderr != want {
		t.Errorf("exit %d stdout %q stderr %q, want %q", r.Code, r.Stdout, r.Stderr, want)
	}
}

func TestValueErrors(t *testing.T) {
	connect(t)
	cfg, schema := harness{}.Config(t)
	// A numeric(5,2) column refuses a third decimal instead of rounding it.
	r := sqltargettest.Run(t, harness{}, cfg, `{"type":"SCHEMA","stream":"p","schema":{"type":"object","properties":{"id":{"type":"integer"},"price":{"type":"number","multipleOf":0.01,"maximum":1000,"exclusiveMaximum":true,"minimum":-1000,"exclusiveMinimum":true}}},"key_properties":["id"]}
{"type":"RECORD","stream":"p","record":{"id":1,"price":12.5}}
{"type":"STATE","value":{"ok":1}}
{"type":"RECORD","stream":"p","record":{"id":2,"price":999.99}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	cols := harness{}.Rows(t, schema, "p", []string{"id", "price"}, "id")
	if strings.Join(cols, ",") != "1|12.5,2|999.99" {
		t.Errorf("rows %q", cols)
	}
	r = sqltargettest.Run(t, harness{}, map[string]any{"url": testenv.PostgresURL(), "default_target_schema": schema, "validate_records": false},
		`{"type":"SCHEMA","stream":"p","schema":{"type":"object","properties":{"id":{"type":"integer"},"price":{"type":"number","multipleOf":0.01,"maximum":1000,"exclusiveMaximum":true,"minimum":-1000,"exclusiveMinimum":true}}},"key_properties":["id"]}
{"type":"RECORD","stream":"p","record":{"id":3,"price":1.005}}
`)
	want := `target-postgres: error: line 2: stream "p": column "price": 1.005 has more than 2 decimal places (the column is numeric with scale 2; no silent rounding)`
	if r.Code != 1 || !strings.Contains(r.Stderr, want) {
		t.Errorf("exit %d stderr %q", r.Code, r.Stderr)
	}
}

func TestNumericEncoding(t *testing.T) {
	conn := connect(t)
	cases := []string{"0", "-0", "1", "-1", "10000", "9999", "0.0001", "0.00001", "123456789.123456789", "-0.5", "1.10", "1e3", "1.5E-3", "12345678901234567890.123456789", "100000000", "0.1000", "99999999999999999999999999999999999999"}
	for _, c := range cases {
		b := newCopyBatch(nil, []encoder{{kind: physNumeric, name: "n", scale: -1}}, nil, chunkbuf.NewPool(0))
		buf, err := b.appendNumeric(nil, &b.cols[0], []byte(c))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		// Let PostgreSQL decode our binary numeric and print it.
		res := conn.PgConn().ExecParams(context.Background(), "SELECT $1::numeric::text", [][]byte{buf[4:]}, []uint32{pgtype.NumericOID}, []int16{1}, []int16{0}).Read()
		if res.Err != nil {
			t.Fatalf("%s: %v", c, res.Err)
		}
		got := string(res.Rows[0][0])
		want := c
		switch c {
		case "-0":
			want = "0"
		case "1e3":
			want = "1000"
		case "1.5E-3":
			want = "0.0015"
		}
		if got != want {
			t.Errorf("numeric %s came back as %s", c, got)
		}
	}
}

func TestConfigOptions(t *testing.T) {
	connect(t)
	h := harness{}
	t.Run("schema_mapping", func(t *testing.T) {
		cfg, schema := h.Config(t)
		_, mapped := h.Config(t)
		cfg["schema_mapping"] = map[string]any{"src": map[string]any{"target_schema": mapped}}
		r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"src-users","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"src-users","record":{"id":7}}
{"type":"SCHEMA","stream":"other-things","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"other-things","record":{"id":8}}
`)
		if r.Code != 0 {
			t.Fatal(r.Stderr)
		}
		if got := h.Rows(t, mapped, "users", []string{"id"}, ""); strings.Join(got, ",") != "7" {
			t.Errorf("mapped rows %q", got)
		}
		// Unmapped: the default schema, the table without the source schema.
		if got := h.Rows(t, schema, "things", []string{"id"}, ""); strings.Join(got, ",") != "8" {
			t.Errorf("unmapped rows %q", got)
		}
	})
	t.Run("primary_key_required", func(t *testing.T) {
		cfg, _ := h.Config(t)
		cfg["primary_key_required"] = true
		r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"nokey","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":[]}`+"\n")
		if r.Code != 1 || !strings.Contains(r.Stderr, `line 1: stream "nokey" has no key_properties and primary_key_required is set`) {
			t.Errorf("exit %d stderr %s", r.Code, r.Stderr)
		}
	})
	t.Run("max_parallel_flushes", func(t *testing.T) {
		cfg, schema := h.Config(t)
		cfg["max_parallel_flushes"] = 3
		cfg["batch_size_rows"] = 7
		var in strings.Builder
		for _, s := range []string{"a", "b", "c", "d"} {
			fmt.Fprintf(&in, `{"type":"SCHEMA","stream":%q,"schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}`+"\n", s)
		}
		for i := 1; i <= 200; i++ {
			s := []string{"a", "b", "c", "d"}[i%4]
			fmt.Fprintf(&in, `{"type":"RECORD","stream":%q,"record":{"id":%d,"v":"x%d"}}`+"\n", s, i%37, i)
			if i%10 == 0 {
				fmt.Fprintf(&in, `{"type":"STATE","value":{"n":%d}}`+"\n", i)
			}
		}
		r := sqltargettest.Run(t, h, cfg, in.String())
		if r.Code != 0 {
			t.Fatal(r.Stderr)
		}
		states := r.States()
		if states[len(states)-1] != `{"n":200}` {
			t.Errorf("last state %q", states[len(states)-1])
		}
		// Each key keeps its last value: id k of stream s got the largest i.
		got := h.Rows(t, schema, "a", []string{"count(*)", "max(v)"}, "")
		if len(got) != 1 || got[0] != "37|x96" {
			t.Errorf("stream a: %q", got)
		}
	})
	t.Run("38_digit_decimal_and_huge_integer", func(t *testing.T) {
		cfg, schema := h.Config(t)
		r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"big","schema":{"type":"object","properties":{"id":{"type":"integer"},"d":{"type":"number"},"u":{"type":"integer","minimum":0,"maximum":18446744073709551615}}},"key_properties":["id"]}
{"type":"RECORD","stream":"big","record":{"id":1,"d":1234567890123456789012345678.9012345678,"u":18446744073709551615}}
`)
		if r.Code != 0 {
			t.Fatal(r.Stderr)
		}
		if got := h.Rows(t, schema, "big", []string{"id", "d", "u"}, "id"); strings.Join(got, ",") != "1|1234567890123456789012345678.9012345678|18446744073709551615" {
			t.Errorf("rows %q", got)
		}
	})
}

func TestSQLDatatypeOverride(t *testing.T) {
	connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"x","schema":{"type":"object","properties":{"id":{"type":"string","x-sql-datatype":"uuid"},"n":{"type":"integer","x-sql-datatype":"smallint"},"bad":{"type":"string","x-sql-datatype":"text; DROP TABLE x"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"x","record":{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","n":12,"bad":"b"}}
`)
	if r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	if got := h.Rows(t, schema, "x", []string{"id", "n", "bad"}, ""); strings.Join(got, ",") != "6f9619ff-8b86-d011-b42d-00c04fc964ff|12|b" {
		t.Errorf("rows %q", got)
	}
	conn := connect(t)
	var types string
	conn.QueryRow(context.Background(), `SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0`, pgx.Identifier{schema, "x"}.Sanitize()).Scan(&types)
	if types != "uuid,smallint,text" {
		t.Errorf("column types %s", types)
	}
}

// TestTimeEndOfDay: 24:00:00, which PostgreSQL's time holds and tap-postgres
// emits, passes validation (format "time") and lands as it is; a time after
// it is refused.
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
	if got := h.Rows(t, schema, "t", []string{"id", "at"}, "id"); strings.Join(got, ",") != "1|24:00:00,2|24:00:00,3|23:59:59.999999" {
		t.Errorf("rows %q", got)
	}
	cfg["validate_records"] = false
	r = sqltargettest.Run(t, h, cfg, sch+"\n"+`{"type":"RECORD","stream":"t","record":{"id":4,"at":"24:00:00.5"}}`+"\n")
	if want := `target-postgres: error: line 2: stream "t": column "at": "24:00:00.5" is not a time of day (hh:mm:ss)`; r.Code != 1 || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stderr %q", r.Code, r.Stderr)
	}
}

// TestIntegerBeyondBigint: an integer that does not fit bigint widens the
// column to numeric before the batch holding it loads; every value keeps
// its exact text, the rows before it included.
func TestIntegerBeyondBigint(t *testing.T) {
	conn := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	cfg["batch_size_rows"] = 2
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":["null","integer"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"n","record":{"id":1,"v":7}}
{"type":"RECORD","stream":"n","record":{"id":2,"v":9223372036854775807}}
{"type":"RECORD","stream":"n","record":{"id":3,"v":-9}}
{"type":"RECORD","stream":"n","record":{"id":4,"v":18446744073709551615}}
{"type":"RECORD","stream":"n","record":{"id":5,"v":123456789012345678901234567890}}
{"type":"RECORD","stream":"n","record":{"id":6,"v":1e40}}
{"type":"STATE","value":{"n":6}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := r.States(); len(got) != 1 || got[0] != `{"n":6}` {
		t.Errorf("states %q", got)
	}
	if !strings.Contains(r.Stderr, `line 5: stream "n": column v: 18446744073709551615 is beyond bigint: widening the column to take it`) {
		t.Errorf("stderr %s", r.Stderr)
	}
	var got []string
	rows, err := conn.Query(context.Background(), "SELECT id::text || '|' || v::text || '|' || format_type(pg_typeof(v), NULL) FROM "+pgx.Identifier{schema, "n"}.Sanitize()+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := "1|7|numeric,2|9223372036854775807|numeric,3|-9|numeric,4|18446744073709551615|numeric,5|123456789012345678901234567890|numeric,6|10000000000000000000000000000000000000000|numeric"
	if strings.Join(got, ",") != want {
		t.Errorf("rows\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	// The next run's SCHEMA still says integer: the column stays numeric.
	r = sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"n","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":["null","integer"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"n","record":{"id":7,"v":99999999999999999999}}
`)
	if r.Code != 0 {
		t.Fatalf("second run: exit %d: %s", r.Code, r.Stderr)
	}
	if got := h.Rows(t, schema, "n", []string{"id", "v"}, "id"); got[len(got)-1] != "7|99999999999999999999" {
		t.Errorf("rows %q", got)
	}
}

// TestForeignColumnNeverAltered: a column target-postgres did not create
// (bytea, made by hand) is never changed in a way that alters its values:
// strings for it stop the run with one line naming table, column, type and
// what to do, exit 1, no state; the table is as it was. A change that keeps
// every value (integer to bigint, varchar(n) to text) still goes ahead.
func TestForeignColumnNeverAltered(t *testing.T) {
	conn := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	ctx := context.Background()
	tbl := pgx.Identifier{schema, "files"}.Sanitize()
	execAll(t, conn,
		"CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE "+tbl+" (id bigint PRIMARY KEY, payload bytea, n integer, name varchar(5))",
		"INSERT INTO "+tbl+` VALUES (1, '\xdeadbeef', 7, 'abc')`,
	)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"files","schema":{"type":"object","properties":{"id":{"type":"integer"},"payload":{"type":["null","string"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"files","record":{"id":2,"payload":"text"}}
{"type":"STATE","value":{"n":2}}
`)
	want := `target-postgres: error: preparing table for stream "files": table "` + schema + `"."files", column "payload": its type bytea was not made by target-postgres, and taking string values would change it to text, altering the values it holds; change the column yourself (ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...), declare its type with x-sql-datatype, or load the stream into another table`
	if r.Code != 1 || r.Stdout != "" || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
	var typ, hex string
	if err := conn.QueryRow(ctx, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'payload'", tbl).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT encode(payload, 'hex') FROM "+tbl+" WHERE id = 1").Scan(&hex); err != nil {
		t.Fatal(err)
	}
	if typ != "bytea" || hex != "deadbeef" {
		t.Errorf("the column changed: %s %s", typ, hex)
	}
	// Widenings that keep every value go ahead on the user's columns.
	r = sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"files","schema":{"type":"object","properties":{"id":{"type":"integer"},"n":{"type":"number"},"name":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"files","record":{"id":3,"n":2.5,"name":"longer name"}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := h.Rows(t, schema, "files", []string{"id", "n", "name"}, "id"); strings.Join(got, ",") != "1|7|abc,3|2.5|longer name" {
		t.Errorf("rows %q", got)
	}
}

func TestOverwriteWidensReplacement(t *testing.T) {
	connect(t)
	sqltargettest.OverwriteWidensReplacement(t, harness{})
}

// A table made by pipelinewise-target-postgres (or a Meltano SDK target)
// has lower-case columns; properties spelled with capitals load into them
// instead of into new columns beside them. Two candidate columns are
// refused with one line, and nothing is loaded.
func TestColumnsOfAnotherCase(t *testing.T) {
	conn := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	tbl := pgx.Identifier{schema, "customers"}.Sanitize()
	amb := pgx.Identifier{schema, "ambiguous"}.Sanitize()
	execAll(t, conn,
		"CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE "+tbl+" (customerid bigint PRIMARY KEY, emailaddress text)",
		"INSERT INTO "+tbl+" VALUES (1, 'a@example.com')",
		"CREATE TABLE "+amb+` (id bigint PRIMARY KEY, name text, "NAME" text)`,
	)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"CustomerId":{"type":"integer"},"EmailAddress":{"type":["null","string"]},"Note":{"type":["null","string"]}}},"key_properties":["CustomerId"]}
{"type":"RECORD","stream":"customers","record":{"CustomerId":1,"EmailAddress":"b@example.com","Note":"n1"}}
{"type":"RECORD","stream":"customers","record":{"CustomerId":2,"EmailAddress":"c@example.com","Note":"n2"}}
{"type":"STATE","value":{"n":2}}
`)
	if r.Code != 0 || r.Stdout != "{\"n\":2}\n" {
		t.Fatalf("exit %d stdout %q stderr\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, p := range []string{"CustomerId", "EmailAddress"} {
		want := `stream "customers": property "` + p + `" loads into the existing column "` + strings.ToLower(p) + `" of "` + schema + `"."customers" (same name in another case)`
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if got := h.Columns(t, schema, "customers"); strings.Join(got, ",") != "customerid,emailaddress,Note" {
		t.Errorf("columns %q", got)
	}
	if got := h.Rows(t, schema, "customers", []string{"customerid", "emailaddress", "Note"}, "customerid"); strings.Join(got, ",") != "1|b@example.com|n1,2|c@example.com|n2" {
		t.Errorf("rows %q", got)
	}

	r = sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"ambiguous","schema":{"type":"object","properties":{"id":{"type":"integer"},"Name":{"type":["null","string"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"ambiguous","record":{"id":1,"Name":"x"}}
{"type":"STATE","value":{"n":3}}
`)
	want := `target-postgres: error: preparing table for stream "ambiguous": stream "ambiguous", property "Name": table "` + schema + `"."ambiguous" has no column "Name" but has 2 that differ from it only in case ("NAME", "name"); rename or drop all but one of them, or rename the property (e.g. with a stream map)`
	if r.Code != 1 || r.Stdout != "" || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
	if got := h.Columns(t, schema, "ambiguous"); strings.Join(got, ",") != "id,name,NAME" {
		t.Errorf("columns of the refused table %q", got)
	}
}

// TestPrepareTablesTogether: the tables of the SCHEMA messages after the
// first are prepared in one transaction (PrepareTables): new tables are
// made, existing ones evolved, each logged once; when one of the group
// cannot be prepared, the others are prepared on their own and the run
// stops with that table's error.
func TestPrepareTablesTogether(t *testing.T) {
	conn := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	cfg["max_parallel_flushes"] = 1
	ctx := context.Background()
	q := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	execAll(t, conn,
		"CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE "+q("keep")+" (id bigint PRIMARY KEY, a text)",
		"CREATE TABLE "+q("grow")+" (id bigint PRIMARY KEY, a text)",
		"INSERT INTO "+q("grow")+" VALUES (1, 'old')",
		"CREATE TABLE "+q("odd")+" (id bigint PRIMARY KEY, a bytea)",
	)
	schemaOf := func(stream, props string) string {
		return `{"type":"SCHEMA","stream":"` + stream + `","schema":{"type":"object","properties":{"id":{"type":"integer"},` + props + `}},"key_properties":["id"]}` + "\n"
	}
	ab := `"a":{"type":["null","string"]},"b":{"type":["null","integer"]}`
	in := schemaOf("keep", `"a":{"type":["null","string"]}`) + schemaOf("grow", ab) + schemaOf("new1", ab) + schemaOf("new2", ab) +
		`{"type":"RECORD","stream":"keep","record":{"id":1,"a":"k"}}
{"type":"RECORD","stream":"grow","record":{"id":2,"a":"g","b":7}}
{"type":"RECORD","stream":"new1","record":{"id":3,"a":"n","b":8}}
{"type":"RECORD","stream":"new2","record":{"id":4,"a":"m","b":9}}
{"type":"STATE","value":{"n":1}}
`
	r := sqltargettest.Run(t, h, cfg, in)
	if r.Code != 0 || r.Stdout != "{\"n\":1}\n" {
		t.Fatalf("exit %d stdout %q stderr\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for line, n := range map[string]int{
		`added column "b" bigint to ` + q("grow"):                       1,
		`created table ` + q("new1") + ` (3 columns) for stream "new1"`: 1,
		`created table ` + q("new2") + ` (3 columns) for stream "new2"`: 1,
		`created table`: 2,
	} {
		if got := strings.Count(r.Stderr, line); got != n {
			t.Errorf("%q logged %d times, want %d:\n%s", line, got, n, r.Stderr)
		}
	}
	// One transaction made both tables (the first SCHEMA's table is
	// prepared on its own, at once).
	var xmins int
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM pg_class WHERE relnamespace = $1::regnamespace AND relname IN ('new1', 'new2')`,
		pgx.Identifier{schema}.Sanitize()).Scan(&xmins); err != nil {
		t.Fatal(err)
	}
	if xmins != 1 {
		t.Errorf("new1 and new2 were made by %d transactions, want 1", xmins)
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

	// new3 and odd go together; odd cannot be prepared (its column a is
	// bytea, not made by target-postgres): new3 is made on its own, odd
	// stops the run with its own error, nothing is loaded.
	in = schemaOf("new2", ab) + schemaOf("new3", ab) + schemaOf("odd", `"a":{"type":["null","string"]}`) +
		`{"type":"RECORD","stream":"new3","record":{"id":5,"a":"x","b":1}}
{"type":"STATE","value":{"n":2}}
`
	r = sqltargettest.Run(t, h, cfg, in)
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	want := `target-postgres: error: preparing table for stream "odd": table ` + q("odd") + `, column "a": its type bytea was not made by target-postgres, and taking string values would change it to text, altering the values it holds; change the column yourself (ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...), declare its type with x-sql-datatype, or load the stream into another table`
	if r.Code != 1 || r.Stdout != "" || lines[len(lines)-1] != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant last line\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
	if n := strings.Count(r.Stderr, "created table "+q("new3")); n != 1 {
		t.Errorf("new3's creation logged %d times:\n%s", n, r.Stderr)
	}
	if got := h.Columns(t, schema, "new3"); strings.Join(got, ",") != "id,a,b" {
		t.Errorf("new3's columns %q", got)
	}
	if got := h.Rows(t, schema, "new3", []string{"id"}, "id"); len(got) != 0 {
		t.Errorf("new3 has rows %q", got)
	}
}

// TestDDLErrorNamesStatement: a table's DDL goes to the server as one
// query; the statement that fails is the one the error names (here the
// second: adding b succeeds, changing n is refused because a view uses
// it), the run stops before loading, and the rolled-back column b is
// neither in the table nor in the log.
func TestDDLErrorNamesStatement(t *testing.T) {
	conn := connect(t)
	h := harness{}
	cfg, schema := h.Config(t)
	tbl := pgx.Identifier{schema, "v"}.Sanitize()
	execAll(t, conn,
		"CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE "+tbl+" (id bigint PRIMARY KEY, n integer)",
		"CREATE VIEW "+pgx.Identifier{schema, "v_view"}.Sanitize()+" AS SELECT n FROM "+tbl,
	)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"v","schema":{"type":"object","properties":{"id":{"type":"integer"},"b":{"type":["null","string"]},"n":{"type":["null","number"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"v","record":{"id":1,"b":"x","n":2.5}}
{"type":"STATE","value":{"n":1}}
`)
	want := `target-postgres: error: preparing table for stream "v": changing column "n" of ` + tbl + ` from integer to numeric: ERROR: cannot alter type of a column used by a view or rule (SQLSTATE 0A000)`
	if r.Code != 1 || r.Stdout != "" || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
	if got := h.Columns(t, schema, "v"); strings.Join(got, ",") != "id,n" {
		t.Errorf("columns %q", got)
	}
}

// TestLoadsTogether: loads queued on a loader while it loads go in one
// transaction (LoadMany). The first load is held by a lock on table a, so
// b's, c's and a's second batch queue behind it: the four batches take at
// most two transactions (four without grouping). A group with a batch
// the server refuses is loaded batch by batch: the run stops with that
// batch's own error, the batches before it committed.
func TestLoadsTogether(t *testing.T) {
	for _, bad := range []bool{false, true} {
		t.Run(fmt.Sprintf("bad=%v", bad), func(t *testing.T) {
			conn := connect(t)
			h := harness{}
			cfg, schema := h.Config(t)
			cfg["max_parallel_flushes"] = 1
			cfg["batch_size_rows"] = 2
			cfg["load_method"] = "append"
			ctx := context.Background()
			q := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
			stmts := []string{"CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()}
			for _, s := range []string{"a", "b", "c"} {
				stmts = append(stmts, "CREATE TABLE "+q(s)+" (id bigint, v text)")
			}
			if bad {
				stmts = append(stmts, "ALTER TABLE "+q("c")+" ADD CONSTRAINT no_c6 CHECK (v <> 'c6')")
			}
			execAll(t, conn, stmts...)
			locker := connect(t)
			if _, err := locker.Exec(ctx, "BEGIN; LOCK TABLE "+q("a")+" IN SHARE MODE"); err != nil {
				t.Fatal(err)
			}
			tp := sqltargettest.StartTarget(t, h, cfg)
			tp.Write(sqltargettest.GroupedInput(`[]`), true)
			testenv.WaitFor(t, "the first load to wait for the lock on a", func() bool {
				var waiting int
				if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass", q("a")).Scan(&waiting); err != nil {
					t.Fatal(err)
				}
				return waiting > 0
			})
			if _, err := locker.Exec(ctx, "COMMIT"); err != nil {
				t.Fatal(err)
			}
			code := tp.Wait(t)
			states, stderr := strings.Join(tp.States(), ","), tp.Stderr()
			rows := func(table string) string {
				return strings.Join(h.Rows(t, schema, table, []string{"id", "v"}, "id"), ",")
			}
			if !bad {
				if code != 0 || states != `{"pos":8}` {
					t.Fatalf("exit %d states %q stderr\n%s", code, states, stderr)
				}
				for table, want := range map[string]string{"a": "1|a1,2|a2,7|a7,8|a8", "b": "3|b3,4|b4", "c": "5|c5,6|c6"} {
					if got := rows(table); got != want {
						t.Errorf("table %s: %s, want %s", table, got, want)
					}
				}
				var txs int
				if err := conn.QueryRow(ctx, "SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM "+q("a")+" UNION ALL SELECT xmin FROM "+q("b")+" UNION ALL SELECT xmin FROM "+q("c")+") x").Scan(&txs); err != nil {
					t.Fatal(err)
				}
				if txs > 2 {
					t.Errorf("the four batches took %d transactions, want at most 2", txs)
				}
				return
			}
			want := `target-postgres: error: loading 2 records of stream "c" into c: COPY failed: new row for relation "c" violates check constraint "no_c6" (COPY c, line 2) (SQLSTATE 23514)`
			if code != 1 || states != "" || !strings.Contains(stderr, want) {
				t.Errorf("exit %d states %q stderr\n%s\nwant %s", code, states, stderr, want)
			}
			for table, want := range map[string]string{"a": "1|a1,2|a2", "b": "3|b3,4|b4", "c": ""} {
				if got := rows(table); got != want {
					t.Errorf("table %s: %q, want %q", table, got, want)
				}
			}
		})
	}
}
