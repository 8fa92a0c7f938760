package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestMemoryRefused: ":memory:" is a config error (exit 2), nothing read.
func TestMemoryRefused(t *testing.T) {
	h := harness{}
	cfg, _ := h.Config(t)
	cfg["path"] = ":memory:"
	r := sqltargettest.Run(t, h, cfg, `{"type":"STATE","value":{"s":1}}`+"\n")
	want := `target-duckdb: error: invalid config: path: ":memory:" is refused: an in-memory database is gone when target-duckdb exits, after it has printed the states that say its records are loaded; give a file path`
	if r.Code != 2 || r.Stdout != "" || strings.TrimSpace(r.Stderr) != want {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, want)
	}
}

// TestFileLockedByAnotherProcess: a second process holding the file's
// write lock stops the target before it loads anything: one line naming
// the file and the holder, exit 1, no state; the file is unchanged.
func TestFileLockedByAnotherProcess(t *testing.T) {
	h := harness{}
	cfg, schema := h.Config(t)
	path := cfg["path"].(string)
	in := `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"t","record":{"id":1}}
{"type":"STATE","value":{"s":1}}
`
	if r := sqltargettest.Run(t, h, cfg, in); r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	// Another process holds the file: this test process, with the file
	// open for writing.
	holder, err := sql.Open("duckdb", path)
	if err == nil {
		err = holder.Ping()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	bin := h.Binary(t)
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`{"path":%q,"default_target_schema":%q}`, path, schema)), 0o600)
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(in, `"id":1`, `"id":2`))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	wantPrefix := "target-duckdb: error: database file " + path + " is in use by another process ("
	wantSuffix := fmt.Sprintf("PID %d): DuckDB lets one process write a file at a time; wait for it to exit, or load into another path", os.Getpid())
	got := strings.TrimSpace(stderr.String())
	if code != 1 || stdout.String() != "" || strings.Count(got, "\n") != 0 || !strings.HasPrefix(got, wantPrefix) || !strings.HasSuffix(got, wantSuffix) {
		t.Errorf("exit %d stdout %q stderr\n%s\nwant one line: %s...%s", code, stdout.String(), got, wantPrefix, wantSuffix)
	}
	holder.Close()
	expectRows(t, h.Rows(t, schema, "t", []string{"id"}, "id"), []string{"1"})
}

func expectRows(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
}

// TestQuery: `target-duckdb query` prints a query's rows as a table (what
// make demo shows), opens the file read only, and says what is wrong in
// one line with exit 1 (the database or the SQL) or 2 (usage).
func TestQuery(t *testing.T) {
	h := harness{}
	cfg, _ := h.Config(t)
	cfg["default_target_schema"] = "main"
	path := cfg["path"].(string)
	r := sqltargettest.Run(t, h, cfg, `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["null","string"]},"amount":{"type":["null","number"]},"at":{"type":["null","string"],"format":"date-time"},"day":{"type":["null","string"],"format":"date"},"tod":{"type":["null","string"],"format":"time"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"t","record":{"id":1,"name":"山田","amount":12.50,"at":"2024-04-01T12:15:00.25+02:00","day":"2024-02-29","tod":"24:00:00"}}
{"type":"RECORD","stream":"t","record":{"id":2}}
`)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := Query(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errs := run("--path", path, "SELECT * FROM t ORDER BY id")
	want := `id | name | amount       | at                        | day        | tod
---+------+--------------+---------------------------+------------+---------
1  | 山田 | 12.500000000 | 2024-04-01 10:15:00.25+00 | 2024-02-29 | 24:00:00
2  | NULL | NULL         | NULL                      | NULL       | NULL
(2 rows)
`
	if code != 0 || out != want || errs != "" {
		t.Errorf("exit %d stderr %q stdout\n%s\nwant\n%s", code, errs, out, want)
	}
	cfgPath := filepath.Join(t.TempDir(), "target.json")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`{"path":%q}`, path)), 0o600)
	if code, out, _ := run("--config", cfgPath, "SELECT count(*) AS n FROM t"); code != 0 || out != "n\n-\n2\n(1 row)\n" {
		t.Errorf("--config: exit %d stdout %q", code, out)
	}
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--path", path, "DELETE FROM t"}, 1, "target-duckdb query: error: Invalid Input Error: Cannot execute statement of type \"DELETE\" on database \"test\" which is attached in read-only mode!\n"},
		{[]string{"--path", path, "SELEC 1"}, 1, "target-duckdb query: error: Parser Error: syntax error at or near \"SELEC\"\n"},
		{[]string{"--path", path + ".missing", "SELECT 1"}, 1, "target-duckdb query: error: database file " + path + ".missing: no such file or directory\n"},
		{[]string{"SELECT 1"}, 2, "target-duckdb query: error: " + QueryUsage + "\n"},
		{[]string{"--path", path, "--bogus", "SELECT 1"}, 2, "target-duckdb query: error: unknown flag --bogus; " + QueryUsage + "\n"},
	} {
		code, out, errs := run(c.args...)
		if code != c.code || out != "" || errs != c.err {
			t.Errorf("%q: exit %d stdout %q stderr %q, want exit %d stderr %q", c.args, code, out, errs, c.code, c.err)
		}
	}
}
