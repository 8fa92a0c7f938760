package emulatortest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// This file checks against the emulator what target-bigquery adds beyond
// the shared suite: table layouts (partition_by, cluster_by), RECORD and
// REPEATED columns (object_columns record), and its own bad input.

// dataset returns a fresh dataset name for a test, removed at its end.
func dataset(t *testing.T) string {
	ds := fmt.Sprintf("sk_bqs_%s_%d", safe.ReplaceAllString(strings.ToLower(t.Name()), "_"), seq.Add(1))
	if len(ds) > 100 {
		ds = ds[len(ds)-100:]
	}
	t.Cleanup(func() { client.Dataset(ds).DeleteWithContents(context.Background()) })
	return ds
}

// baseConfig is the emulator's config plus kv; a nil value removes a key.
func baseConfig(ds string, kv ...any) map[string]any {
	cfg := map[string]any{"project": project, "dataset": ds, "api_endpoint": endpoint, "emulator": true}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(cfg, kv[i].(string))
		} else {
			cfg[kv[i].(string)] = kv[i+1]
		}
	}
	return cfg
}

func input(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func mustRun(t *testing.T, cfg map[string]any, in string) sqltargettest.Result {
	t.Helper()
	r := sqltargettest.Run(t, harness{}, cfg, in)
	if r.Code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	return r
}

// errorLines are the stderr lines that report an error.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.Contains(l, ": error: ") {
			out = append(out, l)
		}
	}
	return out
}

func metadata(t *testing.T, ds, table string) *bigquery.TableMetadata {
	t.Helper()
	md, err := client.Dataset(ds).Table(table).Metadata(context.Background())
	if err != nil {
		t.Fatalf("table %s.%s: %v", ds, table, err)
	}
	return md
}

