package duckdb

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// TestNestedTypeTable: property schema -> column type with object_columns
// struct, and what stays JSON.
func TestNestedTypeTable(t *testing.T) {
	cases := []struct{ schema, want string }{
		{`{"type":"object","properties":{"b":{"type":"integer"},"a":{"type":["null","string"]}}}`, `STRUCT("a" VARCHAR, "b" BIGINT)`},
		{`{"anyOf":[{"type":"null"},{"type":"object","properties":{"at":{"type":"string","format":"date-time"},"n":{"type":"number"}}}]}`, `STRUCT("at" TIMESTAMP WITH TIME ZONE, "n" DECIMAL(38,9))`},
		{`{"type":"array","items":{"type":"integer"}}`, `BIGINT[]`},
		{`{"type":"array","items":{"type":"array","items":{"type":"string","format":"date"}}}`, `DATE[][]`},
		{`{"type":"array","items":{"type":"object","properties":{"p":{"type":"number","multipleOf":0.01,"maximum":1e10,"minimum":-1e10},"x":{}}}}`, `STRUCT("p" DECIMAL(12,2), "x" JSON)[]`},
		{`{"type":"object","properties":{"my Key":{"type":"boolean"},"q\"r":{"type":"object","properties":{"t":{"type":"string","format":"time"}}}}}`, `STRUCT("my Key" BOOLEAN, "q""r" STRUCT("t" TIME))`},
		// Stay JSON.
		{`{"type":"object"}`, `JSON`},
		{`{"type":"object","properties":{"a":{"type":"string"},"A":{"type":"string"}}}`, `JSON`},
		{`{"type":"array","items":{"type":["string","integer"]}}`, `VARCHAR[]`}, // the type table's rule for mixed scalars
		{`{"type":"array"}`, `JSON`},
		{`{"type":["object","array"]}`, `JSON`},
	}
	d := &Dialect{cfg: &Config{ObjectColumns: ObjectColumnsStruct}}
	for _, c := range cases {
		var schema map[string]any
		dec := json.NewDecoder(strings.NewReader(c.schema))
		dec.UseNumber()
		if err := dec.Decode(&schema); err != nil {
			t.Fatal(err)
		}
		col := &sqltarget.Column{Name: "c", Type: sqltarget.LogicalTypeOf(schema), Schema: schema}
		if got := d.columnType(col); got != c.want {
			t.Errorf("%s: got %s, want %s", c.schema, got, c.want)
		}
		if c.want != "JSON" {
			if got := (&Dialect{cfg: &Config{}}).columnType(col); got != "JSON" {
				t.Errorf("%s with object_columns json: got %s, want JSON", c.schema, got)
			}
			col.Key = true
			if got := d.columnType(col); got != "JSON" {
				t.Errorf("%s as a key column: got %s, want JSON", c.schema, got)
			}
		}
	}
}

