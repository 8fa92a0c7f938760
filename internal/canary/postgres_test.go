package canary

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/testenv"
)

// TestPostgresIncremental: a tracer upserted into the canary table of a
// tap-postgres source (INCREMENTAL on sent_at) travels through singer run
// into target-postgres; check finds it, measures its latency and records
// it; the canary table keeps one row per pipeline however many are sent.
func TestPostgresIncremental(t *testing.T) {
	pg := postgres(t)
	ctx := context.Background()
	name := uniqueName("canary_inc")
	src, dst := name+"_src", name+"_dst"
	pgSchema(t, pg, src)
	pgSchema(t, pg, dst)
	t.Setenv("PG_URL", withPassword(pgURL()))
	path := writeProject(t, `connectors:
  src:
    command: `+binary(t, "tap-postgres")+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
    metadata:
      `+src+`-singer_canary: {replication-method: INCREMENTAL, replication-key: sent_at}
  dst:
    command: `+binary(t, "target-postgres")+`
    config: {url: "${PG_URL}", default_target_schema: `+dst+`}
pipelines:
  `+name+`:
    tap: src
    target: dst
    canary: {table: `+src+`.singer_canary, overdue: 1h}
state: file://state
`)
	dest := "dst:" + dst + ".singer_canary"

	code, out, stderr := canary(t, "init", "--project", path)
	if code != 0 || out != name+": canary table src:"+src+".singer_canary ready\n" {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	// init is idempotent.
	if code, _, stderr := canary(t, "init", "--project", path); code != 0 {
		t.Fatalf("second init: exit %d\n%s", code, stderr)
	}

	first := send(t, path)
	if len(first) != 1 || first[0].Pipeline != name || first[0].Source != "src:"+src+".singer_canary" || strings.Join(first[0].Destinations, ",") != dest {
		t.Fatalf("sent %+v", first)
	}
	// Before the pipeline ran: waiting, the destination table not there
	// yet; not overdue, so exit 0.
	code, res, stderr := check(t, path)
	st := status(t, res, name, dest)
	if code != 0 || st.Status != "waiting" || st.Tracer != first[0].ID || st.Note != "table "+dst+".singer_canary does not exist" || st.Overdue != 0 {
		t.Fatalf("check before the run: exit %d %+v\n%s", code, st, stderr)
	}

	run(t, path, name)
	code, res, stderr = check(t, path)
	if code != 0 {
		t.Fatalf("check: exit %d\n%s", code, stderr)
	}
	arrived(t, res, first[0], dest)

	// More tracers: the source keeps one row; each arrives.
	for i := 0; i < 3; i++ {
		s := send(t, path, name)
		run(t, path, name)
		_, res, _ = check(t, path, name)
		arrived(t, res, s[0], dest)
	}
	if n := pgCount(t, pg, "SELECT count(*) FROM "+src+".singer_canary"); n != 1 {
		t.Fatalf("the source canary table holds %d rows, want 1", n)
	}
	if n := pgCount(t, pg, "SELECT count(*) FROM "+dst+".singer_canary WHERE pipeline = $1", name); n != 1 {
		t.Fatalf("the destination holds %d rows of the pipeline, want 1", n)
	}

	// The text table names the destination and the status.
	code, out, _ = canary(t, "check", "--project", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "PIPELINE") || !strings.Contains(lines[1], dest) || !strings.Contains(lines[1], " arrived ") {
		t.Fatalf("check table: exit %d\n%s", code, out)
	}

	// The metrics: the latest latency as the check measured it, nothing
	// overdue, the destination queried.
	_, res, _ = check(t, path)
	st = status(t, res, name, dest)
	labels := `{destination="` + dest + `",pipeline="` + name + `"}`
	page := scrape(t, path, "singer_canary_checks_total 1")
	if got, want := metric(t, page, "singer_canary_latency_seconds"+labels), strconv.FormatFloat(*st.LatencySeconds, 'g', -1, 64); got != want {
		t.Errorf("latency metric %s, want %s", got, want)
	}
	for series, want := range map[string]string{"singer_canary_overdue_tracers" + labels: "0", "singer_canary_destination_error" + labels: "0", "singer_canary_check_errors_total": "0"} {
		if got := metric(t, page, series); got != want {
			t.Errorf("%s = %s, want %s", series, got, want)
		}
	}
	if v, err := strconv.ParseFloat(metric(t, page, "singer_canary_since_last_arrival_seconds"+labels), 64); err != nil || v < 0 {
		t.Errorf("since last arrival: %v %v", v, err)
	}

	// The report: four tracers, all arrived.
	code, out, _ = canary(t, "report", "--project", path)
	if lines := strings.Split(out, "\n"); code != 0 || !strings.HasPrefix(lines[1], name+"  "+dest+"  4        4        ") {
		t.Fatalf("report: exit %d\n%s", code, out)
	}
	_ = ctx
}

// TestPostgresLogBased: the tracer row's upserts reach the target through
// logical replication (the first run snapshots the table, later ones read
// the updates from the slot).
func TestPostgresLogBased(t *testing.T) {
	pg := postgres(t)
	ctx := context.Background()
	var wal string
	pg.QueryRow(ctx, "SHOW wal_level").Scan(&wal)
	testenv.Require(t, wal == "logical", "wal_level is "+wal+", LOG_BASED needs logical")
	name := uniqueName("canary_log")
	src, dst := name+"_src", name+"_dst"
	pgSchema(t, pg, src)
	pgSchema(t, pg, dst)
	t.Cleanup(func() {
		pg.Exec(context.Background(), "SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1", name)
		pg.Exec(context.Background(), "DROP PUBLICATION IF EXISTS "+name)
	})
	t.Setenv("PG_URL", withPassword(pgURL()))
	path := writeProject(t, `connectors:
  src:
    command: `+binary(t, "tap-postgres")+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`], slot_name: `+name+`, publication_name: `+name+`, logical_poll_seconds: 2}
    metadata:
      "*": {replication-method: LOG_BASED}
  dst:
    command: `+binary(t, "target-postgres")+`
    config: {url: "${PG_URL}", default_target_schema: `+dst+`, add_metadata_columns: true}
