package jsonl

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

// testNow is the clock of every test run: _sdc_received_at is
// 2024-01-02T03:04:05.000000Z and _sdc_sequence starts at its Unix nanoseconds,
// 1704164645000000000.
func testNow() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// Messages used across the tests.
const (
	schemaUsers  = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["string","null"]}}},"key_properties":["id"]}`
	schemaOrders = `{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"},"total":{"type":"number"}}},"key_properties":["id"]}`
)

func user(id string) string {
	return `{"type":"RECORD","stream":"users","record":{"id":` + id + `}}`
}

func state(n string) string { return `{"type":"STATE","value":{"n":` + n + `}}` }

func lines(ls ...string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

type result struct {
	code    int
	stdout  string
	stderr  string   // without metric lines
	metrics []string // the INFO METRIC lines
}

// runTarget runs target-jsonl in-process with cfg (destination_path defaults to
// dir) on the input.
func runTarget(t *testing.T, ctx context.Context, dir string, cfg map[string]any, in io.Reader, stdout io.Writer) result {
	t.Helper()
	c := map[string]any{"destination_path": dir}
	for k, v := range cfg {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if stdout == nil {
		stdout = &out
	}
	code := cli.RunTarget(ctx, spec(testNow), []string{"--config", cfgPath}, in, stdout, &errb)
	r := result{code: code, stdout: out.String()}
	for _, l := range strings.SplitAfter(errb.String(), "\n") {
		if strings.HasPrefix(l, "INFO METRIC: ") {
			r.metrics = append(r.metrics, strings.TrimSuffix(l, "\n"))
		} else {
			r.stderr += l
		}
	}
	return r
}

func runString(t *testing.T, dir string, cfg map[string]any, input string) result {
	t.Helper()
	return runTarget(t, context.Background(), dir, cfg, strings.NewReader(input), nil)
}

// readFiles returns every file of dir by name.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue // only a test puts one there
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func checkFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := readFiles(t, dir)
	if want == nil {
		want = map[string]string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files:\n got %q\nwant %q", got, want)
	}
}

func TestWritesOneFilePerStream(t *testing.T) {
	tests := []struct {
		name   string
		cfg    map[string]any
		input  string
		files  map[string]string
		stdout string
		stderr string
	}{
		{
			name: "records byte for byte, numbers keep their text",
			input: lines(schemaUsers, schemaOrders,
				`{"type":"RECORD","stream":"users","record":{"id":1,"name":"Ada"}}`,
				`{"type":"RECORD","stream":"orders","record":{ "id" : 7 , "total":10.50 }}`,
				`{"type":"RECORD","stream":"users","record":{"id":2,"name":"Grace \u00e9\"q\""},"time_extracted":"2024-01-01T00:00:00Z"}`,
				`{"type":"RECORD","stream":"orders","record":{"id":8,"total":1E+2,"extra":[1.0,{"a":null}]}}`,
				`{"type":"RECORD","stream":"orders","record":{"id":9,"total":123456789012345678901234567890.123456789}}`,
			),
			files: map[string]string{
				"users.jsonl": lines(`{"id":1,"name":"Ada"}`, `{"id":2,"name":"Grace \u00e9\"q\""}`),
				"orders.jsonl": lines(`{ "id" : 7 , "total":10.50 }`, `{"id":8,"total":1E+2,"extra":[1.0,{"a":null}]}`,
					`{"id":9,"total":123456789012345678901234567890.123456789}`),
			},
		},
		{
			name: "type matched case-insensitively, unknown types skipped with a warning",
			input: lines(schemaUsers,
				`{"type":"record","stream":"users","record":{"id":1}}`,
				`{"type":"FANCY","stream":"users"}`,
				`{"type":"Record","stream":"users","record":{"id":2}}`,
			),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":2}`)},
			stderr: "WARNING line 3: skipping messages of unknown type \"FANCY\"\n",
		},
		{
			name:  "ACTIVATE_VERSION writes nothing and is noted",
			input: lines(schemaUsers, `{"type":"RECORD","stream":"users","record":{"id":1},"version":5}`, `{"type":"ACTIVATE_VERSION","stream":"users","version":5}`),
			files: map[string]string{"users.jsonl": lines(`{"id":1}`)},
			stderr: `INFO line 3: stream "users": ACTIVATE_VERSION 5 noted; a jsonl file keeps the records of every version ` +
				"(add_metadata_columns shows each record's in _sdc_table_version)\n",
		},
		{
			name:  "a stream without records gets no file",
			input: lines(schemaUsers, schemaOrders, user("1")),
			files: map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:  "a changed SCHEMA applies to the records after it",
			input: lines(schemaUsers, user("1"), strings.Replace(schemaUsers, `"integer"`, `"string"`, 1), user(`"a"`), schemaUsers),
			files: map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":"a"}`)},
		},
		{
			name:  "validate_records false writes records that do not match",
			cfg:   map[string]any{"validate_records": false},
			input: lines(schemaUsers, user(`"x"`), user("2")),
			files: map[string]string{"users.jsonl": lines(`{"id":"x"}`, `{"id":2}`)},
		},
		{
			name:  "blank lines and CRLF are accepted",
			input: schemaUsers + "\r\n\r\n" + user("1") + "\r\n" + user("2"),
			files: map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":2}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runString(t, dir, tt.cfg, tt.input)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			checkFiles(t, dir, tt.files)
			if r.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.stdout)
			}
			if r.stderr != tt.stderr {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
		})
	}
}

