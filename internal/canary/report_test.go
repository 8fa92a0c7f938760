package canary

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/statestore"
)

// TestReport: percentiles (nearest rank) of the kept latencies, per
// pipeline and destination, from the state store alone; --last limits
// them to the latest tracers; a tracer not arrived counts as sent, not
// arrived.
func TestReport(t *testing.T) {
	path := writeProject(t, `connectors:
  src: {command: tap-postgres, config: {url: "postgres://127.0.0.1:1/x"}}
  dst: {command: target-postgres, config: {url: "postgres://127.0.0.1:1/y"}}
  files: {command: target-jsonl, config: {destination_path: out}}
pipelines:
  p:
    tap: src
    target: dst
    canary:
      destinations: [{connector: dst}, {connector: files}]
  quiet:
    tap: src
    target: dst
    canary: {}
state: file://state
`)
	st, err := statestore.OpenFile(filepath.Join(filepath.Dir(path), "state"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	dests := []string{"dst:public.singer_canary", "files:out/public-singer_canary.jsonl"}
	// Tracer i arrives in dst after i seconds (1..10), in files after 2i
	// seconds, except the newest, not yet in files.
	for i := 1; i <= 10; i++ {
		sent := base.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("t%02d", i)
		if err := st.AddTracer(ctx, statestore.Tracer{ID: id, Pipeline: "p", SentAt: sent, Destinations: dests}, 100); err != nil {
			t.Fatal(err)
		}
		arr := map[string]statestore.Arrival{dests[0]: {At: sent.Add(time.Duration(i) * time.Second)}}
		if i < 10 {
			arr[dests[1]] = statestore.Arrival{At: sent.Add(time.Duration(2*i) * time.Second)}
		}
		if err := st.AddArrivals(ctx, "p", id, arr); err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := canary(t, "report", "--project", path)
	want := `PIPELINE  DESTINATION                           TRACERS  ARRIVED  P50  P90  P99  MAX
p         dst:public.singer_canary              10       10       5s   9s   10s  10s
p         files:out/public-singer_canary.jsonl  10       9        10s  18s  18s  18s
`
	if code != 0 || out != want {
		t.Fatalf("report: exit %d\n%s\nwant\n%s%s", code, out, want, stderr)
	}
	code, out, _ = canary(t, "report", "--project", path, "--last", "4", "--format", "json", "p")
	var ps []Percentiles
	if err := json.Unmarshal([]byte(out), &ps); code != 0 || err != nil || len(ps) != 2 {
		t.Fatalf("report json: exit %d %v\n%s", code, err, out)
	}
	// The last 4 tracers: 7..10 s in dst; 14, 16, 18 s in files (the 10th
	// has not arrived there).
	if p := ps[0]; p.Tracers != 4 || p.Arrived != 4 || *p.P50 != 8 || *p.P90 != 10 || *p.Max != 10 {
		t.Errorf("dst, last 4: %+v", p)
	}
	if p := ps[1]; p.Tracers != 4 || p.Arrived != 3 || *p.P50 != 16 || *p.P99 != 18 {
		t.Errorf("files, last 4: %+v", p)
	}
	// A pipeline never sent: nothing to report, no error.
	code, out, _ = canary(t, "report", "--project", path, "quiet")
	if code != 0 || out != "PIPELINE  DESTINATION  TRACERS  ARRIVED  P50  P90  P99  MAX\n" {
		t.Errorf("report of a pipeline never sent: exit %d\n%s", code, out)
	}
	// Usage errors: exit 2, one line.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--project", path, "nope"}, "singer canary: no pipeline named \"nope\" in " + path + " (pipelines: p, quiet)\n"},
		{[]string{"report", "--project", path, "--last", "-1"}, "singer canary: --last must be 0 (every kept tracer) or more\n"},
		{[]string{"check", "--project", path, "--format", "yaml"}, "singer canary: --format must be text or json, not \"yaml\"\n"},
	} {
		code, _, stderr := canary(t, c.args...)
		if code != 2 || stderr != c.want {
			t.Errorf("%v: exit %d %q, want 2 %q", c.args, code, stderr, c.want)
		}
	}
}

// TestCanaryConfigProblems: a canary section that cannot work is refused
// before anything is sent, every problem at once, each with its line
// (exit 2).
func TestCanaryConfigProblems(t *testing.T) {
	path := writeProject(t, `connectors:
  csv: {command: tap-csv, config: {files: []}}
  pg: {command: tap-postgres, config: {url: "postgres://root:${PW}@127.0.0.1:1/x"}}
  my: {command: tap-mysql, config: {host: h, password: "${PW}"}}
  bq: {command: target-bigquery, config: {project: p}}
  dst: {command: target-postgres, config: {url: "postgres://127.0.0.1:1/y"}}
pipelines:
  from-csv:
    tap: csv
    target: dst
    canary: {}
  from-my:
    tap: my
    target: dst
    canary: {}
  to-bq:
    tap: pg
    target: bq
    canary:
      overdue: 5m
  topic:
    tap: pg
    target: dst
    canary: {topic: shop}
state: file://state
`)
	t.Setenv("PW", planted)
	code, out, stderr := canary(t, "send", "--project", path)
	want := "singer canary: singer.yaml:11: pipelines.from-csv.canary: cannot inject tracers through the tap csv (tap-csv): a canary table needs tap-postgres or tap-mysql, a topic tap-nats or tap-kafka\n" +
		"singer canary: singer.yaml:15: pipelines.from-my.canary.table: name the database of the canary table (write database.singer_canary)\n" +
		"singer canary: singer.yaml:20: pipelines.to-bq.canary: connector bq: invalid config: dataset is required (as target-bigquery reads it)\n" +
		"singer canary: singer.yaml:24: pipelines.topic.canary.topic: the tap pg (tap-postgres) does not read a NATS or Kafka topic; use table\n"
	if code != 2 || out != "" || stderr != want {
		t.Fatalf("send: exit %d\n%s\n%s\nwant\n%s", code, out, stderr, want)
	}
}
