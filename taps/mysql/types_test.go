package mysql

import (
	"context"
	"fmt"
	"testing"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// datatypeCases is the type table as a test: column type, the discovered
// schema of the column, an input SQL literal, and the emitted JSON value.
var datatypeCases = []struct {
	name, sqlType, schema, input, want string
}{
	{"tinyint(1) as boolean", "tinyint(1)", `{"type":["null","boolean"]}`, "1", "true"},
	{"tinyint(1) zero", "tinyint(1)", `{"type":["null","boolean"]}`, "0", "false"},
	{"bool", "bool", `{"type":["null","boolean"]}`, "true", "true"},
	{"tinyint", "tinyint", `{"type":["null","integer"],"minimum":-128,"maximum":127}`, "-128", "-128"},
	{"tinyint unsigned", "tinyint unsigned", `{"type":["null","integer"],"minimum":0,"maximum":255}`, "255", "255"},
	{"smallint", "smallint", `{"type":["null","integer"],"minimum":-32768,"maximum":32767}`, "-32768", "-32768"},
	{"smallint unsigned", "smallint unsigned", `{"type":["null","integer"],"minimum":0,"maximum":65535}`, "65535", "65535"},
	{"mediumint", "mediumint", `{"type":["null","integer"],"minimum":-8388608,"maximum":8388607}`, "-8388608", "-8388608"},
	{"mediumint unsigned", "mediumint unsigned", `{"type":["null","integer"],"minimum":0,"maximum":16777215}`, "16777215", "16777215"},
	{"int", "int", `{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}`, "2147483647", "2147483647"},
	{"int not null", "int NOT NULL", `{"type":"integer","minimum":-2147483648,"maximum":2147483647}`, "7", "7"},
	{"int null", "int", `{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}`, "NULL", "null"},
	{"int unsigned", "int unsigned", `{"type":["null","integer"],"minimum":0,"maximum":4294967295}`, "4294967295", "4294967295"},
	{"bigint", "bigint", `{"type":["null","integer"],"minimum":-9223372036854775808,"maximum":9223372036854775807}`, "-9223372036854775808", "-9223372036854775808"},
	{"bigint unsigned beyond int64", "bigint unsigned", `{"type":["null","integer"],"minimum":0,"maximum":18446744073709551615}`, "18446744073709551615", "18446744073709551615"},
	{"decimal(10,2)", "decimal(10,2)", `{"type":["null","number"],"multipleOf":0.01,"maximum":100000000,"exclusiveMaximum":true,"minimum":-100000000,"exclusiveMinimum":true}`, "-12345678.91", "-12345678.91"},
	{"decimal(65,30) exact", "decimal(65,30)", `{"type":["null","number"],"multipleOf":0.000000000000000000000000000001,"maximum":100000000000000000000000000000000000,"exclusiveMaximum":true,"minimum":-100000000000000000000000000000000000,"exclusiveMinimum":true}`, "12345678901234567890.123456789012345678901234567891", "12345678901234567890.123456789012345678901234567891"},
	{"decimal(5,0)", "decimal(5,0)", `{"type":["null","number"],"multipleOf":1,"maximum":100000,"exclusiveMaximum":true,"minimum":-100000,"exclusiveMinimum":true}`, "99999", "99999"},
	{"decimal unsigned", "decimal(4,1) unsigned", `{"type":["null","number"],"multipleOf":0.1,"maximum":1000,"exclusiveMaximum":true,"minimum":0}`, "1.5", "1.5"},
	{"float", "float", `{"type":["null","number"]}`, "1.5", "1.5"},
	{"float beyond 6 digits", "float", `{"type":["null","number"]}`, "16777218", "1.6777218e+07"},
	{"float 0.7", "float", `{"type":["null","number"]}`, "0.7", "0.7"},
	{"float 1.0000001", "float", `{"type":["null","number"]}`, "1.0000001", "1.0000001"},
	{"double", "double", `{"type":["null","number"]}`, "0.1", "0.1"},
	{"double big", "double", `{"type":["null","number"]}`, "1e300", "1e+300"},
	{"bit(1)", "bit(1)", `{"type":["null","boolean"]}`, "b'1'", "true"},
	{"bit(10)", "bit(10)", `{"type":["null","integer"],"minimum":0,"maximum":1023}`, "b'1000000001'", "513"},
	{"bit(64)", "bit(64)", `{"type":["null","integer"],"minimum":0,"maximum":18446744073709551615}`, "18446744073709551615", "18446744073709551615"},
	{"char(3)", "char(3)", `{"type":["null","string"],"maxLength":3}`, "'ab'", `"ab"`},
	{"varchar(5)", "varchar(5)", `{"type":["null","string"],"maxLength":5}`, "'abcdé'", `"abcdé"`},
	{"text escapes", "text", `{"type":["null","string"],"maxLength":65535}`, `'line1\nsaid "hi" \\ \t'`, `"line1\nsaid \"hi\" \\ \t"`},
	{"tinytext", "tinytext", `{"type":["null","string"],"maxLength":255}`, "'x'", `"x"`},
	{"longtext", "longtext", `{"type":["null","string"],"maxLength":4294967295}`, "'x'", `"x"`},
	{"binary(4)", "binary(4)", `{"type":["null","string"]}`, "x'deadbeef'", `"deadbeef"`},
	{"varbinary", "varbinary(10)", `{"type":["null","string"]}`, "x'00ff'", `"00ff"`},
	{"blob", "blob", `{"type":["null","string"]}`, "x'0a0d22'", `"0a0d22"`},
	{"enum", "enum('sad','happy')", `{"type":["null","string"],"enum":["sad","happy",null]}`, "'happy'", `"happy"`},
	{"set", "set('a','b','c')", `{"type":["null","string"]}`, "'a,c'", `"a,c"`},
	{"json object", "json", `{"type":["null","object","array","string","number","boolean"]}`, `'{"a": [1, 2],` + "\n" + ` "b": null}'`, `{"a":[1,2],"b":null}`},
	{"json scalar", "json", `{"type":["null","object","array","string","number","boolean"]}`, `'"s"'`, `"s"`},
	{"date", "date", `{"type":["null","string"],"format":"date"}`, "'2024-02-29'", `"2024-02-29"`},
	{"date not null is nullable", "date NOT NULL", `{"type":["null","string"],"format":"date"}`, "'2024-01-01'", `"2024-01-01"`},
	{"zero date", "date", `{"type":["null","string"],"format":"date"}`, "'0000-00-00'", "null"},
	{"zero month date", "date", `{"type":["null","string"],"format":"date"}`, "'2024-00-10'", "null"},
	{"datetime", "datetime(6)", `{"type":["null","string"],"format":"date-time"}`, "'2024-01-02 03:04:05.123456'", `"2024-01-02T03:04:05.123456Z"`},
	{"zero datetime", "datetime", `{"type":["null","string"],"format":"date-time"}`, "'0000-00-00 00:00:00'", "null"},
	{"timestamp in UTC", "timestamp NULL", `{"type":["null","string"],"format":"date-time"}`, "'2024-01-02 03:04:05'", `"2024-01-02T01:04:05Z"`},
	{"time", "time", `{"type":["null","string"]}`, "'-838:59:59'", `"-838:59:59"`},
	{"time fraction", "time(3)", `{"type":["null","string"]}`, "'12:34:56.789'", `"12:34:56.789"`},
	{"year", "year", `{"type":["null","integer"],"minimum":0,"maximum":2155}`, "2024", "2024"},
}

// TestDatatypes runs the type table against the server: each case is a
// table (id, v) with one row; the discovered schema of v and the emitted
// value of v must be exactly the expected ones, and the output passes
// check.Check (in sqltaptest.Sync).
func TestDatatypes(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(s string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// Zero and invalid dates need a permissive mode; timestamps are
	// written at +02:00 and must come out in UTC.
	exec("SET SESSION sql_mode = 'ALLOW_INVALID_DATES', time_zone = '+02:00'")
	for i, c := range datatypeCases {
		tbl := quoteIdent(name) + "." + quoteIdent(fmt.Sprintf("c%02d", i))
		exec(fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY, v %s)", tbl, c.sqlType))
		exec(fmt.Sprintf("INSERT INTO %s VALUES (1, %s)", tbl, c.input))
	}
	var dts []sqltaptest.Datatype
	for _, c := range datatypeCases {
		dts = append(dts, sqltaptest.Datatype{Name: c.name, SQLType: c.sqlType, Schema: c.schema, Input: c.input, Want: c.want})
	}
	sqltaptest.CheckDatatypes(t, &sqltaptest.Env{Driver: testDriver(t, name)}, name, dts, nil)
}

// TestGeometryUnsupported: geometry columns are discovered as unsupported
// and never read; the rest of the table syncs.
func TestGeometryUnsupported(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	tbl := quoteIdent(name) + ".shapes"
	for _, s := range []string{
		"CREATE TABLE " + tbl + " (id int PRIMARY KEY, g geometry, p point)",
		"INSERT INTO " + tbl + " VALUES (1, ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(3 4)'))",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	cat := sqltaptest.Discover(t, env)
	id := name + "-shapes"
	for _, col := range []string{"g", "p"} {
		if inc := cat.Stream(id).Metadata.Inclusion(singer.PropertyBreadcrumb(col)); inc != singer.InclusionUnsupported {
			t.Errorf("%s inclusion = %q, want unsupported", col, inc)
		}
	}
	sqltaptest.Select(t, cat, "", "", id)
	lines, err := sqltaptest.Sync(t, env, sqltaptest.Options(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":{"id":1},"version":%d,"time_extracted":"2024-05-06T07:08:09Z"}`, id, sqltaptest.Version)
	found := false
	for _, l := range lines {
		found = found || l == want
	}
	if !found {
		t.Errorf("no line %s in:\n%s", want, lines)
	}
}