pipelines:
  `+name+`:
    tap: src
    target: dst
    canary: {table: `+src+`.singer_canary}
state: file://state
`)
	dest := "dst:" + dst + ".singer_canary"
	if code, _, stderr := canary(t, "init", "--project", path); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	// target-postgres writes _sdc_batched_at: the arrival is when it
	// loaded the row.
	batched := func() time.Time {
		var at time.Time
		if err := pg.QueryRow(ctx, "SELECT _sdc_batched_at FROM "+dst+".singer_canary WHERE pipeline = $1", name).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at.UTC()
	}
	for i := 0; i < 3; i++ {
		s := send(t, path)
		// One run carries the update: a run reads the log at least to
		// where it ended when the run began.
		run(t, path, name)
		code, res, stderr := check(t, path)
		if code != 0 {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		if st := status(t, res, name, dest); st.Status != "arrived" {
			var slot, cur string
			pg.QueryRow(ctx, "SELECT confirmed_flush_lsn::text, pg_current_wal_lsn()::text FROM pg_replication_slots WHERE slot_name = $1", name).Scan(&slot, &cur)
			st, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "state", name+".state.json"))
			t.Fatalf("tracer %s (round %d) did not arrive in the run after it was sent: slot confirmed %s, server at %s, state %s", s[0].ID, i, slot, cur, st)
		}
		arrivedAt(t, res, s[0], dest, batched())
	}
	if n := pgCount(t, pg, "SELECT count(*) FROM "+src+".singer_canary"); n != 1 {
		t.Fatalf("the source canary table holds %d rows, want 1", n)
	}
}

// TestPostgresBroken: a pipeline whose target writes to another schema
// than the one expected, and one whose tap leaves the canary stream out,
// run fine (exit 0) but their tracers never arrive: check exits 1 with
// one line per overdue tracer naming the pipeline and the destination.
func TestPostgresBroken(t *testing.T) {
	pg := postgres(t)
	name := uniqueName("canary_bad")
	src, dst, wrong := name+"_src", name+"_dst", name+"_wrong"
	for _, s := range []string{src, dst, wrong} {
		pgSchema(t, pg, s)
	}
	if _, err := pg.Exec(context.Background(), "CREATE TABLE "+src+".items (id int PRIMARY KEY); INSERT INTO "+src+".items VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PG_URL", withPassword(pgURL()))
	tap, target := binary(t, "tap-postgres"), binary(t, "target-postgres")
	path := writeProject(t, `connectors:
  src:
    command: `+tap+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
    metadata:
      "*": {replication-method: FULL_TABLE}
  src-items-only:
    command: `+tap+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
    select: ["`+src+`-items"]
  wrong-schema:
    command: `+target+`
    config: {url: "${PG_URL}", default_target_schema: `+wrong+`}
  dst:
    command: `+target+`
    config: {url: "${PG_URL}", default_target_schema: `+dst+`}
