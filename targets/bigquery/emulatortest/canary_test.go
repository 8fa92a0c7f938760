package emulatortest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/singerkit/singerkit/internal/canary"
	"github.com/singerkit/singerkit/internal/runner"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestCanaryBigQuery: singer canary looks for tracers in BigQuery through
// target-bigquery's own connection settings. A tracer upserted into a
// tap-postgres canary table (INCREMENTAL) travels through singer run into
// target-bigquery (load jobs, on an emulator of its own); check finds it
// in the dataset the target's naming rules give, its arrival the
// target's _sdc_batched_at; a pipeline whose canary looks in a table the
// target never loaded is overdue, the line naming the pipeline, the
// destination and the missing table.
func TestCanaryBigQuery(t *testing.T) {
	pgURL := os.Getenv("TEST_POSTGRES_URL")
	if pgURL == "" {
		pgURL = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	if err := exec.Command("psql", pgURL, "-Atc", "SELECT 1").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at TEST_POSTGRES_URL is unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set TEST_POSTGRES_URL): %v", err)
	}
	inst := caseEmulator(t)
	src := fmt.Sprintf("canary_bq_%d", time.Now().UnixNano()%1_000_000_000)
	if out, err := exec.Command("psql", pgURL, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE SCHEMA "+src).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("psql", pgURL, "-c", "DROP SCHEMA IF EXISTS "+src+" CASCADE").Run() })
	ds := src + "_ds"

	dir := t.TempDir()
	path := filepath.Join(dir, "singer.yaml")
	t.Setenv("PG_URL", pgURL)
	bq := fmt.Sprintf(`{project: %s, dataset: %s, api_endpoint: %q, emulator: true, method: batch_job, add_metadata_columns: true}`, project, ds, inst.e.URL)
	if err := os.WriteFile(path, []byte(`connectors:
  src:
    command: `+sqltargettest.BuildBinary(t, "tap-postgres")+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
    metadata:
      `+src+`-singer_canary: {replication-method: INCREMENTAL, replication-key: sent_at}
  warehouse:
    command: `+harness{}.Binary(t)+`
    config: `+bq+`
pipelines:
  to-bq:
    tap: src
    target: warehouse
    canary: {table: `+src+`.singer_canary}
  elsewhere:
    tap: src
    target: warehouse
    canary:
      table: `+src+`.singer_canary
      overdue: 1ms
      destinations: [{connector: warehouse, table: other.singer_canary}]
state: file://state
`), 0o600); err != nil {
		t.Fatal(err)
	}
	dest := "warehouse:" + ds + ".singer_canary"

	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		main := canary.Main
		if args[0] == "run" {
			main = runner.Main
		}
		code := main(context.Background(), args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, stderr := run("canary", "init", "--project", path, "to-bq"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := run("canary", "send", "--format", "json", "--project", path)
	var sent []canary.Sent
	if err := json.Unmarshal([]byte(out), &sent); code != 0 || err != nil || len(sent) != 2 {
		t.Fatalf("send: exit %d %v\n%s%s", code, err, out, stderr)
	}
	tracer := map[string]canary.Sent{}
	for _, s := range sent {
		tracer[s.Pipeline] = s
	}
	if got := strings.Join(tracer["to-bq"].Destinations, ","); got != dest {
		t.Fatalf("to-bq expects its tracer in %s, want %s", got, dest)
	}

	// Before the run: the dataset is not there yet, the tracer waits.
	check := func() (int, *canary.Result, string) {
		t.Helper()
		code, out, stderr := run("canary", "check", "--format", "json", "--project", path, "to-bq")
		var res canary.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("check output %q (exit %d, %s): %v", out, code, stderr, err)
		}
		if len(res.Statuses) != 1 || res.Statuses[0].Destination != dest {
			t.Fatalf("check statuses %+v", res.Statuses)
		}
		return code, &res, stderr
	}
	code, res, stderr := check()
	if st := res.Statuses[0]; code != 0 || st.Status != "waiting" || st.Note != "table "+ds+".singer_canary does not exist" {
		t.Fatalf("check before the run: exit %d %+v\n%s", code, st, stderr)
	}

	for i := 0; i < 2; i++ {
		if i > 0 {
			code, out, stderr := run("canary", "send", "--format", "json", "--project", path, "to-bq")
			sent = nil
			if err := json.Unmarshal([]byte(out), &sent); code != 0 || err != nil || len(sent) != 1 {
				t.Fatalf("send: exit %d %v\n%s%s", code, err, out, stderr)
			}
			tracer["to-bq"] = sent[0]
		}
		if code, _, stderr := run("run", "--project", path, "to-bq"); code != 0 {
			t.Fatalf("singer run: exit %d\n%s", code, stderr)
		}
		code, res, stderr = check()
		st := res.Statuses[0]
		s := tracer["to-bq"]
		if code != 0 || st.Status != "arrived" || st.Tracer != s.ID || st.LatencySeconds == nil || st.LastArrival == nil {
			t.Fatalf("check after run %d: exit %d %+v\n%s", i, code, st, stderr)
		}
		// The arrival is the target's _sdc_batched_at of the row.
		var loaded time.Time
		queryRowsOn(t, inst.client, "SELECT _sdc_batched_at FROM `"+project+"."+ds+".singer_canary` WHERE pipeline = 'to-bq'", func(row []bigquery.Value, _ bigquery.Schema) {
			loaded = row[0].(time.Time)
		})
		if !st.LastArrival.Equal(loaded) || *st.LatencySeconds != loaded.Sub(s.SentAt).Seconds() {
			t.Fatalf("arrival %s latency %v, want %s and %v (sent %s)", st.LastArrival, *st.LatencySeconds, loaded, loaded.Sub(s.SentAt).Seconds(), s.SentAt)
		}
	}
	// The destination holds one row of the pipeline: the target upserts by
	// the canary table's key.
	var n int64
	queryRowsOn(t, inst.client, "SELECT count(*) FROM `"+project+"."+ds+".singer_canary` WHERE pipeline = 'to-bq'", func(row []bigquery.Value, _ bigquery.Schema) {
		n = row[0].(int64)
	})
	if n != 1 {
		t.Fatalf("the destination holds %d rows of to-bq, want 1", n)
	}

	// The pipeline looking in a table the target never loaded: overdue.
	code, _, stderr = run("canary", "check", "--project", path, "elsewhere")
	s := tracer["elsewhere"]
	want := "singer canary: overdue: pipeline elsewhere, destination warehouse:other.singer_canary: tracer " + s.ID + " sent " +
		s.SentAt.Format("2006-01-02T15:04:05.999999999Z07:00") + " has not arrived within 1ms (table other.singer_canary does not exist)\n"
	if code != 1 || stderr != want {
		t.Fatalf("check elsewhere: exit %d\n%s\nwant\n%s", code, stderr, want)
	}
}
