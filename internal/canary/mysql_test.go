package canary

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/testenv"
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
    config: {dsn: "${MY_DSN}", default_target_schema: `+dst+`, add_metadata_columns: true}
  files:
    command: `+binary(t, "target-jsonl")+`
    config: {destination_path: out, add_metadata_columns: true}
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
		// The targets write metadata columns: the arrival is when they
		// loaded the row (not when check found it).
		var batched string
		if err := db.QueryRow("SELECT CAST(_sdc_batched_at AS CHAR) FROM "+dst+".singer_canary WHERE pipeline = ?", name).Scan(&batched); err != nil {
			t.Fatal(err)
		}
		loaded, err := parseTime(batched)
		if err != nil {
			t.Fatal(err)
		}
		arrivedAt(t, res, sent[0], dest, loaded)
		arrivedAt(t, res, sent[1], file, receivedAt(t, filepath.Join(filepath.Dir(path), "out", src+"-singer_canary.jsonl"), "to-files"))
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

// receivedAt is the _sdc_received_at of a pipeline's newest line in a
// target-jsonl file.
func receivedAt(t *testing.T, path, pipeline string) time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var newest, at time.Time
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Pipeline   string `json:"pipeline"`
			SentAt     string `json:"sent_at"`
			ReceivedAt string `json:"_sdc_received_at"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		sent, _ := parseTime(rec.SentAt)
		if rec.Pipeline == pipeline && sent.After(newest) {
			newest = sent
			if at, err = parseTime(rec.ReceivedAt); err != nil {
				t.Fatalf("_sdc_received_at in %s: %v", l, err)
			}
		}
	}
	return at
}

// TestMySQLLogBased: tracer upserts reach target-mysql through tap-mysql's
// binlog reader (the first run snapshots the canary table, later ones read
// each upsert from the binlog as an update); the arrival is the target's
// _sdc_batched_at; the source keeps one row.
func TestMySQLLogBased(t *testing.T) {
	db := mysqlDB(t)
	var logBin string
	db.QueryRow("SELECT @@log_bin").Scan(&logBin)
	testenv.Require(t, logBin == "1", "the server's binary log is off (log_bin "+logBin+"): LOG_BASED needs it")
	name := uniqueName("canary_mylog")
	src, dst := name+"_src", name+"_dst"
	mysqlDatabase(t, db, src)
	mysqlDatabase(t, db, dst)
	t.Setenv("MY_DSN", myDSN())
	path := writeProject(t, `connectors:
  src:
    command: `+binary(t, "tap-mysql")+`
    config: {dsn: "${MY_DSN}", filter_dbs: [`+src+`], binlog_idle_seconds: 1}
    metadata:
      "*": {replication-method: LOG_BASED}
  dst:
    command: `+binary(t, "target-mysql")+`
    config: {dsn: "${MY_DSN}", default_target_schema: `+dst+`, add_metadata_columns: true}
pipelines:
  `+name+`:
    tap: src
    target: dst
    canary: {}
state: file://state
`)
	dest := "dst:" + dst + ".singer_canary"
	if code, _, stderr := canary(t, "init", "--project", path); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	for i := 0; i < 3; i++ {
		sent := send(t, path)
		stderr := run(t, path, name)
		if i > 0 && !strings.Contains(stderr, "LOG_BASED: reading the binlog from") {
			t.Fatalf("run %d did not read the binlog:\n%s", i, stderr)
		}
		code, res, stderr := check(t, path)
		if code != 0 {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		var batched string
		if err := db.QueryRow("SELECT CAST(_sdc_batched_at AS CHAR) FROM "+dst+".singer_canary WHERE pipeline = ?", name).Scan(&batched); err != nil {
			t.Fatal(err)
		}
		loaded, err := parseTime(batched)
		if err != nil {
			t.Fatal(err)
		}
		arrivedAt(t, res, sent[0], dest, loaded)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + src + ".singer_canary").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the source canary table holds %d rows (%v), want 1", n, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM "+dst+".singer_canary WHERE pipeline = ?", name).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the destination holds %d rows of the pipeline (%v), want 1", n, err)
	}
}
