package kfaketest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/canary"
	"github.com/singerkit/singerkit/internal/runner"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestCanaryKafkaTopic: singer canary publishes a tracer to the topic a
// tap-kafka pipeline reads (the log target-kafka wrote), with the tap's
// own connection settings; singer run carries it, next to the upstream
// records, through tap-kafka into target-jsonl, where check finds it.
// Each send adds one message to the topic (a log keeps what it is
// given); the destination file gets one line per tracer.
func TestCanaryKafkaTopic(t *testing.T) {
	c := cluster(t)
	topic := "shop"
	if r := runTarget(t, map[string]any{"brokers": c.ListenAddrs(), "topic": topic}, lines(upstreamLines...)); r.code != 0 {
		t.Fatalf("target-kafka: exit %d\n%s", r.code, r.err)
	}
	brokers, _ := json.Marshal(c.ListenAddrs())
	dir := t.TempDir()
	path := filepath.Join(dir, "singer.yaml")
	if err := os.WriteFile(path, []byte(`connectors:
  log-reader:
    command: `+sqltargettest.BuildBinary(t, "tap-kafka")+`
    config: {brokers: `+string(brokers)+`, topic: `+topic+`}
    catalog: no-catalog.json
  files:
    command: `+sqltargettest.BuildBinary(t, "target-jsonl")+`
    config: {destination_path: out}
pipelines:
  from-log:
    tap: log-reader
    target: files
    canary: {overdue: 1h}
state: file://state
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"no-catalog.json", "out"} {
		var err error
		if d == "out" {
			err = os.Mkdir(filepath.Join(dir, d), 0o700)
		} else {
			err = os.WriteFile(filepath.Join(dir, d), []byte(`{"streams":[]}`), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	main := func(m func(context.Context, []string, io.Reader, io.Writer, io.Writer) int, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := m(context.Background(), args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	canaryMain, runMain := canary.Main, runner.Main
	dest := "files:out/singer_canary.jsonl"
	code, out, stderr := main(canaryMain, "canary", "init", "--project", path)
	if code != 0 || out != "from-log: tracers are published to log-reader:topic "+topic+" (nothing to create)\n" {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	for i := 0; i < 2; i++ {
		code, out, stderr := main(canaryMain, "canary", "send", "--format", "json", "--project", path)
		var sent []canary.Sent
		if err := json.Unmarshal([]byte(out), &sent); code != 0 || err != nil || len(sent) != 1 {
			t.Fatalf("send: exit %d %v\n%s%s", code, err, out, stderr)
		}
		if s := sent[0]; s.Source != "log-reader:topic "+topic || strings.Join(s.Destinations, ",") != dest {
			t.Fatalf("sent %+v", s)
		}
		if code, _, stderr := main(runMain, "run", "--project", path, "from-log"); code != 0 {
			t.Fatalf("singer run: exit %d\n%s", code, stderr)
		}
		code, out, stderr = main(canaryMain, "canary", "check", "--format", "json", "--project", path)
		var res canary.Result
		if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || len(res.Statuses) != 1 {
			t.Fatalf("check: exit %d %v\n%s%s", code, err, out, stderr)
		}
		st := res.Statuses[0]
		if st.Destination != dest || st.Status != "arrived" || st.Tracer != sent[0].ID || st.LatencySeconds == nil || *st.LatencySeconds != res.CheckedAt.Sub(sent[0].SentAt).Seconds() {
			t.Fatalf("check after run %d: %+v", i, st)
		}
	}
	// The upstream records went through too, and the canary stream has one
	// line per tracer (target-jsonl appends).
	users, err := os.ReadFile(filepath.Join(dir, "out", "users.jsonl"))
	if err != nil || strings.Count(string(users), "\n") != 3 {
		t.Fatalf("users.jsonl: %v\n%s", err, users)
	}
	tracers, err := os.ReadFile(filepath.Join(dir, "out", "singer_canary.jsonl"))
	if err != nil || strings.Count(string(tracers), "\n") != 2 || !strings.Contains(string(tracers), `"pipeline":"from-log"`) {
		t.Fatalf("singer_canary.jsonl: %v\n%s", err, tracers)
	}
}
