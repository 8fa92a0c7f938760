package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestDatatypes runs the type table against the server: each case is a
// table (id, v) with one row; the discovered schema of v and the emitted
// value of v must be exactly the expected ones, and the output must pass
// check.Check.
func TestDatatypes(t *testing.T) {
	const (
		intSchema      = `{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}`
		numberSchema   = `{"type":["null","number"]}`
		stringSchema   = `{"type":["null","string"]}`
		dateSchema     = `{"type":["null","string"],"format":"date"}`
		dateTimeSchema = `{"type":["null","string"],"format":"date-time"}`
		timeSchema     = `{"type":["null","string"],"format":"time"}`
		jsonSchema     = `{"type":["null","object","array","string","number","boolean"]}`
	)
	cases := []struct {
		name, sqlType, schema, input, want string
	}{
		{"smallint", "smallint", `{"type":["null","integer"],"minimum":-32768,"maximum":32767}`, "-32768", "-32768"},
		{"integer", "integer", intSchema, "2147483647", "2147483647"},
		{"integer not null", "integer NOT NULL", `{"type":"integer","minimum":-2147483648,"maximum":2147483647}`, "7", "7"},
		{"bigint", "bigint", `{"type":["null","integer"],"minimum":-9223372036854775808,"maximum":9223372036854775807}`, "9223372036854775807", "9223372036854775807"},
		{"null", "integer", intSchema, "NULL", "null"},
		{"numeric(10,2)", "numeric(10,2)", `{"type":["null","number"],"multipleOf":0.01,"maximum":100000000,"exclusiveMaximum":true,"minimum":-100000000,"exclusiveMinimum":true}`, "-12345678.91", "-12345678.91"},
		{"numeric(5,0)", "numeric(5,0)", `{"type":["null","number"],"multipleOf":1,"maximum":100000,"exclusiveMaximum":true,"minimum":-100000,"exclusiveMinimum":true}`, "99999", "99999"},
		{"numeric exact", "numeric", numberSchema, "123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"},
		{"numeric NaN", "numeric", numberSchema, "'NaN'", "null"},
		{"real", "real", numberSchema, "1.5", "1.5"},
		{"double", "double precision", numberSchema, "0.1", "0.1"},
		{"double big", "double precision", numberSchema, "1e300", "1e+300"},
		{"double NaN", "double precision", numberSchema, "'NaN'", "null"},
		{"double Infinity", "double precision", numberSchema, "'-Infinity'", "null"},
		{"money", "money", stringSchema, "12.34", `"$12.34"`},
		{"boolean", "boolean", `{"type":["null","boolean"]}`, "true", "true"},
		{"text", "text", stringSchema, `E'line1\nsaid "hi" \\ é'`, `"line1\nsaid \"hi\" \\ é"`},
		{"varchar(5)", "varchar(5)", `{"type":["null","string"],"maxLength":5}`, "'abcde'", `"abcde"`},
		{"char(3)", "char(3)", `{"type":["null","string"],"maxLength":3}`, "'ab'", `"ab "`},
		{"uuid", "uuid", `{"type":["null","string"],"format":"uuid"}`, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"json object", "json", jsonSchema, `'{"a": [1, 2],` + "\n" + ` "b": null}'`, `{"a":[1,2],"b":null}`},
		{"json scalar", "json", jsonSchema, `'"s"'`, `"s"`},
		{"jsonb", "jsonb", jsonSchema, `'{"b": 1, "a": "x\ny"}'`, `{"a": "x\ny", "b": 1}`},
		{"integer[]", "integer[]", `{"type":["null","array"],"items":{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}}`, "'{1,2,NULL}'", "[1,2,null]"},
		{"text[]", "text[]", `{"type":["null","array"],"items":{"type":["null","string"]}}`, `ARRAY['a,b', 'c"d', 'NULL', '', 'x\y']`, `["a,b","c\"d","NULL","","x\\y"]`},
		{"empty array", "text[]", `{"type":["null","array"],"items":{"type":["null","string"]}}`, "'{}'", "[]"},
		{"jsonb[]", "jsonb[]", `{"type":["null","array"],"items":{"type":["null","object","array","string","number","boolean"]}}`, `ARRAY['{"a": 1}'::jsonb, '[2]']`, `[{"a": 1},[2]]`},
		{"numeric(4,1)[]", "numeric(4,1)[]", `{"type":["null","array"],"items":{"type":["null","number"],"multipleOf":0.1,"maximum":1000,"exclusiveMaximum":true,"minimum":-1000,"exclusiveMinimum":true}}`, "'{1.5,-2}'", "[1.5,-2.0]"},
		{"timestamptz[]", "timestamptz[]", `{"type":["null","array"],"items":{"type":["null","string"],"format":"date-time"}}`, `ARRAY['2024-01-02 03:04:05+00'::timestamptz]`, `["2024-01-02T03:04:05Z"]`},
		{"integer[][]", "integer[][]", `{"type":["null","array"],"items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}}]}}`, "'{{1,2},{3,NULL}}'", "[[1,2],[3,null]]"},
		{"text[][]", "text[][]", `{"type":["null","array"],"items":{"anyOf":[{"type":["null","string"]},{"type":"array","items":{"type":["null","string"]}}]}}`, `'{{"a b",c},{"d,e",NULL}}'`, `[["a b","c"],["d,e",null]]`},
		{"integer[][] holding one dimension", "integer[][]", `{"type":["null","array"],"items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}}]}}`, "'{1,2}'", "[1,2]"},
		{"text[][][]", "text[][][]", `{"type":["null","array"],"items":{"anyOf":[{"type":["null","string"]},{"type":"array","items":{"anyOf":[{"type":["null","string"]},{"type":"array","items":{"type":["null","string"]}}]}}]}}`, `'{{{a},{b}},{{c},{d}}}'`, `[[["a"],["b"]],[["c"],["d"]]]`},
		{"domain over int[] (dimensions unknown)", "ints", `{"type":["null","array"],"items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"anyOf":[{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},{"type":"array","items":{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}}]}}]}}]}}]}}]}}`, "'{{1},{2}}'", "[[1],[2]]"},
		{"bytea", "bytea", stringSchema, `'\xdeadbeef'`, `"deadbeef"`},
		{"date", "date", dateSchema, "'2024-02-29'", `"2024-02-29"`},
		{"date infinity", "date", dateSchema, "'infinity'", `"9999-12-31"`},
		{"date -infinity", "date", dateSchema, "'-infinity'", `"0001-01-01"`},
		{"date BC", "date", dateSchema, "'0044-03-15 BC'", "null"},
		{"date beyond 9999", "date", dateSchema, "'12345-01-01'", "null"},
		{"time", "time", timeSchema, "'12:34:56.789'", `"12:34:56.789"`},
		{"timetz", "timetz", timeSchema, "'12:34:56+02'", `"12:34:56+02:00"`},
		{"timetz minutes", "timetz", timeSchema, "'12:34:56-05:30'", `"12:34:56-05:30"`},
		{"time end of day", "time", timeSchema, "'24:00:00'", `"24:00:00"`},
		{"timetz end of day", "timetz", timeSchema, "'24:00:00+02'", `"24:00:00+02:00"`},
		{"timestamp", "timestamp", dateTimeSchema, "'2024-01-02 03:04:05.123456'", `"2024-01-02T03:04:05.123456Z"`},
		{"timestamp infinity", "timestamp", dateTimeSchema, "'infinity'", `"9999-12-31T23:59:59.999999Z"`},
		{"timestamptz", "timestamptz", dateTimeSchema, "'2024-01-02 03:04:05+02'", `"2024-01-02T01:04:05Z"`},
		{"timestamptz -infinity", "timestamptz", dateTimeSchema, "'-infinity'", `"0001-01-01T00:00:00Z"`},
		{"interval", "interval", stringSchema, "'1 day 02:00:00'", `"1 day 02:00:00"`},
		{"inet", "inet", stringSchema, "'192.168.0.1/24'", `"192.168.0.1/24"`},
		{"cidr", "cidr", stringSchema, "'10.0.0.0/8'", `"10.0.0.0/8"`},
		{"macaddr", "macaddr", stringSchema, "'08:00:2b:01:02:03'", `"08:00:2b:01:02:03"`},
		{"bit(4)", "bit(4)", stringSchema, "B'1010'", `"1010"`},
		{"varbit", "bit varying", stringSchema, "B'101'", `"101"`},
		{"enum", "mood", stringSchema, "'happy'", `"happy"`},
		{"domain", "price", `{"type":["null","number"],"multipleOf":0.01,"maximum":1000,"exclusiveMaximum":true,"minimum":-1000,"exclusiveMinimum":true}`, "9.99", "9.99"},
		{"int4range", "int4range", stringSchema, "'[1,5)'", `"[1,5)"`},
		{"tsvector", "tsvector", stringSchema, "'a fat cat'", `"'a' 'cat' 'fat'"`},
		{"xml", "xml", stringSchema, "'<a>1</a>'", `"<a>1</a>"`},
		{"point", "point", stringSchema, "'(1,2)'", `"(1,2)"`},
		{"hstore", "hstore", stringSchema, `'a=>1'`, `"\"a\"=>\"1\""`},
	}
	conn := connect(t)
	schema := testSchema(t, conn)
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	q := pgx.Identifier{schema}.Sanitize()
	exec("SET search_path = " + q)
	exec("CREATE EXTENSION IF NOT EXISTS hstore SCHEMA " + q)
	exec("CREATE TYPE mood AS ENUM ('sad', 'happy')")
	exec("CREATE DOMAIN price AS numeric(5,2)")
	exec("CREATE DOMAIN ints AS integer[]")
	for i, c := range cases {
		tbl := pgx.Identifier{schema, fmt.Sprintf("c%02d", i)}.Sanitize()
		exec(fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY, v %s)", tbl, c.sqlType))
		exec(fmt.Sprintf("INSERT INTO %s VALUES (1, %s)", tbl, c.input))
	}
	var dts []sqltaptest.Datatype
	for _, c := range cases {
		dts = append(dts, sqltaptest.Datatype{Name: c.name, SQLType: c.sqlType, Schema: c.schema, Input: c.input, Want: c.want})
	}
	sqltaptest.CheckDatatypes(t, &sqltaptest.Env{Driver: testDriver(t, schema)}, schema, dts, func(c sqltaptest.Datatype, dt string) bool { return !strings.Contains(dt, "\"") || c.Name == "enum" })
}