pipelines:
  misrouted:
    tap: src
    target: wrong-schema
    canary:
      table: `+src+`.singer_canary
      overdue: 1ms
      destinations: [{connector: wrong-schema, table: `+dst+`.singer_canary}]
  deselected:
    tap: src-items-only
    target: dst
    canary: {table: `+src+`.singer_canary, overdue: 1ms}
state: file://state
`)
	if code, _, stderr := canary(t, "init", "--project", path); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	sent := send(t, path)
	run(t, path, "misrouted", "deselected")
	// The misrouted pipeline did load the tracer: into the wrong schema.
	if n := pgCount(t, pg, "SELECT count(*) FROM "+wrong+".singer_canary"); n != 2 {
		t.Fatalf("the wrong schema holds %d canary rows, want 2", n)
	}
	code, res, stderr := check(t, path)
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", code, stderr)
	}
	byPipeline := map[string]Sent{}
	for _, s := range sent {
		byPipeline[s.Pipeline] = s
	}
	want := "singer canary: overdue: pipeline deselected, destination dst:" + dst + ".singer_canary: tracer " + byPipeline["deselected"].ID +
		" sent " + byPipeline["deselected"].SentAt.Format("2006-01-02T15:04:05.999999999Z07:00") + " has not arrived within 1ms (table " + dst + ".singer_canary does not exist)\n" +
		"singer canary: overdue: pipeline misrouted, destination wrong-schema:" + dst + ".singer_canary: tracer " + byPipeline["misrouted"].ID +
		" sent " + byPipeline["misrouted"].SentAt.Format("2006-01-02T15:04:05.999999999Z07:00") + " has not arrived within 1ms (table " + dst + ".singer_canary does not exist)\n"
	if stderr != want {
		t.Fatalf("check stderr\n%s\nwant\n%s", stderr, want)
	}
	if len(res.Overdue) != 2 || status(t, res, "misrouted", "wrong-schema:"+dst+".singer_canary").Status != "overdue" {
		t.Fatalf("result %+v", res)
	}
}

// TestPostgresStalled: a pipeline that stopped running (its cron line
// gone): the tracer sent after its last run is overdue, and the line says
// how far the destination got.
func TestPostgresStalled(t *testing.T) {
	pg := postgres(t)
	name := uniqueName("canary_stall")
	src, dst := name+"_src", name+"_dst"
	pgSchema(t, pg, src)
	pgSchema(t, pg, dst)
	t.Setenv("PG_URL", withPassword(pgURL()))
	path := writeProject(t, `connectors:
  src:
    command: `+binary(t, "tap-postgres")+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
  dst:
    command: `+binary(t, "target-postgres")+`
    config: {url: "${PG_URL}", default_target_schema: `+dst+`}
pipelines:
  stalled:
    tap: src
    target: dst
    canary: {table: `+src+`.singer_canary, overdue: 1ms}
state: file://state
`)
	if code, _, stderr := canary(t, "init", "--project", path); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	first := send(t, path)[0]
	run(t, path, "stalled")
	// Late (past 1ms), but there: an arrival, not an overdue tracer.
	code, res, stderr := check(t, path)
	if code != 0 || len(res.Overdue) != 0 {
		t.Fatalf("check after the run: exit %d %+v\n%s", code, res, stderr)
	}
	arrived(t, res, first, "dst:"+dst+".singer_canary")
	second := send(t, path)[0]
	code, res, stderr = check(t, path)
	want := "singer canary: overdue: pipeline stalled, destination dst:" + dst + ".singer_canary: tracer " + second.ID + " sent " +
		second.SentAt.Format("2006-01-02T15:04:05.999999999Z07:00") + " has not arrived within 1ms (the newest tracer there was sent " +
		first.SentAt.Format("2006-01-02T15:04:05.999999999Z07:00") + ")\n"
	if code != 1 || stderr != want {
		t.Fatalf("check: exit %d\n%s\nwant\n%s", code, stderr, want)
	}
	if st := status(t, res, "stalled", "dst:"+dst+".singer_canary"); st.Status != "overdue" || st.Overdue != 1 || st.LatencySeconds == nil {
		t.Fatalf("status %+v", st)
	}
}
