package duckdb

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// TestTypeTable: each row of docs/target-duckdb.md's type table, the
// column type target-duckdb creates and the value as DuckDB holds it.
func TestTypeTable(t *testing.T) {
	cases := []struct {
		name, schema, value, typ, text string
	}{
		{"integer", `{"type":"integer"}`, `42`, "BIGINT", "42"},
		{"integer_bounds_beyond_64_bits", `{"type":"integer","minimum":0,"maximum":100000000000000000000000}`, `99999999999999999999999`, "DECIMAL(24,0)", "99999999999999999999999"},
		{"number", `{"type":["null","number"]}`, `1.5`, "DECIMAL(38,9)", "1.500000000"},
		{"number_multipleof", `{"type":"number","multipleOf":0.01,"minimum":-1000000,"maximum":1000000}`, `-12.5`, "DECIMAL(8,2)", "-12.50"},
		{"singer_decimal", `{"type":"string","format":"singer.decimal","precision":20,"scale":4}`, `"1234567890123456.1234"`, "DECIMAL(20,4)", "1234567890123456.1234"},
		{"string", `{"type":"string","maxLength":3}`, `"hé!"`, "VARCHAR", "hé!"},
		{"date_time", `{"type":"string","format":"date-time"}`, `"2024-05-06T07:08:09.1234567+02:00"`, "TIMESTAMP WITH TIME ZONE", "2024-05-06 05:08:09.123457+00"},
		{"date", `{"type":"string","format":"date"}`, `"2024-02-29"`, "DATE", "2024-02-29"},
		{"time", `{"type":"string","format":"time"}`, `"24:00:00"`, "TIME", "24:00:00"},
		{"boolean", `{"type":"boolean"}`, `true`, "BOOLEAN", "true"},
		{"object", `{"type":"object","properties":{"a":{"type":"array"}}}`, `{"a":[1,"x",null],"b":{}}`, "JSON", `{"a":[1,"x",null],"b":{}}`},
		{"array", `{"type":"array","items":{"type":"integer"}}`, `[3,1,2]`, "JSON", `[3,1,2]`},
		{"one_of_several", `{"type":["null","object","string"]}`, `"text"`, "JSON", `"text"`},
		{"scalar_mix", `{"type":["integer","string"]}`, `7`, "VARCHAR", "7"},
		{"x_sql_datatype", `{"type":"number","x-sql-datatype":"DOUBLE"}`, `0.25`, "DOUBLE", "0.25"},
	}
	var props, rec []string
	for _, c := range cases {
		props = append(props, `"`+c.name+`":`+c.schema)
		rec = append(rec, `"`+c.name+`":`+c.value)
	}
	path := filepath.Join(t.TempDir(), "types.duckdb")
	runTarget(t, map[string]any{"path": path}, `{"type":"SCHEMA","stream":"types","schema":{"type":"object","properties":{`+strings.Join(props, ",")+`}},"key_properties":[]}`+"\n"+
		`{"type":"RECORD","stream":"types","record":{`+strings.Join(rec, ",")+`}}`+"\n")
	types := map[string]string{}
	for _, r := range queryRows(t, path, `SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'types'`) {
		n, ty, _ := strings.Cut(r, "|")
		types[n] = ty
	}
	for _, c := range cases {
		if types[c.name] != c.typ {
			t.Errorf("%s: column type %q, want %q", c.name, types[c.name], c.typ)
			continue
		}
		got := queryRows(t, path, `SELECT CAST("`+c.name+`" AS VARCHAR) FROM types`)
		if len(got) != 1 || got[0] != c.text {
			t.Errorf("%s: value %q, want %q", c.name, got, c.text)
		}
	}
}

// TestThreadsSetting: DuckDB runs on one worker thread unless threads
// says otherwise.
func TestThreadsSetting(t *testing.T) {
	for _, c := range []struct {
		threads int
		want    int64
	}{{0, 1}, {3, 3}} {
		cfg := &Config{Path: filepath.Join(t.TempDir(), "t.duckdb"), Threads: c.threads}
		d, err := OpenDialect(context.Background(), cfg, singer.NewLog(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		if err := d.db.QueryRow(`SELECT current_setting('threads')`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		d.Close()
		if got != c.want {
			t.Errorf("threads %d: DuckDB runs %d threads, want %d", c.threads, got, c.want)
		}
	}
}

// TestDefaultBatchIsARowGroup: without batch_size_rows a batch is DuckDB's
// row group (122,880 rows), so each full batch is written straight to the
// file; a batch_size_rows given is kept.
func TestDefaultBatchIsARowGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rg.duckdb")
	var in strings.Builder
	in.WriteString(`{"type":"SCHEMA","stream":"rg","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"integer"}}}}` + "\n")
	for i := 1; i <= DefaultBatchRows+1; i++ {
		fmt.Fprintf(&in, `{"type":"RECORD","stream":"rg","record":{"id":%d}}`+"\n", i)
	}
	code, _, errOut := runTargetExit(t, map[string]any{"path": path, "load_method": "append"}, in.String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var loads []string
	for _, line := range strings.Split(errOut, "\n") {
		if i := strings.Index(line, `"rows":`); i >= 0 && strings.Contains(line, "batch_load_seconds") {
			loads = append(loads, strings.SplitN(line[i+len(`"rows":`):], ",", 2)[0])
		}
	}
	slices.Sort(loads) // spread over two connections: in either order
	if strings.Join(loads, ",") != "1,122880" {
		t.Errorf("loads of %v rows, want 122880 and 1", loads)
	}
	expectRows(t, queryRows(t, path, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM rg"), []string{"122881|122881|1|122881"})
	cfg := &Config{Path: filepath.Join(t.TempDir(), "x.duckdb")}
	cfg.BatchSizeRows = 500
	if err := cfg.check(); err != nil || cfg.BatchSizeRows != 500 {
		t.Errorf("batch_size_rows 500: %d, %v", cfg.BatchSizeRows, err)
	}
}