func TestMetricsCountRecordsPerStream(t *testing.T) {
	dir := t.TempDir()
	r := runString(t, dir, nil, lines(schemaUsers, schemaOrders, user("1"), user("2"), `{"type":"RECORD","stream":"orders","record":{"id":1,"total":1}}`))
	want := []string{
		`INFO METRIC: {"type":"counter","metric":"record_count","value":1,"tags":{"stream":"orders"}}`,
		`INFO METRIC: {"type":"counter","metric":"record_count","value":2,"tags":{"stream":"users"}}`,
	}
	if !reflect.DeepEqual(r.metrics, want) {
		t.Errorf("metrics %q, want %q", r.metrics, want)
	}
}

func TestStates(t *testing.T) {
	tests := []struct {
		name   string
		cfg    map[string]any
		input  string
		stdout string
	}{
		{
			name:   "intermediate states are echoed bare, in order",
			input:  lines(schemaUsers, user("1"), state("1"), user("2"), schemaOrders, state("2"), user("3"), state("3"), user("4")),
			stdout: lines(`{"n":1}`, `{"n":2}`, `{"n":3}`),
		},
		{
			name:   "the state value keeps its exact bytes",
			input:  lines(schemaUsers, user("1"), `{"type":"STATE","value":{ "bookmarks" : {"users": {"id": 1.50}} }}`),
			stdout: lines(`{ "bookmarks" : {"users": {"id": 1.50}} }`),
		},
		{
			name:   "zero records and a state: the state is echoed",
			input:  lines(schemaUsers, state("7")),
			stdout: lines(`{"n":7}`),
		},
		{
			name:   "a state alone",
			input:  lines(state("7")),
			stdout: lines(`{"n":7}`),
		},
		{
			name:   "no state in the input: nothing on stdout",
			input:  lines(schemaUsers, user("1"), user("2")),
			stdout: "",
		},
		{
			name:   "empty input: nothing on stdout",
			input:  "",
			stdout: "",
		},
		{
			name:   "states without records between them are each echoed",
			input:  lines(schemaUsers, state("1"), state("2"), user("1"), state("3")),
			stdout: lines(`{"n":1}`, `{"n":2}`, `{"n":3}`),
		},
		{
			name:   "batch_size_rows commits do not invent states",
			cfg:    map[string]any{"batch_size_rows": 1},
			input:  lines(schemaUsers, user("1"), user("2"), state("1"), user("3")),
			stdout: lines(`{"n":1}`),
		},
		{
			name:   "fsync off changes no output",
			cfg:    map[string]any{"fsync": false},
			input:  lines(schemaUsers, user("1"), state("1"), user("2"), state("2")),
			stdout: lines(`{"n":1}`, `{"n":2}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runString(t, t.TempDir(), tt.cfg, tt.input)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if r.stdout != tt.stdout {
				t.Errorf("stdout:\n got %q\nwant %q", r.stdout, tt.stdout)
			}
		})
	}
}

// stateProbe is the target's stdout: at every state line it reads the
// destination's files, so a test sees what was on disk when the state left.
type stateProbe struct {
	t      *testing.T
	dir    string
	buf    bytes.Buffer
	states []probedState
}

type probedState struct {
	value string
	files map[string]string
}

func (p *stateProbe) Write(b []byte) (int, error) {
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadString('\n')
		if err != nil {
			p.buf.WriteString(line) // keep the partial line
			return len(b), nil
		}
		p.states = append(p.states, probedState{value: strings.TrimSuffix(line, "\n"), files: readFiles(p.t, p.dir)})
	}
}

func TestStateOnlyAfterItsRecordsAreOnDisk(t *testing.T) {
	dir := t.TempDir()
	probe := &stateProbe{t: t, dir: dir}
	input := lines(schemaUsers, schemaOrders,
		user("1"), `{"type":"RECORD","stream":"orders","record":{"id":10,"total":1.5}}`, state("1"),
		user("2"), state("2"),
		`{"type":"RECORD","stream":"orders","record":{"id":11,"total":2}}`, user("3"), state("3"),
		user("4"),
	)
	r := runTarget(t, context.Background(), dir, map[string]any{"batch_size_rows": 1000}, strings.NewReader(input), probe)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := []probedState{
		{`{"n":1}`, map[string]string{"users.jsonl": lines(`{"id":1}`), "orders.jsonl": lines(`{"id":10,"total":1.5}`)}},
		{`{"n":2}`, map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":2}`), "orders.jsonl": lines(`{"id":10,"total":1.5}`)}},
		{`{"n":3}`, map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":2}`, `{"id":3}`), "orders.jsonl": lines(`{"id":10,"total":1.5}`, `{"id":11,"total":2}`)}},
	}
	if !reflect.DeepEqual(probe.states, want) {
		t.Errorf("states and files when each state was written:\n got %q\nwant %q", probe.states, want)
	}
	checkFiles(t, dir, map[string]string{
		"users.jsonl":  lines(`{"id":1}`, `{"id":2}`, `{"id":3}`, `{"id":4}`),
		"orders.jsonl": lines(`{"id":10,"total":1.5}`, `{"id":11,"total":2}`),
	})
}

