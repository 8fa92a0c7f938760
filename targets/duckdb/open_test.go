package duckdb

import (
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