// TestParseType reads DuckDB's data_type of nested columns back into the
// type, and refuses the nested types target-duckdb does not encode.
func TestParseType(t *testing.T) {
	in := `STRUCT(a BIGINT, "my Key" VARCHAR, "x""y" DATE, n STRUCT(z TIME)[], l VARCHAR[][], j JSON, d DECIMAL(20,4), ts TIMESTAMP WITH TIME ZONE)`
	typ, err := parseType(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `STRUCT("a" BIGINT, "my Key" VARCHAR, "x""y" DATE, "n" STRUCT("z" TIME)[], "l" VARCHAR[][], "j" JSON, "d" DECIMAL(20,4), "ts" TIMESTAMP WITH TIME ZONE)`
	if got := typ.text(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if d := typ.fields[6].t.enc; d.kind != physDecimal || d.prec != 20 || d.scale != 4 {
		t.Errorf("DECIMAL(20,4) leaf: %+v", d)
	}
	for _, bad := range []string{`MAP(VARCHAR, INTEGER)`, `INTEGER[3]`, `STRUCT(a UNION(x INTEGER, y VARCHAR))`, `STRUCT(a BIGINT`} {
		if _, err := parseType(bad); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}

// runTargetExit runs target-duckdb in-process and returns its exit code,
// stdout and stderr.
func runTargetExit(t *testing.T, cfg map[string]any, input string) (int, string, string) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.RunTarget(context.Background(), Spec(), []string{"--config", path}, strings.NewReader(input), &out, &errOut)
	return code, out.String(), errOut.String()
}

const orderSchema = `{"type":"SCHEMA","stream":"orders","key_properties":["id"],"schema":{"type":"object","properties":{` +
	`"id":{"type":"integer"},` +
	`"payload":{"type":["null","object"],"properties":{` +
	`"amount":{"type":"number"},"big":{"type":"integer"},"at":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"},` +
	`"tags":{"type":"array","items":{"type":["null","string"]}},` +
	`"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"},"price":{"type":["null","number"]}}}},` +
	`"meta":{"type":"object"},"flag":{"type":"boolean"}}},` +
	`"items":{"type":["null","array"],"items":{"type":["null","integer"]}},` +
	`"loose":{"type":"object"}}}}`

// TestStructColumns loads objects and arrays into STRUCT and LIST columns
// and reads back every value exactly: 29-digit decimals, 64-bit integers,
// instants in UTC, NULL elements and missing fields, a JSON field kept as
// its text; then upserts by key (a key repeated in one batch, and a later
// batch), which goes through the merge statements.
func TestStructColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.duckdb")
	cfg := map[string]any{"path": path, "object_columns": "struct"}
	input := orderSchema + "\n" +
		`{"type":"RECORD","stream":"orders","record":{"id":1,"payload":{"amount":12345678901234567890.123456789,"big":9223372036854775807,"at":"2024-01-02T03:04:05.1234567+02:00","day":"2024-02-29","tags":["a",null,"c\"d"],"lines":[{"sku":"x","qty":2,"price":1.5},{"sku":"y","qty":-1}],"meta":{"k":[1,2.50,"\u00e9",12345678901234567890123.50]},"flag":true},"items":[1,2,3],"loose":{"z":1e400}}}` + "\n" +
		`{"type":"RECORD","stream":"orders","record":{"id":2,"payload":null,"items":[]}}` + "\n" +
		`{"type":"RECORD","stream":"orders","record":{"id":3,"payload":{},"items":null}}` + "\n" +
		`{"type":"RECORD","stream":"orders","record":{"id":3,"payload":{"lines":[]},"items":[null,-9223372036854775808]}}` + "\n" +
		`{"type":"STATE","value":{"n":1}}` + "\n"
	if out := runTarget(t, cfg, input); out != `{"n":1}`+"\n" {
		t.Fatalf("stdout %q", out)
	}
	types := queryRows(t, path, `SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'orders' ORDER BY column_index`)
	expectRows(t, types, []string{
		"id|BIGINT",
		`payload|STRUCT(amount DECIMAL(38,9), "at" TIMESTAMP WITH TIME ZONE, big BIGINT, "day" DATE, flag BOOLEAN, lines STRUCT(price DECIMAL(38,9), qty BIGINT, sku VARCHAR)[], meta JSON, tags VARCHAR[])`,
		"items|BIGINT[]",
		"loose|JSON",
	})
	q := `SELECT id, payload::VARCHAR, items::VARCHAR, loose::VARCHAR, payload.amount::VARCHAR, payload.meta::VARCHAR FROM orders ORDER BY id`
	expectRows(t, queryRows(t, path, q), []string{
		`1|{'amount': 12345678901234567890.123456789, 'at': '2024-01-02 01:04:05.123457+00', 'big': 9223372036854775807, 'day': 2024-02-29, 'flag': true, 'lines': [{'price': 1.500000000, 'qty': 2, 'sku': x}, {'price': NULL, 'qty': -1, 'sku': y}], 'meta': '{"k":[1,2.50,"\\u00e9",12345678901234567890123.50]}', 'tags': [a, NULL, 'c"d']}|[1, 2, 3]|{"z":1e400}|12345678901234567890.123456789|{"k":[1,2.50,"\u00e9",12345678901234567890123.50]}`,
		`2|<nil>|[]|<nil>|<nil>|<nil>`,
		`3|{'amount': NULL, 'at': NULL, 'big': NULL, 'day': NULL, 'flag': NULL, 'lines': [], 'meta': NULL, 'tags': NULL}|[NULL, -9223372036854775808]|<nil>|<nil>|<nil>`,
	})

	// target-duckdb query shows STRUCT and LIST values as DuckDB's text.
	var qo, qe bytes.Buffer
	if code := Query(context.Background(), []string{"--path", path, "SELECT id, payload, items FROM orders WHERE id = 1"}, &qo, &qe); code != 0 {
		t.Fatalf("query: exit %d: %s", code, qe.String())
	}
	if want := `1  | {'amount': 12345678901234567890.123456789, 'at': '2024-01-02 01:04:05.123457+00', 'big': 9223372036854775807, 'day': 2024-02-29, 'flag': true, 'lines': [{'price': 1.500000000, 'qty': 2, 'sku': x}, {'price': NULL, 'qty': -1, 'sku': y}], 'meta': '{"k":[1,2.50,"\\u00e9",12345678901234567890123.50]}', 'tags': [a, NULL, 'c"d']} | [1, 2, 3]`; !strings.Contains(qo.String(), want) {
		t.Errorf("query printed\n%s\nwant a row\n%s", qo.String(), want)
	}

	// A later run updates key 1 (the merge from the stage).
	input = orderSchema + "\n" +
		`{"type":"RECORD","stream":"orders","record":{"id":1,"payload":{"amount":-0.000000001,"lines":[{"sku":"z","qty":0}]},"items":[7]}}` + "\n" +
		`{"type":"STATE","value":{"n":2}}` + "\n"
	if out := runTarget(t, cfg, input); out != `{"n":2}`+"\n" {
		t.Fatalf("stdout %q", out)
	}
	expectRows(t, queryRows(t, path, `SELECT id, payload::VARCHAR, items::VARCHAR FROM orders WHERE id = 1`), []string{
		`1|{'amount': -0.000000001, 'at': NULL, 'big': NULL, 'day': NULL, 'flag': NULL, 'lines': [{'price': NULL, 'qty': 0, 'sku': z}], 'meta': NULL, 'tags': NULL}|[7]`,
	})
}

// TestStructValueErrors: a value a STRUCT or LIST cannot hold stops the
// run with one line naming the stream, the record's line, the column and
// the path inside it; no state is printed.
func TestStructValueErrors(t *testing.T) {
	cases := []struct{ record, want string }{
		{`{"id":1,"payload":{"lines":[{"sku":"x","qty":2},{"sku":"y","qty":1.5}]}}`, `column "payload".lines[1].qty: 1.5 is out of range for the column (-9223372036854775808 to 9223372036854775807)`},
		{`{"id":1,"payload":{"amount":1.0000000001}}`, `column "payload".amount: 1.0000000001 has more than 9 decimal places (the column is DECIMAL(38,9); no silent rounding)`},
		{`{"id":1,"payload":{"lines":[{"sku":"x","colour":"red","size":1}]}}`, `column "payload".lines[0]: the STRUCT has no field "colour"; declare the property in the stream's schema (a new field is added), or use object_columns json`},
		{`{"id":1,"payload":{"at":"yesterday"}}`, `column "payload".at: "yesterday" is not an RFC 3339 date-time`},
		{`{"id":1,"items":{"a":1}}`, `column "items": {"a":1} is not an array (the column is a LIST)`},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "e.duckdb")
		cfg := map[string]any{"path": path, "object_columns": "struct", "validate_records": false}
		input := orderSchema + "\n" +
			`{"type":"RECORD","stream":"orders","record":{"id":9}}` + "\n" +
			`{"type":"RECORD","stream":"orders","record":` + c.record + `}` + "\n" +
			`{"type":"STATE","value":{"n":1}}` + "\n"
		code, out, errOut := runTargetExit(t, cfg, input)
		if code == 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q", c.record, code, out)
		}
		if !strings.Contains(errOut, `stream "orders"`) || !strings.Contains(errOut, "line 3") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: stderr\n%s\nwant a line with stream \"orders\", line 3 and %q", c.record, errOut, c.want)
		}
		if n := strings.Count(errOut, "error:"); n != 1 {
			t.Errorf("%s: %d error lines on stderr:\n%s", c.record, n, errOut)
		}
	}
}

