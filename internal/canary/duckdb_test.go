package canary

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDuckDB: a tracer from a tap-postgres canary table (INCREMENTAL)
// travels through singer run into target-duckdb; check looks in the
// database file through `target-duckdb query` (the connector's own
// binary), the arrival being the target's _sdc_batched_at. Before the
// first run the file is missing; a pipeline looking in a table the
// target never loaded is overdue, naming the table.
func TestDuckDB(t *testing.T) {
	pg := postgres(t)
	name := uniqueName("canary_duck")
	src := name + "_src"
	pgSchema(t, pg, src)
	t.Setenv("PG_URL", withPassword(pgURL()))
	duck := binary(t, "target-duckdb")
	path := writeProject(t, `connectors:
  src:
    command: `+binary(t, "tap-postgres")+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
    metadata:
      `+src+`-singer_canary: {replication-method: INCREMENTAL, replication-key: sent_at}
  lake:
    command: `+duck+`
    config: {path: lake.duckdb, default_target_schema: raw, add_metadata_columns: true}
pipelines:
  `+name+`:
    tap: src
    target: lake
    canary: {table: `+src+`.singer_canary}
  elsewhere:
    tap: src
    target: lake
    canary:
      table: `+src+`.singer_canary
      overdue: 1ms
      destinations: [{connector: lake, table: other.singer_canary}]
state: file://state
`)
	dest := "lake:raw.singer_canary"
	if code, _, stderr := canary(t, "init", "--project", path, name); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	sent := send(t, path)
	byPipeline := map[string]Sent{}
	for _, s := range sent {
		byPipeline[s.Pipeline] = s
	}
	code, res, stderr := check(t, path, name)
	if st := status(t, res, name, dest); code != 0 || st.Status != "waiting" || st.Note != "database file lake.duckdb does not exist" {
		t.Fatalf("check before the run: exit %d %+v\n%s", code, st, stderr)
	}
	loaded := func() time.Time {
		t.Helper()
		out, err := exec.Command(duck, "query", "--path", filepath.Join(filepath.Dir(path), "lake.duckdb"),
			"SELECT epoch_us(_sdc_batched_at) FROM raw.singer_canary WHERE pipeline = '"+name+"'").Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(out), "\n")
		if len(lines) < 3 {
			t.Fatalf("query output %q", out)
		}
		us, err := strconv.ParseInt(strings.TrimSpace(lines[2]), 10, 64)
		if err != nil {
			t.Fatalf("query output %q: %v", out, err)
		}
		return time.UnixMicro(us).UTC()
	}
	for i := 0; i < 2; i++ {
		s := byPipeline[name]
		if i > 0 {
			s = send(t, path, name)[0]
		}
		run(t, path, name)
		code, res, stderr = check(t, path, name)
		if code != 0 {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		arrivedAt(t, res, s, dest, loaded())
	}
	code, _, stderr = canary(t, "check", "--project", path, "elsewhere")
	s := byPipeline["elsewhere"]
	want := "singer canary: overdue: pipeline elsewhere, destination lake:other.singer_canary: tracer " + s.ID + " sent " +
		s.SentAt.Format("2006-01-02T15:04:05.999999999Z07:00") + " has not arrived within 1ms (table other.singer_canary does not exist)\n"
	if code != 1 || stderr != want {
		t.Fatalf("check elsewhere: exit %d\n%s\nwant\n%s", code, stderr, want)
	}
}
