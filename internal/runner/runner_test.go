package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/statestore"
)

const planted = "pl4nted-S3cret-pw"

// project writes a singer.yaml using the test scripts and returns its path.
func writeProject(t *testing.T, extra string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	wd, _ := os.Getwd()
	td := filepath.Join(wd, "testdata")
	src := `connectors:
  counter:
    command: ` + td + `/tap-counter.sh
    config: {password: ${TEST_PW}, host: "h"}
    select: ["items.*", "!items.ssn"]
    metadata:
      items: {replication-method: INCREMENTAL, replication-key: id}
  lines:
    command: ` + td + `/target-lines.sh
    config: {token: ${TEST_PW}}
pipelines:
  p1:
    tap: counter
    target: lines
` + extra + `
state: file://state
`
	path = filepath.Join(dir, "singer.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_PW", planted)
	t.Setenv("TARGET_OUT", filepath.Join(dir, "out.jsonl"))
	t.Setenv("TAP_CATALOG_COPY", filepath.Join(dir, "catalog-seen.json"))
	t.Setenv("TAP_ARGS_COPY", filepath.Join(dir, "args-seen.txt"))
	t.Setenv("SINGER_RUN_BACKOFF", "1ms")
	return dir, path
}

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, planted) {
			t.Fatalf("the planted password appears in the output:\n%s", s)
		}
	}
	return code, out.String(), errb.String()
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestRunThirdPartyScripts(t *testing.T) {
	dir, path := writeProject(t, "")
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := readLines(t, filepath.Join(dir, "out.jsonl"))
	if len(got) != 5 || got[4] != `{"type":"RECORD","stream":"items","record":{"id":5,"name":"n5"}}` {
		t.Fatalf("records landed: %q", got)
	}
	st, _ := os.ReadFile(filepath.Join(dir, "state", "p1.state.json"))
	if string(st) != "{\"pos\":5}\n" {
		t.Fatalf("saved state %q", st)
	}
	for _, want := range []string{"counter | discovering", "lines | target done", "p1: success in ", "records: items 5; states saved: 5"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The catalog the tap got: items selected without ssn, other not selected,
	// the metadata override applied.
	var cat struct {
		Streams []struct {
			ID       string `json:"tap_stream_id"`
			Selected bool   `json:"selected"`
			Metadata []struct {
				Breadcrumb []string       `json:"breadcrumb"`
				Metadata   map[string]any `json:"metadata"`
			} `json:"metadata"`
		} `json:"streams"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "catalog-seen.json"))
	if err := json.Unmarshal(b, &cat); err != nil {
		t.Fatal(err)
	}
	sel := map[string]any{}
	for _, s := range cat.Streams {
		sel[s.ID] = s.Selected
		for _, m := range s.Metadata {
			k := s.ID + "/" + strings.Join(m.Breadcrumb, "/")
			sel[k] = m.Metadata["selected"]
			if len(m.Breadcrumb) == 0 && s.ID == "items" {
				sel[k+"method"] = m.Metadata["replication-method"]
				sel[k+"key"] = m.Metadata["replication-key"]
			}
		}
	}
	want := map[string]any{"items": true, "items/": true, "items/method": "INCREMENTAL", "items/key": "id",
		"items/properties/id": true, "items/properties/name": true, "items/properties/ssn": false,
		"other": false, "other/": false, "other/properties/x": false}
	for k, v := range want {
		if sel[k] != v {
			t.Errorf("catalog %s: selected %v, want %v", k, sel[k], v)
		}
	}
	// The temporary config was 0600 and is gone.
	args := readLines(t, filepath.Join(dir, "args-seen.txt"))
	if !strings.HasPrefix(args[0], "-rw-------") {
		t.Errorf("config file mode: %s", args[0])
	}
	f := strings.Fields(args[0])
	if _, err := os.Stat(f[len(f)-1]); !os.IsNotExist(err) {
		t.Errorf("temporary config %s still exists", f[len(f)-1])
	}

	// Second run: incremental from {"pos":5}, nothing new.
	t.Setenv("TAP_ROWS", "7")
	code, _, stderr = runMain(t, "run", "--project", path, "p1")
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	got = readLines(t, filepath.Join(dir, "out.jsonl"))
	if len(got) != 7 || !strings.Contains(got[5], `"id":6`) {
		t.Fatalf("second run records: %q", got)
	}
	if strings.Contains(stderr, "discovering") {
		t.Errorf("the cached catalog was not used:\n%s", stderr)
	}
	code, out, _ := runMain(t, "state", "get", "--project", path, "p1")
	if code != 0 || out != "{\"pos\":7}\n" {
		t.Fatalf("state get: %d %q", code, out)
	}
	code, out, _ = runMain(t, "runs", "--project", path, "p1")
	if code != 0 || strings.Count(out, "success") != 2 || !strings.Contains(out, "items=2") {
		t.Fatalf("runs: %d\n%s", code, out)
	}
	code, out, _ = runMain(t, "select", "--project", path, "p1", "--all")
	wantSel := "STREAM  SELECTED  REPLICATION  KEY  COLUMNS\nitems   true      INCREMENTAL  id   id,name (left out: ssn)\nother   false     -            -    \n"
	if code != 0 || out != wantSel {
		t.Fatalf("select:\n%s\nwant:\n%s", out, wantSel)
	}
}

func TestRetryResumesFromSavedState(t *testing.T) {
	dir, path := writeProject(t, "    retries: 1")
	t.Setenv("TAP_FAIL_AT", "3")
	t.Setenv("TAP_FAIL_FLAG", filepath.Join(dir, "failed-once"))
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := readLines(t, filepath.Join(dir, "out.jsonl"))
	ids := []string{}
	for _, l := range got {
		var m struct{ Record struct{ ID int } }
		json.Unmarshal([]byte(l), &m)
		ids = append(ids, string(rune('0'+m.Record.ID)))
	}
	// Rows 1-3 in the first attempt, 4-5 in the retry: nothing twice.
	if strings.Join(ids, "") != "12345" {
		t.Fatalf("ids landed %v\n%s", ids, stderr)
	}
	for _, want := range []string{"counter exited with code 1; lines committed what it read", "retrying in 1ms from the saved state (1 of 1 retries)", "p1: failed in", "p1: success in"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestTargetFailsMidRun(t *testing.T) {
	dir, path := writeProject(t, "")
	t.Setenv("TARGET_FAIL_AT", "3")
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	st, _ := os.ReadFile(filepath.Join(dir, "state", "p1.state.json"))
	if string(st) != "{\"pos\":2}\n" {
		t.Fatalf("saved state %q, want what the target committed", st)
	}
	if !strings.Contains(stderr, "lines | target failed on purpose") || !strings.Contains(stderr, "lines exited with code 1") {
		t.Fatalf("stderr:\n%s", stderr)
	}
}

func TestSecondRunIsRefused(t *testing.T) {
	dir, path := writeProject(t, "")
	st, err := statestore.OpenFile(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := st.Lock(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != ExitLocked || stderr != "singer run | another run of p1 is in progress (it holds the lock); this run did not start\n" {
		t.Fatalf("exit %d\n%q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.jsonl")); !os.IsNotExist(err) {
		t.Fatal("the refused run touched the target")
	}
}

func TestProjectErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "singer.yaml")
	os.WriteFile(path, []byte("connectors:\n  a:\n    command: x\n    config: {pw: ${NOPE_NOT_SET}}\n    colour: red\npipelines:\n  p:\n    tap: a\n    target: a\n    retries: -1\n"), 0o600)
	code, _, stderr := runMain(t, "run", "--project", path, "p")
	want := "singer: singer.yaml:4: environment variable NOPE_NOT_SET is not set (export it, or write ${NOPE_NOT_SET:-default})\n" +
		"singer.yaml:3: connectors.a: additionalProperties 'colour' not allowed\n" +
		"singer.yaml:10: pipelines.p.retries: must be >= 0 but found -1\n"
	if code != ExitUsage || stderr != want {
		t.Fatalf("exit %d\n%s\nwant:\n%s", code, stderr, want)
	}
}

func TestSchedule(t *testing.T) {
	dir, path := writeProject(t, "    schedule: \"*/15 * * * *\"")
	code, out, stderr := runMain(t, "schedule", "--crontab", "--project", path)
	want := "*/15 * * * * cd " + dir + " && singer run --project " + path + " p1\n"
	if code != 0 || !strings.HasSuffix(out, want) {
		t.Fatalf("exit %d %s\n%q\nwant suffix %q", code, stderr, out, want)
	}
	code, out, _ = runMain(t, "schedule", "--kubernetes", "--project", path, "--image", "img:1")
	for _, w := range []string{"kind: CronJob", "name: p1\n", `schedule: "*/15 * * * *"`, "concurrencyPolicy: Forbid", "image: img:1", `args: ["run", "--project", "/etc/singer/singer.yaml", "p1"]`, "secretRef: {name: singer-env}"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("manifest lacks %q:\n%s", w, out)
		}
	}
	if code, _, stderr := runMain(t, "schedule", "--project", path); code != 2 || stderr != "singer: pass one of --crontab or --kubernetes\n" {
		t.Errorf("no mode: %d %q", code, stderr)
	}
}

func TestTimeoutStopsLikeSIGTERM(t *testing.T) {
	dir, path := writeProject(t, "    timeout: 1s\n    retries: 3")
	t.Setenv("TAP_BLOCK_AFTER", "2")
	t.Setenv("TAP_PID_FILE", filepath.Join(dir, "tap.pid"))
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != 1 || !strings.Contains(stderr, "timeout 1s expired: stopping counter; lines finishes what it read") || !strings.Contains(stderr, "p1: timeout in") || strings.Contains(stderr, "retrying") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	st, _ := os.ReadFile(filepath.Join(dir, "state", "p1.state.json"))
	if string(st) != "{\"pos\":2}\n" {
		t.Fatalf("saved state %q", st)
	}
}

func TestInitWritesAValidStarter(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	for _, n := range []string{"tap-zeta", "target-alpha"} {
		os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755)
	}
	t.Setenv("PATH", bin)
	path := filepath.Join(dir, "singer.yaml")
	code, out, stderr := runMain(t, "init", "--project", path)
	if code != 0 || out != "wrote "+path+" (source: tap-zeta, destination: target-alpha)\n" {
		t.Fatalf("exit %d %q %s", code, out, stderr)
	}
	if code, out, stderr := runMain(t, "select", "--project", path, "nope"); code != 2 || !strings.Contains(stderr, `no pipeline or connector named "nope"`) {
		t.Fatalf("the starter does not load: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := runMain(t, "init", "--project", path); code != 2 || !strings.Contains(stderr, "exists already") {
		t.Fatalf("second init: %d %s", code, stderr)
	}
}

// TestInitReadsAbout: the starter's configs come from each connector's
// --about: required settings first, the connection settings with their
// defaults, secrets from the environment; tap-postgres and target-postgres
// are preferred when found.
func TestInitReadsAbout(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	about := func(settings string) []byte {
		// PATH holds only bin: shell builtins only.
		return []byte("#!/bin/sh\n[ \"$1\" = --about ] && echo '{\"name\":\"x\",\"settings\":" + settings + "}'\n")
	}
	os.WriteFile(filepath.Join(bin, "tap-aaa"), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "tap-postgres"), about(`{"type":"object","properties":{"port":{"type":"integer","default":5432,"description":"Server port. More."},"host":{"type":"string","description":"Host."},"password":{"type":"string"},"filter_schemas":{"type":"array"}}}`), 0o755)
	os.WriteFile(filepath.Join(bin, "target-zzz"), about(`{"type":"object","required":["files"],"properties":{"files":{"type":"array","description":"The files."},"dbname":{"type":["string","null"]}}}`), 0o755)
	t.Setenv("PATH", bin)
	path := filepath.Join(dir, "singer.yaml")
	if code, out, stderr := runMain(t, "init", "--project", path); code != 0 || out != "wrote "+path+" (source: tap-postgres, destination: target-zzz)\n" {
		t.Fatalf("exit %d %q %s", code, out, stderr)
	}
	b, _ := os.ReadFile(path)
	want := `connectors:
  source:
    command: tap-postgres
    config:                 # from tap-postgres --about; every setting: tap-postgres --about --format markdown
      host: ""  # Host.
      port: 5432  # Server port.
      password: ${SOURCE_PASSWORD:-}
    select: ["*.*"]         # stream.property globs; "!stream.column" leaves a column out
    # metadata:
    #   some-stream: {replication-method: INCREMENTAL, replication-key: updated_at}
  destination:
    command: target-zzz
    config:                 # from target-zzz --about; every setting: target-zzz --about --format markdown
      files: []  # required. The files.
      dbname: ""
pipelines:
`
	if !strings.Contains(string(b), want) {
		t.Errorf("starter:\n%s\nwant it to hold:\n%s", b, want)
	}
	if code, out, stderr := runMain(t, "select", "--project", path, "nope"); code != 2 || !strings.Contains(stderr, `no pipeline or connector named "nope"`) {
		t.Fatalf("the starter does not load: %d %s %s", code, out, stderr)
	}
}

func TestUnknownConnectorNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "singer.yaml")
	os.WriteFile(path, []byte("connectors:\n  a: {command: x}\npipelines:\n  p:\n    tap: a\n    target: b\n"), 0o600)
	code, _, stderr := runMain(t, "run", "--project", path, "p")
	if want := "singer: singer.yaml:6: pipelines.p.target: no connector named \"b\" (connectors: a)\n"; code != 2 || stderr != want {
		t.Fatalf("exit %d %q, want %q", code, stderr, want)
	}
}

// TestLogFormatJSON: with --log-format json every line on stderr is one
// JSON object with time, source, level and msg; the children's lines keep
// their source, the summary carries the run, and no secret appears.
func TestLogFormatJSON(t *testing.T) {
	_, path := writeProject(t, "")
	code, _, stderr := runMain(t, "run", "--project", path, "--log-format", "json", "p1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sources := map[string]bool{}
	var summary *statestore.Run
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m struct {
			Time     string          `json:"time"`
			Source   string          `json:"source"`
			Level    string          `json:"level"`
			Msg      string          `json:"msg"`
			Pipeline string          `json:"pipeline"`
			Summary  *statestore.Run `json:"summary"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("not a JSON log line (%v): %s", err, line)
		}
		if m.Time == "" || m.Source == "" || m.Level == "" || m.Msg == "" {
			t.Errorf("line lacks a field: %s", line)
		}
		sources[m.Source] = true
		if m.Summary != nil {
			summary = m.Summary
			if m.Pipeline != "p1" || m.Level != "info" {
				t.Errorf("summary line: %s", line)
			}
		}
	}
	for _, s := range []string{"singer run", "counter", "lines"} {
		if !sources[s] {
			t.Errorf("no line from %q:\n%s", s, stderr)
		}
	}
	if summary == nil || summary.Status != "success" || summary.Records["items"] != 5 || summary.StatesSaved != 5 {
		t.Errorf("summary %+v", summary)
	}
}

func TestChildLevel(t *testing.T) {
	for line, want := range map[string]string{
		"INFO METRIC: {}":                   "info",
		"WARNING stream x: a warning":       "warning",
		"ERROR something broke":             "error",
		"CRITICAL boom":                     "error",
		"DEBUG detail":                      "debug",
		"target-x: error: connecting: boom": "error",
		"discovering":                       "info",
	} {
		if got := childLevel(line); got != want {
			t.Errorf("childLevel(%q) = %q, want %q", line, got, want)
		}
	}
}