// On an error each file holds exactly the records before the last STATE the
// run echoed: records after it are cut even when a batch_size_rows commit or
// a changed SCHEMA made them durable, and so is the failing record. Before
// any state was echoed, each file is back to its size at the start of the
// run and a file the run created is removed. What is on disk after the error
// is what was on disk when the last state was echoed.
func TestErrorsCutFilesBackToTheLastEchoedState(t *testing.T) {
	src := t.TempDir()
	dupBatch := filepath.Join(src, "dup.jsonl") // one record with "id" twice
	if err := os.WriteFile(dupBatch, []byte(lines(`{"id":1,"id":2}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	badBatch := filepath.Join(src, "bad.jsonl")
	if err := os.WriteFile(badBatch, []byte(lines(`{"id":5}`, `{"id":6}`, `{"id":7}`, `{"id":false}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	order := func(id string) string {
		return `{"type":"RECORD","stream":"orders","record":{"id":` + id + `,"total":1}}`
	}
	usersIDString := strings.Replace(schemaUsers, `"integer"`, `"string"`, 1)
	ordersTotalString := strings.Replace(schemaOrders, `"total":{"type":"number"}`, `"total":{"type":"string"}`, 1)
	tests := []struct {
		name     string
		cfg      map[string]any
		existing map[string]string // files before the run
		dirs     []string          // directories before the run
		input    string
		stderr   string
		stdout   string
		files    map[string]string
	}{
		{
			name:   "record before its schema",
			input:  lines(schemaUsers, user("1"), state("1"), user("2"), `{"type":"RECORD","stream":"orders","record":{"id":1}}`, user("3")),
			stderr: "target-jsonl: error: line 5: RECORD for stream \"orders\" comes before any SCHEMA for that stream\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "lone surrogate: refused, never replaced",
			input:  lines(schemaUsers, user("1"), state("1"), `{"type":"RECORD","stream":"users","record":{"id":2,"name":"x\ud800"}}`, user("3")),
			stderr: `target-jsonl: error: line 4: invalid JSON: lone UTF-16 surrogate \ud800 in a string (half a character: refused, never replaced; fix the producer) at byte 61 (line starts "{\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{\"id\":2,\"name\":\"x"...)` + "\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "invalid record mid-stream",
			input:  lines(schemaUsers, schemaOrders, user("1"), order("1"), state("1"), user("2"), order("2"), user(`"3"`), user("4")),
			stderr: "target-jsonl: error: line 8: stream \"users\": /id: expected integer, but got string\n",
			stdout: lines(`{"n":1}`),
			files: map[string]string{
				"users.jsonl":  lines(`{"id":1}`),
				"orders.jsonl": lines(`{"id":1,"total":1}`),
			},
		},
		{
			name:   "key property missing, with or without validation: refused as by every target",
			cfg:    map[string]any{"validate_records": false},
			input:  lines(schemaUsers, user("1"), state("1"), `{"type":"RECORD","stream":"users","record":{"name":"n"}}`),
			stderr: "target-jsonl: error: line 4: stream \"users\": key property \"id\" is missing or null\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "key property null",
			input:  lines(strings.Replace(schemaUsers, `"id":{"type":"integer"}`, `"id":{"type":["integer","null"]}`, 1), user("1"), state("1"), user("null")),
			stderr: "target-jsonl: error: line 4: stream \"users\": key property \"id\" is missing or null\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "a property twice in a record",
			input:  lines(schemaUsers, user("1"), state("1"), `{"type":"RECORD","stream":"users","record":{"id":2,"name":"a","name":"b"}}`),
			stderr: "target-jsonl: error: line 4: invalid JSON: duplicate key \"name\" at byte 63 (line starts \"{\\\"type\\\":\\\"RECORD\\\",\\\"stream\\\":\\\"users\\\",\\\"record\\\":{\\\"id\\\":2,\\\"name\\\":\\\"a\"...)\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "a property twice in a BATCH file's record",
			cfg:    map[string]any{"validate_records": false, "batch_roots": []string{src}},
			input:  lines(schemaUsers, user("1"), state("1"), `{"type":"BATCH","stream":"users","encoding":{"format":"jsonl","compression":"none"},"manifest":["`+dupBatch+`"]}`),
			stderr: "target-jsonl: error: line 4: stream \"users\": batch file SRC/dup.jsonl line 1: record is not valid JSON: duplicate key \"id\" at byte 9\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "records a batch_size_rows commit made durable after the last state are cut",
			cfg:    map[string]any{"batch_size_rows": 2},
			input:  lines(schemaUsers, user("1"), state("1"), user("2"), user("3"), user("4"), user("true")),
			stderr: "target-jsonl: error: line 7: stream \"users\": /id: expected integer, but got boolean\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name: "batch_size_rows commits after the last state, a stream first seen after it loses its file",
			cfg:  map[string]any{"batch_size_rows": 1},
			input: lines(schemaUsers, schemaOrders, user("1"), user("2"), state("1"), user("3"), state("2"),
				user("4"), order("1"), order("2"), user("5"), order(`"x"`)),
			stderr: "target-jsonl: error: line 12: stream \"orders\": /id: expected integer, but got string\n",
			stdout: lines(`{"n":1}`, `{"n":2}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":2}`, `{"id":3}`)},
		},
		{
			name:     "batch_size_rows commits after the last state: an existing file keeps what it had plus the covered records",
			cfg:      map[string]any{"batch_size_rows": 1},
			existing: map[string]string{"users.jsonl": lines(`{"id":0}`), "orders.jsonl": lines(`{"id":0,"total":0}`)},
			input:    lines(schemaUsers, schemaOrders, user("1"), state("1"), user("2"), order("1"), user("3"), `{"type":"RECORD","stream":"orders"}`),
			stderr:   "target-jsonl: error: line 8: RECORD for stream \"orders\" has no \"record\" (line starts \"{\\\"type\\\":\\\"RECORD\\\",\\\"stream\\\":\\\"orders\\\"}\")\n",
			stdout:   lines(`{"n":1}`),
			files: map[string]string{
				"users.jsonl":  lines(`{"id":0}`, `{"id":1}`),
				"orders.jsonl": lines(`{"id":0,"total":0}`),
			},
		},
		{
			name: "no state echoed: commits by batch_size_rows and a changed SCHEMA are all cut, existing files back to their start, new ones removed",
			cfg:  map[string]any{"batch_size_rows": 2},
			existing: map[string]string{
				"users.jsonl": lines(`{"id":0}`),
				"other.jsonl": lines(`{"untouched":true}`),
			},
			input: lines(schemaUsers, schemaOrders, user("1"), user("2"), user("3"), order("1"),
				ordersTotalString, `{"type":"RECORD","stream":"orders","record":{"id":2,"total":"2"}}`, user("4"), user("null")),
			stderr: "target-jsonl: error: line 10: stream \"users\": /id: expected integer, but got null\n",
			stdout: "",
			files: map[string]string{
				"users.jsonl": lines(`{"id":0}`),
				"other.jsonl": lines(`{"untouched":true}`),
			},
		},
		{
			name:   "no state echoed: a changed SCHEMA's commit does not keep the file",
			input:  lines(schemaUsers, schemaOrders, user("1"), order("1"), usersIDString, user(`"a"`), order(`"x"`)),
			stderr: "target-jsonl: error: line 7: stream \"orders\": /id: expected integer, but got string\n",
			stdout: "",
			files:  nil,
		},
		{
			name: "state echoed, then a changed SCHEMA commits its stream, then an error",
			input: lines(schemaUsers, schemaOrders, user("1"), order("1"), state("1"), user("2"), order("2"),
				usersIDString, user(`"a"`), order("3"), `{"type":"RECORD","stream":"users","record":{"id":"b"}`),
			stderr: "target-jsonl: error: line 11: invalid JSON: unexpected end of input in an object (truncated line?) at byte 54 " +
				"(line starts \"{\\\"type\\\":\\\"RECORD\\\",\\\"stream\\\":\\\"users\\\",\\\"record\\\":{\\\"id\\\":\\\"b\\\"}\")\n",
			stdout: lines(`{"n":1}`),
			files: map[string]string{
				"users.jsonl":  lines(`{"id":1}`),
				"orders.jsonl": lines(`{"id":1,"total":1}`),
			},
		},
		{
			name:     "state echoed after a changed SCHEMA, then another change and an error",
			existing: map[string]string{"users.jsonl": lines(`{"id":0}`)},
			input: lines(schemaUsers, user("1"), usersIDString, user(`"a"`), state("1"),
				user(`"b"`), schemaUsers, user("2"), user(`"c"`)),
			stderr: "target-jsonl: error: line 9: stream \"users\": /id: expected integer, but got string\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":0}`, `{"id":1}`, `{"id":"a"}`)},
		},
		{
			name:   "malformed JSON line",
			input:  lines(schemaUsers, user("1"), state("1"), user("2"), `{"type":"RECORD","stream":"users","record":{"id":3}`),
			stderr: "target-jsonl: error: line 5: invalid JSON: unexpected end of input in an object (truncated line?) at byte 52 (line starts \"{\\\"type\\\":\\\"RECORD\\\",\\\"stream\\\":\\\"users\\\",\\\"record\\\":{\\\"id\\\":3}\")\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "error before any commit removes the file the run created",
			input:  lines(schemaUsers, user("1"), user("2"), user("null")),
			stderr: "target-jsonl: error: line 4: stream \"users\": /id: expected integer, but got null\n",
			files:  nil,
		},
		{
			name:     "an existing file is cut back to its size at the start",
			existing: map[string]string{"users.jsonl": lines(`{"id":0}`)},
			input:    lines(schemaUsers, user("1"), user("2"), user(`"x"`)),
			stderr:   "target-jsonl: error: line 4: stream \"users\": /id: expected integer, but got string\n",
			files:    map[string]string{"users.jsonl": lines(`{"id":0}`)},
		},
		{
			name:     "an existing file that ended in a torn line is cut back to its repaired start",
			existing: map[string]string{"users.jsonl": lines(`{"id":0}`) + `{"id":`},
			cfg:      map[string]any{"batch_size_rows": 1},
			input:    lines(schemaUsers, user("1"), user("2"), user(`"x"`)),
			stderr: "WARNING DIR/users.jsonl ended with 6 bytes of a partial line (from an interrupted run); truncated it to 9 bytes, its last complete line\n" +
				"target-jsonl: error: line 4: stream \"users\": /id: expected integer, but got string\n",
			files: map[string]string{"users.jsonl": lines(`{"id":0}`)},
		},
		{
			name:   "a bad BATCH file after a batch_size_rows commit inside it",
			cfg:    map[string]any{"batch_size_rows": 2, "batch_roots": []string{src}},
			input:  lines(schemaUsers, user("1"), state("1"), user("2"), `{"type":"BATCH","stream":"users","encoding":{"format":"jsonl","compression":"none"},"manifest":["`+badBatch+`"]}`),
			stderr: "target-jsonl: error: line 5: stream \"users\": batch file SRC/bad.jsonl line 4: /id: expected integer, but got boolean\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "a stream file that cannot be opened",
			cfg:    map[string]any{"batch_size_rows": 1},
			dirs:   []string{"orders.jsonl"},
			input:  lines(schemaUsers, schemaOrders, user("1"), state("1"), user("2"), order("1")),
			stderr: "target-jsonl: error: stream \"orders\": open DIR/orders.jsonl: is a directory\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
		{
			name:   "invalid schema",
			input:  lines(schemaUsers, user("1"), state("1"), `{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integr"}}},"key_properties":[]}`),
			stderr: "target-jsonl: error: line 4: stream \"orders\": invalid schema: /properties/id/type: value must be one of \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"; /properties/id/type: expected array, but got string\n",
			stdout: lines(`{"n":1}`),
			files:  map[string]string{"users.jsonl": lines(`{"id":1}`)},
		},
	}
	for _, tt := range tests {
		for _, fsync := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fsync=%v", tt.name, fsync), func(t *testing.T) {
				dir := t.TempDir()
				for name, content := range tt.existing {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				for _, name := range tt.dirs {
					if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				cfg := map[string]any{"fsync": fsync}
				for k, v := range tt.cfg {
					cfg[k] = v
				}
				probe := &stateProbe{t: t, dir: dir}
				r := runTarget(t, context.Background(), dir, cfg, strings.NewReader(tt.input), probe)
				if r.code != cli.ExitRuntime {
					t.Errorf("exit %d, want %d", r.code, cli.ExitRuntime)
				}
				stderr := strings.ReplaceAll(strings.ReplaceAll(r.stderr, dir, "DIR"), src, "SRC")
				if stderr != tt.stderr {
					t.Errorf("stderr:\n got %q\nwant %q", stderr, tt.stderr)
				}
				var stdout string
				for _, s := range probe.states {
					stdout += s.value + "\n"
				}
				if stdout != tt.stdout {
					t.Errorf("stdout:\n got %q\nwant %q", stdout, tt.stdout)
				}
				checkFiles(t, dir, tt.files)
				// The files are what they were when the last state was echoed
				// (the files before the run, repaired, when none was).
				if n := len(probe.states); n > 0 {
					checkFiles(t, dir, probe.states[n-1].files)
				}
			})
		}
	}
}

func TestTornLastLineIsRepaired(t *testing.T) {
	long := `{"id":9,"name":"` + strings.Repeat("x", 200<<10) // a torn line longer than one read of the tail
	tests := []struct {
		name     string
		existing string
		want     string
		stderr   string
	}{
		{
			name:     "partial line after complete ones",
			existing: lines(`{"id":1}`, `{"id":2}`) + `{"id":3,"na`,
			want:     lines(`{"id":1}`, `{"id":2}`, `{"id":10}`),
			stderr:   "WARNING DIR/users.jsonl ended with 11 bytes of a partial line (from an interrupted run); truncated it to 18 bytes, its last complete line\n",
		},
		{
			name:     "nothing but a partial line",
			existing: `{"id":3,"na`,
			want:     lines(`{"id":10}`),
			stderr:   "WARNING DIR/users.jsonl ended with 11 bytes of a partial line (from an interrupted run); truncated it to 0 bytes, its last complete line\n",
		},
		{
			name:     "a partial line longer than the tail buffer",
			existing: lines(`{"id":1}`) + long,
			want:     lines(`{"id":1}`, `{"id":10}`),
			stderr:   "WARNING DIR/users.jsonl ended with 204816 bytes of a partial line (from an interrupted run); truncated it to 9 bytes, its last complete line\n",
		},
		{
			name:     "zero bytes left by a crash",
			existing: lines(`{"id":1}`) + "\x00\x00\x00\x00",
			want:     lines(`{"id":1}`, `{"id":10}`),
			stderr:   "WARNING DIR/users.jsonl ended with 4 bytes of a partial line (from an interrupted run); truncated it to 9 bytes, its last complete line\n",
		},
		{
			name:     "a complete file is left as it is",
			existing: lines(`{"id":1}`),
			want:     lines(`{"id":1}`, `{"id":10}`),
		},
		{
			name:     "an empty file is left as it is",
			existing: "",
			want:     lines(`{"id":10}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "users.jsonl")
			if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runString(t, dir, nil, lines(schemaUsers, user("10"), state("1")))
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			checkFiles(t, dir, map[string]string{"users.jsonl": tt.want})
			if got := strings.ReplaceAll(r.stderr, dir, "DIR"); got != tt.stderr {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.stderr)
			}
			if r.stdout != lines(`{"n":1}`) {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

func TestRerunAppends(t *testing.T) {
	dir := t.TempDir()
	input := lines(schemaUsers, schemaOrders, user("1"), `{"type":"RECORD","stream":"orders","record":{"id":1,"total":1}}`, state("1"), user("2"))
	for run := 1; run <= 2; run++ {
		r := runString(t, dir, nil, input)
		if r.code != 0 || r.stdout != lines(`{"n":1}`) || r.stderr != "" {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", run, r.code, r.stdout, r.stderr)
		}
	}
	checkFiles(t, dir, map[string]string{
		"users.jsonl":  lines(`{"id":1}`, `{"id":2}`, `{"id":1}`, `{"id":2}`),
		"orders.jsonl": lines(`{"id":1,"total":1}`, `{"id":1,"total":1}`),
	})
}

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBatch(t *testing.T) {
	src := t.TempDir()
	gz1 := filepath.Join(src, "users-1.jsonl.gz")
	gz2 := filepath.Join(src, "users 2.jsonl.gz")
	plain := filepath.Join(src, "users-3.jsonl")
	bad := filepath.Join(src, "bad.jsonl.gz")
	writeGzip(t, gz1, lines(`{"id":1,"name":"a"}`, `{"id":2, "name":1.50}`, ``))
	writeGzip(t, gz2, `{"id":3}`) // no final newline
	if err := os.WriteFile(plain, []byte(lines(`{"id":4}`)+"\r\n"+`{"id":5}`+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeGzip(t, bad, lines(`{"id":6}`, `{"id":"7"}`))
	// Files a BATCH must not reach: one outside the root, reached by its
	// path, by ".." and by a symlink inside the root.
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret.jsonl")
	if err := os.WriteFile(secret, []byte(lines(`{"id":666}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(src, "link.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretDir, filepath.Join(src, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plain, filepath.Join(src, "inner-link.jsonl")); err != nil {
		t.Fatal(err)
	}
	dotdot := src + "/../" + filepath.Base(secretDir) + "/secret.jsonl" // not cleaned
	roots := map[string]any{"batch_roots": []string{src}}
	batch := func(compression string, manifest ...string) string {
		m, _ := json.Marshal(manifest)
		return `{"type":"BATCH","stream":"users","encoding":{"format":"jsonl","compression":"` + compression + `"},"manifest":` + string(m) + `}`
	}
	schemaAny := strings.Replace(schemaUsers, `"name":{"type":["string","null"]}`, `"name":{}`, 1)
	tests := []struct {
		name   string
		cfg    map[string]any // nil: roots
		input  string
		code   int
		files  map[string]string
		stdout string
		stderr string
	}{
		{
			name:   "gzip files by file URL and path, then a plain file",
			input:  lines(schemaAny, user("0"), batch("gzip", "file://"+gz1, gz2), batch("none", plain), state("1")),
			files:  map[string]string{"users.jsonl": lines(`{"id":0}`, `{"id":1,"name":"a"}`, `{"id":2, "name":1.50}`, `{"id":3}`, `{"id":4}`, `{"id":5}`)},
			stdout: lines(`{"n":1}`),
		},
		{
			name:   "an invalid record in a batch file",
			input:  lines(schemaAny, user("0"), state("1"), batch("gzip", bad)),
			code:   1,
			files:  map[string]string{"users.jsonl": lines(`{"id":0}`)},
			stdout: lines(`{"n":1}`),
			stderr: "target-jsonl: error: line 4: stream \"users\": batch file SRC/bad.jsonl.gz line 2: /id: expected integer, but got string\n",
		},
		{
			name:   "a missing batch file",
			input:  lines(schemaAny, batch("gzip", filepath.Join(src, "nope.gz"))),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": batch file SRC/nope.gz: no such file or directory\n",
		},
		{
			name:   "a remote manifest entry",
			input:  lines(schemaAny, batch("gzip", "s3://bucket/users.jsonl.gz")),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": manifest entry \"s3://bucket/users.jsonl.gz\": only file:// URLs and local paths are supported\n",
		},
		{
			name:   "a plain file read as gzip",
			input:  lines(schemaAny, batch("gzip", plain)),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": batch file SRC/users-3.jsonl: not gzip: gzip: invalid header\n",
		},
		{
			name:   "a symlink inside the root to a file inside it",
			input:  lines(schemaAny, batch("none", filepath.Join(src, "inner-link.jsonl")), state("1")),
			files:  map[string]string{"users.jsonl": lines(`{"id":4}`, `{"id":5}`)},
			stdout: lines(`{"n":1}`),
		},
		{
			name:   "no batch_roots: every BATCH file is refused",
			cfg:    map[string]any{},
			input:  lines(schemaAny, user("0"), state("1"), batch("gzip", gz1), state("2")),
			code:   1,
			files:  map[string]string{"users.jsonl": lines(`{"id":0}`)},
			stdout: lines(`{"n":1}`),
			stderr: "target-jsonl: error: line 4: BATCH for stream \"users\": batch file SRC/users-1.jsonl.gz refused: BATCH files are read only from the directories in batch_roots, and it is not set (set batch_roots to the directory the tap writes them to)\n",
		},
		{
			name:   "a file outside the roots",
			input:  lines(schemaAny, user("0"), state("1"), batch("none", plain, secret), state("2")),
			code:   1,
			files:  map[string]string{"users.jsonl": lines(`{"id":0}`)},
			stdout: lines(`{"n":1}`),
			stderr: "target-jsonl: error: line 4: BATCH for stream \"users\": batch file SECRET/secret.jsonl refused: it is outside batch_roots (SRC)\n",
		},
		{
			name:   "a file URL outside the roots",
			input:  lines(schemaAny, batch("none", "file:///etc/passwd")),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": batch file /etc/passwd refused: it is outside batch_roots (SRC)\n",
		},
		{
			name:   "a path out of the root by ..",
			input:  lines(schemaAny, batch("none", dotdot)),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": batch file SRC/../" + filepath.Base(secretDir) + "/secret.jsonl refused: it is outside batch_roots (SRC)\n",
		},
		{
			name:   "a symlink inside the root to a file outside it",
			input:  lines(schemaAny, batch("none", "file://"+filepath.Join(src, "link.jsonl"))),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": batch file SRC/link.jsonl refused: it resolves to SECRET/secret.jsonl, outside batch_roots (SRC)\n",
		},
		{
			name:   "a path through a symlinked directory inside the root",
			input:  lines(schemaAny, batch("none", filepath.Join(src, "linkdir", "secret.jsonl"))),
			code:   1,
			stderr: "target-jsonl: error: line 2: BATCH for stream \"users\": batch file SRC/linkdir/secret.jsonl refused: it resolves to SECRET/secret.jsonl, outside batch_roots (SRC)\n",
		},
		{
			name:   "a BATCH before its SCHEMA",
			input:  lines(batch("gzip", gz1)),
			code:   1,
			stderr: "target-jsonl: error: line 1: BATCH for stream \"users\" comes before any SCHEMA for that stream\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := tt.cfg
			if cfg == nil {
				cfg = roots
			}
			r := runString(t, dir, cfg, tt.input)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			checkFiles(t, dir, tt.files)
			if r.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.stdout)
			}
			if got := strings.ReplaceAll(strings.ReplaceAll(r.stderr, src, "SRC"), secretDir, "SECRET"); got != tt.stderr {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.stderr)
			}
		})
	}
}

func TestMetadataColumns(t *testing.T) {
	dir := t.TempDir()
	input := lines(schemaUsers,
		`{"type":"RECORD","stream":"users","record":{"id":1,"name":"a"},"time_extracted":"2024-01-01T10:00:00.5+02:00","version":1700000000000}`,
		`{"type":"RECORD","stream":"users","record":{"id":2}}`,
		`{"type":"RECORD","stream":"users","record":{"id":3,"_sdc_sequence":1,"_sdc_deleted_at":"2024-01-01T00:00:00Z"}}`,
		`{"type":"RECORD","stream":"users","record":{ "id" : 4 }}`,
	)
	r := runString(t, dir, map[string]any{"add_metadata_columns": true}, input)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	const received = `"_sdc_received_at":"2024-01-02T03:04:05.000000Z"`
	checkFiles(t, dir, map[string]string{"users.jsonl": lines(
		`{"id":1,"name":"a","_sdc_extracted_at":"2024-01-01T08:00:00.500000Z",`+received+`,"_sdc_sequence":1704164645000000000,"_sdc_table_version":1700000000000}`,
		`{"id":2,"_sdc_extracted_at":null,`+received+`,"_sdc_sequence":1704164645000000001,"_sdc_table_version":null}`,
		`{"id":3,"_sdc_deleted_at":"2024-01-01T00:00:00Z","_sdc_extracted_at":null,`+received+`,"_sdc_sequence":1704164645000000002,"_sdc_table_version":null}`,
		`{ "id" : 4 ,"_sdc_extracted_at":null,`+received+`,"_sdc_sequence":1704164645000000003,"_sdc_table_version":null}`,
	)})
}

func TestMetadataColumnsRejectABadTimeExtracted(t *testing.T) {
	dir := t.TempDir()
	r := runString(t, dir, map[string]any{"add_metadata_columns": true},
		lines(schemaUsers, `{"type":"RECORD","stream":"users","record":{"id":1},"time_extracted":"yesterday"}`))
	want := "target-jsonl: error: line 2: stream \"users\": time_extracted \"yesterday\" is not an RFC 3339 timestamp\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
	checkFiles(t, dir, nil)
}

func TestFileName(t *testing.T) {
	long := strings.Repeat("a", 250)
	tests := []struct {
		name   string
		stream string
		want   string
	}{
		{"plain", "users", "users.jsonl"},
		{"tap-style id", "public-order_items.v2", "public-order_items.v2.jsonl"},
		{"slash", "public/users", "public%2Fusers.jsonl"},
		{"backslash", `a\b`, "a%5Cb.jsonl"},
		{"dot dot", "..", "%2E..jsonl"},
		{"dot", ".", "%2E.jsonl"},
		{"traversal", "../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd.jsonl"},
		{"hidden", ".config", "%2Econfig.jsonl"},
		{"spaces", "order items", "order%20items.jsonl"},
		{"percent is escaped, so escaping is injective", "a%2Fb", "a%252Fb.jsonl"},
		{"unicode letters kept", "café_日本", "café_日本.jsonl"},
		{"unicode punctuation and controls escaped", "a／b\u202e\n", "a%EF%BC%8Fb%E2%80%AE%0A.jsonl"},
		{"case kept", "Users", "Users.jsonl"},
		{"long name cut with a hash", long, strings.Repeat("a", 200) + "~" + "3f3e35e0a775d9b1" + ".jsonl"},
		{"long name cut before an escape", strings.Repeat("a", 199) + "/" + long, strings.Repeat("a", 199) + "~" + "df233a3f350a05b1" + ".jsonl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FileName(tt.stream)
			if got != tt.want {
				t.Errorf("FileName(%q) = %q, want %q", tt.stream, got, tt.want)
			}
			if strings.ContainsAny(got, `/\`) || got == "." || got == ".." || strings.HasPrefix(got, ".") || len(got) > 255 {
				t.Errorf("FileName(%q) = %q is not a safe file name", tt.stream, got)
			}
		})
	}
}

func TestStreamNamesBecomeSafeFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out", "nested") // created by the target
	streams := []string{"public/users", "..", "../escape", "order items", "café", "日本"}
	var in []string
	for _, s := range streams {
		q, _ := json.Marshal(s)
		in = append(in, `{"type":"SCHEMA","stream":`+string(q)+`,"schema":{"type":"object"},"key_properties":[]}`,
			`{"type":"RECORD","stream":`+string(q)+`,"record":{"s":`+string(q)+`}}`)
	}
	r := runString(t, dir, nil, lines(in...))
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	checkFiles(t, dir, map[string]string{
		"public%2Fusers.jsonl": lines(`{"s":"public/users"}`),
		"%2E..jsonl":           lines(`{"s":".."}`),
		"%2E.%2Fescape.jsonl":  lines(`{"s":"../escape"}`),
		"order%20items.jsonl":  lines(`{"s":"order items"}`),
		"café.jsonl":           lines(`{"s":"café"}`),
		"日本.jsonl":             lines(`{"s":"日本"}`),
	})
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"out"}) {
		t.Errorf("files outside destination_path: %q", names)
	}
}

func TestFiftyMegabyteRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB record")
	}
	dir := t.TempDir()
	rec := `{"id":1,"name":"` + strings.Repeat("abcdefghij", 5<<20) + `"}`
	input := lines(schemaUsers, `{"type":"RECORD","stream":"users","record":`+rec+`}`, user("2"), state("1"))
	r := runString(t, dir, nil, input)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "users.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if want := lines(rec, `{"id":2}`); string(got) != want {
		t.Errorf("file has %d bytes, want %d (the record and the next)", len(got), len(want))
	}
	if r.stdout != lines(`{"n":1}`) {
		t.Errorf("stdout %q", r.stdout)
	}
}

// pausedInput returns its data on the first Read, then blocks (an open pipe
// with nothing more to read) until the test ends.
type pausedInput struct {
	data []byte
	done chan struct{}
}

func (p *pausedInput) Read(b []byte) (int, error) {
	if len(p.data) > 0 {
		n := copy(b, p.data)
		p.data = p.data[n:]
		return n, nil
	}
	<-p.done
	return 0, io.EOF
}

// signalWriter collects stdout and signals each write.
type signalWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan struct{}
}

func (w *signalWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	select {
	case w.writes <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestInterruptCommitsWhatWasRead(t *testing.T) {
	dir := t.TempDir()
	in := &pausedInput{
		// The last line is cut: it is dropped, never half written.
		data: []byte(lines(schemaUsers, user("1"), state("1"), user("2"), user("3")) + `{"type":"RECORD","stream":"users","rec`),
		done: make(chan struct{}),
	}
	t.Cleanup(func() { close(in.done) })
	out := &signalWriter{writes: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan result, 1)
	go func() { results <- runTarget(t, ctx, dir, nil, in, out) }()
	select {
	case <-out.writes: // state 1 is out: the input was read
	case <-time.After(10 * time.Second):
		t.Fatal("no state within 10s")
	}
	cancel() // what a SIGTERM does
	var r result
	select {
	case r = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("the target did not stop within 10s of the cancellation")
	}
	if r.code != cli.ExitRuntime {
		t.Errorf("exit %d, want %d", r.code, cli.ExitRuntime)
	}
	if want := "target-jsonl: error: interrupted by a signal\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if got := out.String(); got != lines(`{"n":1}`) {
		t.Errorf("stdout %q", got)
	}
	checkFiles(t, dir, map[string]string{"users.jsonl": lines(`{"id":1}`, `{"id":2}`, `{"id":3}`)})
}

func TestInterruptBeforeAnyInput(t *testing.T) {
	dir := t.TempDir()
	in := &pausedInput{done: make(chan struct{})}
	t.Cleanup(func() { close(in.done) })
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan result, 1)
	go func() { results <- runTarget(t, ctx, dir, nil, in, nil) }()
	cancel()
	var r result
	select {
	case r = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("the target did not stop within 10s of the cancellation")
	}
	if r.code != cli.ExitRuntime || r.stderr != "target-jsonl: error: interrupted by a signal\n" || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	checkFiles(t, dir, nil)
}

func TestConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    map[string]any
		code   int
		stderr string
	}{
		{
			name:   "destination_path missing",
			cfg:    map[string]any{"destination_path": nil},
			code:   2,
			stderr: "target-jsonl: error: invalid config: missing properties: 'destination_path'\n",
		},
		{
			name:   "unknown key",
			cfg:    map[string]any{"fsnyc": false},
			code:   2,
			stderr: "target-jsonl: error: invalid config: unknown config key \"fsnyc\": did you mean \"fsync\"?\n",
		},
		{
			name:   "batch_size_rows zero",
			cfg:    map[string]any{"batch_size_rows": 0},
			code:   2,
			stderr: "target-jsonl: error: invalid config: batch_size_rows: must be >= 1 but found 0\n",
		},
		{
			name:   "destination_path is a file",
			cfg:    map[string]any{"destination_path": filepath.Join(file, "sub")},
			code:   1,
			stderr: "target-jsonl: error: cannot create destination_path " + filepath.Join(file, "sub") + ": not a directory\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runString(t, t.TempDir(), tt.cfg, lines(schemaUsers, user("1")))
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			if got := strings.SplitAfter(r.stderr, "\n")[0]; got != tt.stderr {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.stderr)
			}
		})
	}
}

