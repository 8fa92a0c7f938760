package canary

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMySQL: tracers upserted into a canary table of a tap-mysql source
// reach target-mysql through singer run, and, by a second pipeline of the
// same tap, a target-jsonl file; both arrivals are measured; the source
// keeps one row per pipeline.
func TestMySQL(t *testing.T) {
	db := mysqlDB(t)
	name := uniqueName("canary_my")
	src, dst := name+"_src", name+"_dst"
	mysqlDatabase(t, db, src)
	mysqlDatabase(t, db, dst)
	t.Setenv("MY_DSN", myDSN())
	// The tracers live in the PostgreSQL state store this time.
	pg := postgres(t)
	pgSchema(t, pg, name+"_state")
	t.Setenv("STATE_URL", withPassword(pgURL())+"&search_path="+name+"_state")
	path := writeProject(t, `connectors:
  src:
    command: `+binary(t, "tap-mysql")+`
    config: {dsn: "${MY_DSN}", filter_dbs: [`+src+`]}
    metadata:
      `+src+`-singer_canary: {replication-method: INCREMENTAL, replication-key: sent_at}
  dst:
    command: `+binary(t, "target-mysql")+`
    config: {dsn: "${MY_DSN}", default_target_schema: `+dst+`}
  files:
    command: `+binary(t, "target-jsonl")+`
    config: {destination_path: out}
pipelines:
  `+name+`:
    tap: src
    target: dst
    canary: {}
  to-files:
    tap: src
    target: files
    canary: {}
state: ${STATE_URL}
`)
	dest := "dst:" + dst + ".singer_canary"
	file := "files:" + filepath.Join("out", src+"-singer_canary.jsonl")

	code, out, stderr := canary(t, "init", "--project", path)
	want := name + ": canary table src:" + src + ".singer_canary ready\nto-files: canary table src:" + src + ".singer_canary ready\n"
	if code != 0 || out != want {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	for i := 0; i < 3; i++ {
		sent := send(t, path)
		if len(sent) != 2 {
			t.Fatalf("sent %+v", sent)
		}
		run(t, path, "--all")
		code, res, stderr := check(t, path)
		if code != 0 {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		arrived(t, res, sent[0], dest)
		arrived(t, res, sent[1], file)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + src + ".singer_canary").Scan(&n); err != nil || n != 2 {
		t.Fatalf("the source canary table holds %d rows (%v), want 2: one per pipeline", n, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM "+dst+".singer_canary WHERE pipeline = ?", name).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the destination holds %d rows of the pipeline (%v), want 1", n, err)
	}
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FROM "+name+"_state.singer_canary_tracers").Scan(&n); err != nil || n != 6 {
		t.Fatalf("the state store keeps %d tracers (%v), want 6", n, err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "out", src+"-singer_canary.jsonl"))
	if err != nil || !strings.Contains(string(b), `"pipeline":"to-files"`) {
		t.Fatalf("the JSONL destination: %v\n%s", err, b)
	}
}