func layoutOf(md *bigquery.TableMetadata) string {
	var parts []string
	if tp := md.TimePartitioning; tp != nil {
		parts = append(parts, fmt.Sprintf("time %s field=%q", tp.Type, tp.Field))
	}
	if rp := md.RangePartitioning; rp != nil && rp.Range != nil {
		parts = append(parts, fmt.Sprintf("range field=%q [%d,%d) step %d", rp.Field, rp.Range.Start, rp.Range.End, rp.Range.Interval))
	}
	if md.Clustering != nil && len(md.Clustering.Fields) > 0 {
		parts = append(parts, "cluster "+strings.Join(md.Clustering.Fields, ","))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

const eventsSchema = `{"type":"SCHEMA","stream":"events","schema":{"type":"object","properties":{"id":{"type":"integer"},"kind":{"type":["null","string"]},"updated_at":{"type":"string","format":"date-time"},"day":{"type":["null","string"],"format":"date"},"payload":{"type":["null","object"]}}},"key_properties":["id"]}`

// TestTableLayout: the tables target-bigquery creates carry the configured
// partitioning and clustering (read back from the table's metadata), the
// rows load into them, and an existing table with another layout is
// loaded as it is, with one warning line.
func TestTableLayout(t *testing.T) {
	ds := dataset(t)
	recs := input(eventsSchema,
		`{"type":"RECORD","stream":"events","record":{"id":1,"kind":"a","updated_at":"2024-03-01T10:00:00Z","day":"2024-03-01","payload":{"x":1}}}`,
		`{"type":"RECORD","stream":"events","record":{"id":2,"kind":"b","updated_at":"2024-04-01T11:00:00Z","day":null,"payload":null}}`,
		`{"type":"STATE","value":{"n":2}}`)
	tests := []struct {
		name   string
		stream map[string]any
		want   string
	}{
		{"day of a timestamp, clustered", map[string]any{"partition_by": map[string]any{"field": "updated_at", "type": "DAY"}, "cluster_by": []string{"kind", "id"}}, `time DAY field="updated_at"; cluster kind,id`},
		{"month of a date", map[string]any{"partition_by": map[string]any{"field": "day", "type": "MONTH"}}, `time MONTH field="day"`},
		{"ingestion time", map[string]any{"partition_by": map[string]any{"type": "HOUR"}}, `time HOUR field=""`},
		{"integer range", map[string]any{"partition_by": map[string]any{"field": "id", "range": map[string]any{"start": 0, "end": 100, "interval": 10}}}, `range field="id" [0,100) step 10`},
		{"cluster only", map[string]any{"cluster_by": []string{"updated_at"}}, `cluster updated_at`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(ds, "streams", map[string]any{"events": tt.stream})
			cfg["schema_mapping"] = map[string]any{"s": map[string]any{"target_schema": ds}}
			// one table per case: stream s-events_<i> lands in table events_<i>
			stream := fmt.Sprintf("s-events_%d", i)
			cfg["streams"] = map[string]any{stream: tt.stream}
			in := strings.ReplaceAll(recs, `"stream":"events"`, fmt.Sprintf(`"stream":%q`, stream))
			r := mustRun(t, cfg, in)
			if r.Stdout != "{\"n\":2}\n" {
				t.Errorf("stdout %q", r.Stdout)
			}
			table := fmt.Sprintf("events_%d", i)
			if got := layoutOf(metadata(t, ds, table)); got != tt.want {
				t.Errorf("layout %s, want %s", got, tt.want)
			}
			rows := harness{}.Rows(t, ds, table, []string{"id", "kind", "updated_at", "day"}, "id")
			if want := []string{"1|a|2024-03-01T10:00:00.000000Z|2024-03-01", "2|b|2024-04-01T11:00:00.000000Z|NULL"}; strings.Join(rows, "\n") != strings.Join(want, "\n") {
				t.Errorf("rows %q, want %q", rows, want)
			}
		})
	}

	t.Run("existing table with another layout", func(t *testing.T) {
		cfg := baseConfig(ds)
		in := strings.ReplaceAll(recs, `"stream":"events"`, `"stream":"plain"`)
		mustRun(t, cfg, in)
		cfg["streams"] = map[string]any{"plain": map[string]any{"partition_by": map[string]any{"field": "updated_at", "type": "DAY"}, "cluster_by": []string{"kind"}}}
		r := mustRun(t, cfg, in)
		var warns []string
		for _, l := range strings.Split(r.Stderr, "\n") {
			if strings.Contains(l, "exists and is") {
				warns = append(warns, l)
			}
		}
		path := "`" + project + "." + ds + ".plain`"
		want := []string{
			"WARNING table " + path + " exists and is not partitioned, not partitioned by DAY of updated_at as streams.plain.partition_by asks; BigQuery cannot change a table's partitioning, so it is loaded as it is (to change it, recreate the table: create the new one with CREATE TABLE ... PARTITION BY ... AS SELECT, then swap)",
			"WARNING table " + path + " exists and is not clustered, not clustered by kind as streams.plain.cluster_by asks; it is loaded as it is (change it with bq update --clustering_fields, or recreate the table)",
		}
		if strings.Join(warns, "\n") != strings.Join(want, "\n") {
			t.Errorf("warnings:\n%s\nwant:\n%s\n(stderr:\n%s)", strings.Join(warns, "\n"), strings.Join(want, "\n"), r.Stderr)
		}
		if got := layoutOf(metadata(t, ds, "plain")); got != "none" {
			t.Errorf("layout changed to %s", got)
		}
	})

	t.Run("stream name not in the run", func(t *testing.T) {
		cfg := baseConfig(ds, "streams", map[string]any{"evnets": map[string]any{"cluster_by": []string{"kind"}}})
		r := mustRun(t, cfg, strings.ReplaceAll(recs, `"stream":"events"`, `"stream":"typo"`))
		want := "WARNING streams.evnets in the config matched no stream of this run (keys are stream names as the tap writes them, e.g. public-orders)"
		if !strings.Contains(r.Stderr, want+"\n") {
			t.Errorf("stderr:\n%s\nwant the line:\n%s", r.Stderr, want)
		}
		if got := layoutOf(metadata(t, ds, "typo")); got != "none" {
			t.Errorf("layout %s", got)
		}
	})

	t.Run("bad layouts", func(t *testing.T) {
		tests := []struct {
			name   string
			stream any
			want   string
		}{
			{"partition by a string", map[string]any{"partition_by": map[string]any{"field": "kind", "type": "DAY"}},
				`target-bigquery: error: preparing table for stream "bad": invalid config: streams.bad.partition_by.field: "kind" is a STRING column; time partitioning needs a TIMESTAMP or DATE column (a string property with format date-time or date)`},
			{"cluster by JSON", map[string]any{"cluster_by": []string{"id", "payload"}},
				`target-bigquery: error: preparing table for stream "bad": invalid config: streams.bad.cluster_by: "payload" is a JSON column, which BigQuery cannot cluster by (it clusters by STRING, INT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, DATETIME and GEOGRAPHY columns)`},
			{"cluster by a missing property", map[string]any{"cluster_by": []string{"nope"}},
				`target-bigquery: error: preparing table for stream "bad": invalid config: streams.bad.cluster_by: "nope" is not a property of the stream's schema (nor a metadata column)`},
			{"unknown partition type (config schema)", map[string]any{"partition_by": map[string]any{"field": "day", "type": "WEEK"}}, ""},
			{"five cluster columns (config schema)", map[string]any{"cluster_by": []string{"a", "b", "c", "d", "e"}}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cfg := baseConfig(ds, "streams", map[string]any{"bad": tt.stream})
				in := strings.ReplaceAll(recs, `"stream":"events"`, `"stream":"bad"`)
				r := sqltargettest.Run(t, harness{}, cfg, in)
				if r.Code != 2 {
					t.Fatalf("exit %d, want 2; stderr:\n%s", r.Code, r.Stderr)
				}
				if r.Stdout != "" {
					t.Errorf("stdout %q, want nothing (no state)", r.Stdout)
				}
				errs := errorLines(r.Stderr)
				if len(errs) != 1 {
					t.Fatalf("want one error line, stderr:\n%s", r.Stderr)
				}
				if tt.want != "" && errs[0] != tt.want {
					t.Errorf("got  %s\nwant %s", errs[0], tt.want)
				}
				if tt.want == "" && !strings.Contains(errs[0], "invalid config") {
					t.Errorf("got %s", errs[0])
				}
				if _, err := client.Dataset(ds).Table("bad").Metadata(context.Background()); err == nil {
					t.Errorf("table bad was created")
				}
			})
		}
	})
}