func TestTwoStreamsSharingAFileIsAnError(t *testing.T) {
	// On a case-insensitive file system "Users" and "users" are one file; a
	// link shows the same on any file system.
	dir := t.TempDir()
	if err := os.Symlink("users.jsonl", filepath.Join(dir, "Users.jsonl")); err != nil {
		testenv.Missing(t, "no symlinks on this file system: %v", err)
	}
	r := runString(t, dir, nil, lines(schemaUsers, strings.Replace(schemaUsers, `"users"`, `"Users"`, 1),
		user("1"), state("1"), `{"type":"RECORD","stream":"Users","record":{"id":2}}`))
	want := `target-jsonl: error: streams "users" and "Users" would write to the same file DIR/Users.jsonl (a case-insensitive file system, or a link); rename one of the streams` + "\n"
	if got := strings.ReplaceAll(r.stderr, dir, "DIR"); r.code != 1 || got != want {
		t.Errorf("exit %d, stderr:\n got %q\nwant %q", r.code, got, want)
	}
	if r.stdout != lines(`{"n":1}`) {
		t.Errorf("stdout %q", r.stdout)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "users.jsonl"))
	if string(b) != lines(`{"id":1}`) {
		t.Errorf("users.jsonl %q", b)
	}
}

func TestReceivedAtFormat(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"whole second", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05.000000Z"},
		{"nanoseconds cut to microseconds", time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), "2024-01-02T03:04:05.123456Z"},
		{"same second again", time.Date(2024, 1, 2, 3, 4, 5, 7000, time.UTC), "2024-01-02T03:04:05.000007Z"},
		{"another zone", time.Date(2024, 1, 2, 5, 4, 6, 999999000, time.FixedZone("", 2*3600)), "2024-01-02T03:04:06.999999Z"},
	}
	var c stampCache // shared: the cache must not leak one second into another
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(c.append(nil, tt.at)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// BenchmarkRecords measures records a second through the whole target
// (decode, validate, append), fsync off so the disk does not dominate.
func BenchmarkRecords(b *testing.B) {
	var in bytes.Buffer
	in.WriteString(schemaUsers + "\n")
	for i := 0; i < 100000; i++ {
		in.WriteString(`{"type":"RECORD","stream":"users","record":{"id":12345,"name":"a user with a name"}}` + "\n")
	}
	input := in.Bytes()
	b.SetBytes(int64(len(input)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := DefaultConfig()
		cfg.DestinationPath = b.TempDir()
		cfg.Fsync = false
		if err := run(context.Background(), cfg, singer.NewLog(io.Discard), bytes.NewReader(input), singer.NewEncoder(io.Discard), testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100000/b.Elapsed().Seconds(), "records/s")
}
