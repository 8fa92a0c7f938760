package emulatortest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	target "github.com/singerkit/singerkit/targets/bigquery"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestStorageWriteManyAppends: batches larger than one AppendRows request
// (3 MiB) go out as several appends on one pending stream, and every row
// lands once, exactly.
func TestStorageWriteManyAppends(t *testing.T) {
	h := harness{method: target.MethodStorageWrite}
	cfg, ds := h.Config(t)
	cfg["load_method"] = "append"
	cfg["batch_size_rows"] = 60000
	const n = 120000
	var in strings.Builder
	in.WriteString(`{"type":"SCHEMA","stream":"big","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"amount":{"type":"number"}}},"key_properties":["id"]}` + "\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&in, `{"type":"RECORD","stream":"big","record":{"id":%d,"name":"a name long enough to fill the row %08d","amount":%d.0000000001}}`+"\n", i, i, i)
	}
	in.WriteString(`{"type":"STATE","value":{"done":true}}` + "\n")
	r := sqltargettest.Run(t, h, cfg, in.String())
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	if got := r.States(); len(got) != 1 || got[0] != `{"done":true}` {
		t.Errorf("states %q", got)
	}
	q := fmt.Sprintf("SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id), CAST(SUM(amount) AS STRING) FROM `%s.%s.big`", project, ds)
	it, err := client.Query(q).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		t.Fatal(err)
	}
	// sum of 1..n plus n * 1e-10
	if got, want := fmt.Sprint(row), "[120000 120000 1 120000 7200060000.000012]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestStorageWriteRecordTable: under storage_write a table with RECORD
// columns loads by load jobs, and its rows land.
func TestStorageWriteRecordTable(t *testing.T) {
	h := harness{method: target.MethodStorageWrite}
	cfg, ds := h.Config(t)
	cfg["object_columns"] = "record"
	r := sqltargettest.Run(t, h, cfg, strings.Join([]string{
		`{"type":"SCHEMA","stream":"nested","schema":{"type":"object","properties":{"id":{"type":"integer"},"addr":{"type":"object","properties":{"city":{"type":"string"}}}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"nested","record":{"id":1,"addr":{"city":"Porto"}}}`,
		`{"type":"RECORD","stream":"nested","record":{"id":2,"addr":{"city":"Kraków"}}}`,
		`{"type":"STATE","value":{"n":2}}`,
	}, "\n")+"\n")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "has RECORD or REPEATED columns: its batches go by load jobs (method batch_job)") {
		t.Errorf("stderr:\n%s", r.Stderr)
	}
	got := h.Rows(t, ds, "nested", []string{"id", "TO_JSON_STRING(addr)"}, "id")
	if want := []string{`1|{"city":"Porto"}`, `2|{"city":"Kraków"}`}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows %q, want %q", got, want)
	}
}