// renderNested renders a value read back from BigQuery, RECORD and
// REPEATED fields included: {"a":1,"b":[...]}, NULL as null.
func renderNested(t *testing.T, v bigquery.Value, f *bigquery.FieldSchema) string {
	if v == nil {
		return "null"
	}
	if f.Repeated {
		l := v.([]bigquery.Value)
		el := *f
		el.Repeated = false
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = renderNested(t, x, &el)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	if f.Type == bigquery.RecordFieldType {
		l := v.([]bigquery.Value)
		var parts []string
		for i, sf := range f.Schema {
			parts = append(parts, strconv.Quote(sf.Name)+":"+renderNested(t, l[i], sf))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	s := render(t, v, f.Type)
	switch f.Type {
	case bigquery.StringFieldType, bigquery.TimestampFieldType, bigquery.DateFieldType, bigquery.TimeFieldType:
		return strconv.Quote(s)
	}
	return s
}

// nestedRows reads columns of a table, nested values rendered (ARRAY<STRUCT>
// columns are read with arrayRows).
func nestedRows(t *testing.T, ds, table, cols, orderBy string) []string {
	t.Helper()
	q := "SELECT " + cols + " FROM `" + project + "." + ds + "." + table + "` ORDER BY " + orderBy
	var out []string
	queryRows(t, q, func(row []bigquery.Value, schema bigquery.Schema) {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = schema[i].Name + "=" + renderNested(t, v, schema[i])
		}
		out = append(out, strings.Join(parts, " "))
	})
	return out
}

// arrayRows reads an ARRAY<STRUCT> column through TO_JSON_STRING, one
// line per element: "id pos: field=value ..." with the fields sorted and
// values unquoted. The emulator cannot return an ARRAY<STRUCT> to the
// client, nor read its fields by name in SQL: after a load job it keeps
// the struct's fields in another order than the schema's ("failed to scan
// rows"), while TO_JSON_STRING still pairs each name with its value.
func arrayRows(t *testing.T, ds, table, col string) []string {
	t.Helper()
	q := "SELECT id, TO_JSON_STRING(`" + col + "`) FROM `" + project + "." + ds + "." + table + "` ORDER BY id"
	var out []string
	queryRows(t, q, func(row []bigquery.Value, _ bigquery.Schema) {
		s, _ := row[1].(string)
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var elems []map[string]any
		if err := dec.Decode(&elems); err != nil {
			t.Fatalf("%s: %q: %v", q, s, err)
		}
		for i, e := range elems {
			keys := make([]string, 0, len(e))
			for k := range e {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			line := fmt.Sprintf("id=%v pos=%d:", row[0], i)
			for _, k := range keys {
				line += fmt.Sprintf(" %s=%v", k, e[k])
			}
			out = append(out, line)
		}
	})
	return out
}

func schemaText(md *bigquery.TableMetadata) string {
	var parts []string
	for _, f := range md.Schema {
		parts = append(parts, f.Name+" "+fieldText(f))
	}
	return strings.Join(parts, ", ")
}

func fieldText(f *bigquery.FieldSchema) string {
	s := string(f.Type)
	if f.Type == bigquery.RecordFieldType {
		var parts []string
		for _, sf := range f.Schema {
			parts = append(parts, sf.Name+" "+fieldText(sf))
		}
		s = "STRUCT<" + strings.Join(parts, ", ") + ">"
	}
	if f.Repeated {
		s = "ARRAY<" + s + ">"
	}
	return s
}

const ordersSchemaV1 = `{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{` +
	`"id":{"type":"integer"},` +
	`"customer":{"type":["null","object"],"properties":{"name":{"type":"string"},"since":{"type":["null","string"],"format":"date"},"address":{"type":["null","object"],"properties":{"city":{"type":"string"},"zip":{"type":"string"}}}}},` +
	`"lines":{"type":["null","array"],"items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"}}}},` +
	`"tags":{"type":["null","array"],"items":{"type":"string"}},` +
	`"extra":{"type":["null","object"]}` +
	`}},"key_properties":["id"]}`

// TestRecordColumns: with object_columns record, declared objects land in
// RECORD columns and typed arrays in REPEATED ones, values exact (numbers
// wider than float64), through the MERGE path (keys) and read back
// nested; a new sub-field is added NULLABLE to the RECORD.
func TestRecordColumns(t *testing.T) {
	ds := dataset(t)
	cfg := baseConfig(ds, "object_columns", "record")
	r := mustRun(t, cfg, input(ordersSchemaV1,
		`{"type":"RECORD","stream":"orders","record":{"id":1,"customer":{"name":"Zoë \"Z\"","since":"2020-02-29","address":{"city":"Köln","zip":"50667"}},"lines":[{"sku":"a-1","qty":2,"price":12345678901234567890.12345678901234567},{"sku":"b","qty":-1,"price":0.000000000000000000000000000001}],"tags":["x","ÿ"],"extra":{"k":[1,2.50,{"n":null}]}}}`,
		`{"type":"RECORD","stream":"orders","record":{"id":2,"customer":null,"lines":[],"tags":null,"extra":null}}`,
		`{"type":"RECORD","stream":"orders","record":{"id":3,"customer":{"name":"first"},"lines":null}}`,
		`{"type":"RECORD","stream":"orders","record":{"id":3,"customer":{"name":"last wins","address":null},"lines":[{"sku":"c"}]}}`,
		`{"type":"STATE","value":{"v":1}}`))
	if r.Stdout != "{\"v\":1}\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	md := metadata(t, ds, "orders")
	wantSchema := "id INTEGER, customer STRUCT<address STRUCT<city STRING, zip STRING>, name STRING, since DATE>, lines ARRAY<STRUCT<price BIGNUMERIC, qty INTEGER, sku STRING>>, tags ARRAY<STRING>, extra JSON"
	if got := schemaText(md); got != wantSchema {
		t.Errorf("schema:\n got %s\nwant %s", got, wantSchema)
	}
	want := []string{
		`id=1 customer={"address":{"city":"Köln","zip":"50667"},"name":"Zoë \"Z\"","since":"2020-02-29"} tags=["x","ÿ"] extra={"k":[1,2.50,{"n":null}]}`,
		`id=2 customer=null tags=[] extra=null`,
		`id=3 customer={"address":null,"name":"last wins","since":null} tags=[] extra=null`,
	}
	got := nestedRows(t, ds, "orders", "id, customer, tags, extra", "id")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	want = []string{
		`id=1 pos=0: price=12345678901234567890.12345678901234567 qty=2 sku=a-1`,
		`id=1 pos=1: price=0.000000000000000000000000000001 qty=-1 sku=b`,
		`id=3 pos=0: sku=c`,
	}
	got = arrayRows(t, ds, "orders", "lines")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	t.Run("new sub-field", func(t *testing.T) {
		v2 := strings.Replace(ordersSchemaV1, `"zip":{"type":"string"}`, `"zip":{"type":"string"},"country":{"type":["null","string"]}`, 1)
		v2 = strings.Replace(v2, `"price":{"type":"number"}`, `"price":{"type":"number"},"note":{"type":["null","string"]}`, 1)
		cfg := baseConfig(ds, "object_columns", "record", "load_method", "append")
		mustRun(t, cfg, input(v2,
			`{"type":"RECORD","stream":"orders","record":{"id":4,"customer":{"name":"new","address":{"city":"Oslo","zip":"0150","country":"NO"}},"lines":[{"sku":"d","note":"gift"}]}}`))
		md := metadata(t, ds, "orders")
		wantSchema := "id INTEGER, customer STRUCT<address STRUCT<city STRING, zip STRING, country STRING>, name STRING, since DATE>, lines ARRAY<STRUCT<price BIGNUMERIC, qty INTEGER, sku STRING, note STRING>>, tags ARRAY<STRING>, extra JSON"
		if got := schemaText(md); got != wantSchema {
			t.Errorf("schema:\n got %s\nwant %s", got, wantSchema)
		}
		// The emulator's storage keeps the RECORD's old type after the
		// metadata update (tables.patch): it drops customer.address.country
		// on load, and its MERGE refuses the wider STRUCT (so this case
		// appends). BigQuery keeps the value; here only the metadata and
		// the other sub-fields are checked.
		got := nestedRows(t, ds, "orders", "id, customer.name, customer.address.city, customer.address.zip", "id")
		want := `id=4 name="new" city="Oslo" zip="0150"`
		if len(got) != 4 || got[3] != want {
			t.Errorf("rows:\n%s\nwant last:\n%s", strings.Join(got, "\n"), want)
		}
		got = arrayRows(t, ds, "orders", "lines")
		if w := `id=4 pos=0: note=gift sku=d`; len(got) != 4 || got[3] != w {
			t.Errorf("lines:\n%s\nwant last:\n%s", strings.Join(got, "\n"), w)
		}
	})

	t.Run("append", func(t *testing.T) {
		cfg := baseConfig(ds, "object_columns", "record", "load_method", "append")
		in := strings.ReplaceAll(ordersSchemaV1, `"stream":"orders"`, `"stream":"orders_append"`)
		mustRun(t, cfg, input(in,
			`{"type":"RECORD","stream":"orders_append","record":{"id":1,"tags":["a","b"],"lines":[{"qty":9223372036854775807}]}}`))
		got := append(nestedRows(t, ds, "orders_append", "id, customer, tags, extra", "id"), arrayRows(t, ds, "orders_append", "lines")...)
		want := "id=1 customer=null tags=[\"a\",\"b\"] extra=null\nid=1 pos=0: qty=9223372036854775807"
		if strings.Join(got, "\n") != want {
			t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
		}
	})

	t.Run("undeclared property", func(t *testing.T) {
		in := strings.ReplaceAll(ordersSchemaV1, `"stream":"orders"`, `"stream":"orders_bad"`)
		r := sqltargettest.Run(t, harness{}, baseConfig(ds, "object_columns", "record", "validate_records", false), input(in,
			`{"type":"RECORD","stream":"orders_bad","record":{"id":1,"customer":{"name":"a","vip":true}}}`,
			`{"type":"STATE","value":{"v":2}}`))
		if r.Code != 1 || r.Stdout != "" {
			t.Fatalf("exit %d, stdout %q, want 1 and no state; stderr:\n%s", r.Code, r.Stdout, r.Stderr)
		}
		errs := errorLines(r.Stderr)
		want := `target-bigquery: error: line 2: stream "orders_bad": column "customer.vip": the RECORD has no sub-field for property "vip"; declare it in the stream's schema (a new sub-field is added), or use object_columns json`
		if len(errs) != 1 || errs[0] != want {
			t.Errorf("stderr:\n%s\nwant:\n%s", r.Stderr, want)
		}
	})
}