// TestStructEvolution: a schema that adds fields (at the top and inside a
// LIST of STRUCTs) and widens one gets the column changed, old values
// kept; a schema that changes a STRUCT field into something DuckDB cannot
// cast to is one clear error, the table unchanged.
func TestStructEvolution(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.duckdb")
	cfg := map[string]any{"path": path, "object_columns": "struct"}
	schema := func(props string) string {
		return `{"type":"SCHEMA","stream":"ev","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"},"p":` + props + `}}}` + "\n"
	}
	runTarget(t, cfg, schema(`{"type":"object","properties":{"a":{"type":"integer"},"l":{"type":"array","items":{"type":"object","properties":{"x":{"type":"string"}}}}}}`)+
		`{"type":"RECORD","stream":"ev","record":{"id":1,"p":{"a":42,"l":[{"x":"one"}]}}}`+"\n")
	runTarget(t, cfg, schema(`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"string","format":"date"},"l":{"type":"array","items":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"boolean"}}}}}}`)+
		`{"type":"RECORD","stream":"ev","record":{"id":2,"p":{"a":0.5,"b":"2020-01-01","l":[{"x":"two","y":false}]}}}`+"\n")
	expectRows(t, queryRows(t, path, `SELECT data_type FROM duckdb_columns() WHERE table_name = 'ev' AND column_name = 'p'`), []string{
		`STRUCT(a DECIMAL(38,9), l STRUCT(x VARCHAR, y BOOLEAN)[], b DATE)`,
	})
	expectRows(t, queryRows(t, path, `SELECT id, p::VARCHAR FROM ev ORDER BY id`), []string{
		`1|{'a': 42.000000000, 'l': [{'x': one, 'y': NULL}], 'b': NULL}`,
		`2|{'a': 0.500000000, 'l': [{'x': two, 'y': false}], 'b': 2020-01-01}`,
	})
	code, out, errOut := runTargetExit(t, cfg, schema(`{"type":"object","properties":{"a":{"type":"number"},"l":{"type":"object","properties":{"x":{"type":"string"}}}}}`)+
		`{"type":"RECORD","stream":"ev","record":{"id":3,"p":{"l":{"x":"three"}}}}`+"\n")
	want := `table "main"."ev", column "p", sub-field l: it is STRUCT("x" VARCHAR, "y" BOOLEAN)[], the stream now declares STRUCT("x" VARCHAR); DuckDB cannot change that keeping the values it holds: rename or drop the column (ALTER TABLE ... RENAME COLUMN), or load the stream into another table`
	if code == 0 || out != "" || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stdout %q, stderr\n%s\nwant %s", code, out, errOut, want)
	}
	expectRows(t, queryRows(t, path, `SELECT count(*) FROM ev`), []string{"2"})
}
