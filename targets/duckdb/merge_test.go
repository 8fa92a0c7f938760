package duckdb

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"
)

// runTarget runs target-duckdb in-process on input with cfg; it returns
// stdout, and fails the test on an exit code other than 0.
func runTarget(t *testing.T, cfg map[string]any, input string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, v := range cfg {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:", k)
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "%q", v)
		default:
			fmt.Fprintf(&b, "%v", v)
		}
	}
	b.WriteString("}")
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := cli.RunTarget(context.Background(), Spec(), []string{"--config", path}, strings.NewReader(input), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	return out.String()
}

// queryRows returns each row of q as its columns' text joined by "|".
func queryRows(t *testing.T, path, q string) []string {
	t.Helper()
	db := readDB(t, path)
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A batch whose keys are all different merges straight from the stage; a
// batch that repeats a key, in any spelling of its value, takes the dedupe
// path (the last record of the key wins). Both are checked row by row.
func TestUpsertBatchesWithAndWithoutRepeats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.duckdb")
	cfg := map[string]any{"path": path}
	schema := `{"type":"SCHEMA","stream":"ev","schema":{"type":"object","properties":{"at":{"type":"string","format":"date-time"},"n":{"type":["null","number"]},"s":{"type":["null","string"]}}},"key_properties":["at"]}` + "\n"
	rec := func(at, n, s string) string {
		return fmt.Sprintf(`{"type":"RECORD","stream":"ev","record":{"at":%q,"n":%s,"s":%q}}`+"\n", at, n, s)
	}
	// Run 1: distinct keys.
	runTarget(t, cfg, schema+
		rec("2024-01-01T00:00:00Z", "1.5", "a")+
		rec("2024-01-02T00:00:00Z", "2", "b")+
		`{"type":"STATE","value":{"run":1}}`+"\n")
	want := []string{
		"2024-01-01 00:00:00 +0000 UTC|1.500000000|a",
		"2024-01-02 00:00:00 +0000 UTC|2.000000000|b",
	}
	q := `SELECT "at", CAST(n AS VARCHAR), s FROM ev ORDER BY "at"`
	if got := queryRows(t, path, q); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after run 1:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Run 2, one batch: distinct keys updating a row and adding one.
	runTarget(t, cfg, schema+
		rec("2024-01-02T00:00:00Z", "20", "b2")+
		rec("2024-01-03T00:00:00Z", "3", "c"))
	// Run 3, one batch: one instant in two spellings, the later record wins.
	runTarget(t, cfg, schema+
		rec("2024-01-01T00:00:00Z", "10", "first")+
		rec("2024-01-01T01:00:00+01:00", "11", "last"))
	want = []string{
		"2024-01-01 00:00:00 +0000 UTC|11.000000000|last",
		"2024-01-02 00:00:00 +0000 UTC|20.000000000|b2",
		"2024-01-03 00:00:00 +0000 UTC|3.000000000|c",
	}
	if got := queryRows(t, path, q); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after run 3:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The batch's column storage: a record whose values need wider columns
// (a number beyond DECIMAL(38,9), an integer beyond BIGINT) is taken back
// whole after its first columns were stored, the columns widen, and it is
// appended again; every row keeps its values exactly.
func TestBatchTakesBackAWideningRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.duckdb")
	cfg := map[string]any{"path": path, "load_method": "append"}
	out := runTarget(t, cfg, `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"s":{"type":["null","string"]},"n":{"type":["null","number"]},"i":{"type":["null","integer"]}}},"key_properties":[]}`+"\n"+
		`{"type":"RECORD","stream":"t","record":{"s":"one","n":1.25,"i":1}}`+"\n"+
		`{"type":"RECORD","stream":"t","record":{"s":"two","n":0.123456789012,"i":123456789012345678901234}}`+"\n"+
		`{"type":"RECORD","stream":"t","record":{"s":null,"n":-3,"i":null}}`+"\n"+
		`{"type":"STATE","value":{"done":true}}`+"\n")
	if out != `{"done":true}`+"\n" {
		t.Fatalf("stdout %q", out)
	}
	got := queryRows(t, path, `SELECT coalesce(s, 'NULL'), coalesce(CAST(n AS VARCHAR), 'NULL'), coalesce(CAST(i AS VARCHAR), 'NULL'), typeof(n), typeof(i) FROM t ORDER BY rowid`)
	want := "one|1.250000000|1|VARCHAR|HUGEINT\ntwo|0.123456789012|123456789012345678901234|VARCHAR|HUGEINT\nNULL|-3|NULL|VARCHAR|HUGEINT"
	if strings.Join(got, "\n") != want {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
