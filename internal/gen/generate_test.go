package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/singer"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/spf13/cobra"
)

// runSinger runs the toolkit binary in-process.
func runSinger(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runToolkit(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestGenerateStreams reads generated streams back with the Decoder and
// checks their whole structure: SCHEMA first, ids in order, streams
// round-robin, STATE cadence and content, and that the schema plan alone
// vouches for every record (the judge is never asked).
func TestGenerateStreams(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		records          int
		stateEvery       int
		streams          []string
		minLine, maxLine int // bytes of a RECORD line, newline included
		wantAvgLo        int // lower bound of the average RECORD line
		wantAvgHi        int
	}{
		{
			// 5000 lines are more than the decoder's 1 MiB buffer, so the
			// buffer is reused while the schemas are alive.
			name:    "foundation, the default shape",
			args:    []string{"gen", "--records", "5000", "--state-every", "1000"},
			records: 5000, stateEvery: 1000, streams: []string{"users"},
			minLine: 250, maxLine: 320, wantAvgLo: 270, wantAvgHi: 300,
		},
		{
			name:    "flat over three streams",
			args:    []string{"gen", "--shape", "flat", "--records", "2000", "--streams", "3", "--state-every", "700", "--seed", "42"},
			records: 2000, stateEvery: 700, streams: []string{"s1", "s2", "s3"},
			minLine: 180, maxLine: 280, wantAvgLo: 200, wantAvgHi: 260,
		},
		{
			name:    "wide, 20 columns, two streams",
			args:    []string{"gen", "--shape", "wide", "--columns", "20", "--records", "2000", "--streams", "2", "--state-every", "700"},
			records: 2000, stateEvery: 700, streams: []string{"s1", "s2"},
			minLine: 340, maxLine: 420, wantAvgLo: 360, wantAvgHi: 400,
		},
		{
			name:    "text10k",
			args:    []string{"gen", "--shape", "text10k", "--records", "300", "--state-every", "100"},
			records: 300, stateEvery: 100, streams: []string{"docs"},
			minLine: 9300, maxLine: 11400, wantAvgLo: 10000, wantAvgHi: 10700,
		},
		{
			name:    "nested",
			args:    []string{"gen", "--shape", "nested", "--records", "2000", "--state-every", "500"},
			records: 2000, stateEvery: 500, streams: []string{"events"},
			minLine: 230, maxLine: 440, wantAvgLo: 300, wantAvgHi: 360,
		},
		{
			name:    "named stream, state after every record",
			args:    []string{"gen", "--records", "3", "--state-every", "1", "--stream", "people"},
			records: 3, stateEvery: 1, streams: []string{"people"},
			minLine: 250, maxLine: 320, wantAvgLo: 250, wantAvgHi: 320,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runSinger(t, tt.args...)
			if code != cli.ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			d := singer.NewDecoder(strings.NewReader(stdout))
			schemas := map[string]*singer.Schema{}
			rows := map[string]*singer.Row{}
			lastTS := map[string]string{}
			var records, sinceState, lineBytes int
			var states []string
			for d.Next() {
				m := d.Message()
				switch m.Type {
				case singer.TypeSchema:
					if records > 0 || len(schemas) >= len(tt.streams) || m.Stream != tt.streams[len(schemas)] {
						t.Fatalf("line %d: unexpected SCHEMA for %q", m.Line, m.Stream)
					}
					if got := fmt.Sprint(m.KeyProperties, m.BookmarkProperties); got != "[id] [updated_at]" {
						t.Errorf("SCHEMA keys and bookmarks: %s", got)
					}
					// A copy: the decoder reuses its buffer and the compiled
					// plan keeps slices of the schema bytes.
					s, err := singer.CompileSchema(bytes.Clone(m.Schema), singer.SchemaOptions{})
					if err != nil {
						t.Fatalf("line %d: %v", m.Line, err)
					}
					schemas[m.Stream] = s
					rows[m.Stream] = &singer.Row{}
				case singer.TypeRecord:
					if want := tt.streams[records%len(tt.streams)]; m.Stream != want {
						t.Fatalf("line %d: record for %q, want %q", m.Line, m.Stream, want)
					}
					records++
					sinceState++
					n := len(m.Raw) + 1
					lineBytes += n
					if n < tt.minLine || n > tt.maxLine {
						t.Errorf("line %d: %d bytes, want %d to %d: %s", m.Line, n, tt.minLine, tt.maxLine, m.Raw)
					}
					s, row := schemas[m.Stream], rows[m.Stream]
					if err := s.Decode(m.Record, row, true); err != nil {
						t.Fatalf("line %d: %v: %s", m.Line, err, m.Record)
					}
					if row.Judged {
						t.Errorf("line %d: the plan could not decide, the judge was asked: %s", m.Line, m.Record)
					}
					if records%97 == 1 { // the judge agrees (it is slow: a sample)
						if err := s.JudgeRaw(m.Record); err != nil {
							t.Errorf("line %d: judge: %v", m.Line, err)
						}
					}
					id := row.Values[0]
					if s.Plan.Columns[0].Name != "id" || !id.IntOK || id.Int != int64(records) {
						t.Errorf("line %d: id %s, want %d", m.Line, id.Bytes, records)
					}
					for i, c := range s.Plan.Columns {
						if c.Name == "updated_at" {
							if !row.Values[i].HasTime {
								t.Errorf("line %d: updated_at %q is not a timestamp", m.Line, row.Values[i].Bytes)
							}
							lastTS[m.Stream] = string(row.Values[i].Bytes)
						}
					}
				case singer.TypeState:
					if sinceState != tt.stateEvery && records != tt.records {
						t.Errorf("line %d: STATE after %d records, want every %d", m.Line, sinceState, tt.stateEvery)
					}
					sinceState = 0
					var want []string
					for _, st := range tt.streams {
						if ts, ok := lastTS[st]; ok {
							want = append(want, fmt.Sprintf(`%q:{"replication_key":"updated_at","replication_key_value":%q}`, st, ts))
						}
					}
					if got, want := string(m.Value), `{"bookmarks":{`+strings.Join(want, ",")+`}}`; got != want {
						t.Errorf("line %d: state\n got %s\nwant %s", m.Line, got, want)
					}
					states = append(states, string(m.Value))
				default:
					t.Errorf("line %d: unexpected %v", m.Line, m.Type)
				}
			}
			if err := d.Err(); err != nil {
				t.Fatal(err)
			}
			if records != tt.records {
				t.Errorf("got %d records, want %d", records, tt.records)
			}
			if sinceState != 0 {
				t.Errorf("%d records after the last STATE", sinceState)
			}
			if want := (tt.records + tt.stateEvery - 1) / tt.stateEvery; len(states) != want {
				t.Errorf("got %d STATE messages, want %d", len(states), want)
			}
			if avg := lineBytes / records; avg < tt.wantAvgLo || avg > tt.wantAvgHi {
				t.Errorf("average RECORD line %d bytes, want %d to %d", avg, tt.wantAvgLo, tt.wantAvgHi)
			}
		})
	}
}

// TestGenerateExactOutput pins the bytes of a small stream: the generator
// is deterministic, and its lines are what the benchmarks measure.
func TestGenerateExactOutput(t *testing.T) {
	schema := genShapes["foundation"].schema
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "two records, a state after each",
			args: []string{"gen", "--records", "2", "--state-every", "1"},
			want: `{"type":"SCHEMA","stream":"users","schema":` + schema + `,"key_properties":["id"],"bookmark_properties":["updated_at"]}
{"type":"RECORD","stream":"users","record":{"id":1,"name":"Grace Lamarr","email":"glamarr48@ex.net","count":6106,"vip":true,"amount":7399.338,"updated_at":"2024-01-01T00:00:00Z","birthday":"1950-03-11","address":{"street":"641 Rue Cler","city":"Osaka","zip":"32090"},"note":null}}
{"type":"STATE","value":{"bookmarks":{"users":{"replication_key":"updated_at","replication_key_value":"2024-01-01T00:00:00Z"}}}}
{"type":"RECORD","stream":"users","record":{"id":2,"name":"Radia Sato","email":"rsato95@ex.org","count":959,"vip":true,"amount":5491.306,"updated_at":"2024-01-01T00:00:05Z","birthday":"1995-08-02","address":{"street":"271 Oak St","city":"Osaka","zip":"30842"},"note":"café ☕ on Fridays"}}
{"type":"STATE","value":{"bookmarks":{"users":{"replication_key":"updated_at","replication_key_value":"2024-01-01T00:00:05Z"}}}}
`,
		},
		{
			name: "no records: the schema and an empty state",
			args: []string{"gen", "--records", "0", "--stream", "empty"},
			want: `{"type":"SCHEMA","stream":"empty","schema":` + schema + `,"key_properties":["id"],"bookmark_properties":["updated_at"]}
{"type":"STATE","value":{"bookmarks":{}}}
`,
		},
		{
			name: "flat, two streams, one state at the end",
			args: []string{"gen", "--shape", "flat", "--records", "2", "--streams", "2", "--seed", "3"},
			want: `{"type":"SCHEMA","stream":"s1","schema":` + genShapes["flat"].schema + `,"key_properties":["id"],"bookmark_properties":["updated_at"]}
{"type":"SCHEMA","stream":"s2","schema":` + genShapes["flat"].schema + `,"key_properties":["id"],"bookmark_properties":["updated_at"]}
{"type":"RECORD","stream":"s1","record":{"id":1,"customer":"Niklaus Nowak","email":"nnowak60@ex.net","city":"Nairobi","quantity":400,"paid":true,"score":9.57,"sku":"TT-973869","amount":318.33,"updated_at":"2024-01-01T00:00:01Z"}}
{"type":"RECORD","stream":"s2","record":{"id":2,"customer":"Tim Knuth","email":"tknuth29@mail.test","city":"Nairobi","quantity":464,"paid":false,"score":81.61,"sku":"PR-207716","amount":2773.76,"updated_at":"2024-01-01T00:00:03Z"}}
{"type":"STATE","value":{"bookmarks":{"s1":{"replication_key":"updated_at","replication_key_value":"2024-01-01T00:00:01Z"},"s2":{"replication_key":"updated_at","replication_key_value":"2024-01-01T00:00:03Z"}}}}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runSinger(t, tt.args...)
			if code != cli.ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != tt.want {
				t.Errorf("output\n got %s\nwant %s", stdout, tt.want)
			}
		})
	}
}

func TestGenerateSeeds(t *testing.T) {
	a, _, _ := runSinger(t, "gen", "--records", "50", "--seed", "7")
	b, _, _ := runSinger(t, "gen", "--records", "50", "--seed", "7")
	c, _, _ := runSinger(t, "gen", "--records", "50", "--seed", "8")
	if a != b {
		t.Error("the same seed gave different streams")
	}
	if a == c {
		t.Error("different seeds gave the same stream")
	}
}

func TestGenerateUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "negative records", args: []string{"gen", "--records", "-1"}, wantErr: "--records must be 0 or more, not -1"},
		{name: "records not a number", args: []string{"gen", "--records", "many"}, wantErr: `invalid argument "many" for "--records" flag: strconv.ParseInt: parsing "many": invalid syntax`},
		{name: "state cadence of zero", args: []string{"gen", "--state-every", "0"}, wantErr: "--state-every must be 1 or more, not 0"},
		{name: "no streams", args: []string{"gen", "--streams", "0"}, wantErr: "--streams must be 1 or more, not 0"},
		{name: "stream and streams", args: []string{"gen", "--streams", "2", "--stream", "x"}, wantErr: "use --stream or --streams, not both (several streams are named s1..sN)"},
		{name: "unknown shape", args: []string{"gen", "--shape", "tall"}, wantErr: `unknown --shape "tall" (known: flat, foundation, nested, text10k, wide)`},
		{name: "one column", args: []string{"gen", "--shape", "wide", "--columns", "1"}, wantErr: "--columns must be 2 to 1000, not 1"},
		{name: "to-csv without a directory", args: []string{"gen", "to-csv"}, wantErr: "to-csv needs one DIR argument, got 0"},
		{name: "an argument", args: []string{"gen", "out.jsonl"}, wantErr: `gen takes no arguments, got ["out.jsonl"]`},
		{name: "bench-decode without a file", args: []string{"gen", "bench-decode"}, wantErr: "bench-decode needs one FILE argument, got 0"},
		{name: "bench-decode unknown mode", args: []string{"gen", "bench-decode", "--mode", "fast", "x.jsonl"}, wantErr: `--mode must be floor, plan or judge, not "fast"`},
		{name: "bench-decode negative limit", args: []string{"gen", "bench-decode", "--limit", "-5", "x.jsonl"}, wantErr: "--limit must be 0 or more, not -5"},
		{name: "bench-decode missing file", args: []string{"gen", "bench-decode", "/nonexistent/x.jsonl"}, wantErr: "cannot read /nonexistent/x.jsonl: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runSinger(t, tt.args...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d", code, cli.ExitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if want := "singer: error: " + tt.wantErr; first != want {
				t.Errorf("stderr\n got %q\nwant %q", first, want)
			}
		})
	}
}

// TestToCSV: the records of each stream as CSV in the plan's column order
// (what a SQL target's table has), for the bulk loaders the benchmarks
// compare with.
func TestToCSV(t *testing.T) {
	in := `{"type":"SCHEMA","stream":"a","schema":{"type":"object","properties":{"id":{"type":"integer"},"s":{"type":["null","string"]},"b":{"type":["null","boolean"]},"o":{"type":["null","object"]},"n":{"type":["null","number"]}}},"key_properties":["id"]}
{"type":"SCHEMA","stream":"b","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"a","record":{"n":1.50,"id":1,"s":"say \"hi\"\n","b":true,"o":{"k":[1,"x"]}}}
{"type":"RECORD","stream":"b","record":{"id":2}}
{"type":"RECORD","stream":"a","record":{"id":3,"s":null,"b":false,"o":null}}
{"type":"STATE","value":{}}
`
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := runToolkit(context.Background(), []string{"gen", "to-csv", dir}, strings.NewReader(in), &out, &errOut); code != cli.ExitOK || errOut.Len() > 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := "a\t" + filepath.Join(dir, "a.csv") + "\t2\nb\t" + filepath.Join(dir, "b.csv") + "\t1\n"; out.String() != want {
		t.Errorf("stdout\n got %q\nwant %q", out.String(), want)
	}
	for name, want := range map[string]string{
		"a.csv": "\"1\",\"say \"\"hi\"\"\n\",true,\"{\"\"k\"\":[1,\"\"x\"\"]}\",\"1.50\"\n\"3\",,false,,\n",
		"b.csv": "\"2\"\n",
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s\n got %q\nwant %q", name, got, want)
		}
	}
}

func writeTempFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchDecode(t *testing.T) {
	stream, _, code := runSinger(t, "gen", "--records", "3000", "--streams", "2")
	if code != cli.ExitOK {
		t.Fatal("gen failed")
	}
	path := writeTempFile(t, "stream.jsonl", stream)
	lines := int64(strings.Count(stream, "\n"))
	tests := []struct {
		name        string
		args        []string
		wantRecords int64
		wantLines   int64
		wantJudged  int64
		wholeFile   bool
	}{
		{name: "floor", args: []string{"--mode", "floor"}, wantRecords: lines, wantLines: lines, wholeFile: true},
		{name: "plan", args: []string{"--mode", "plan"}, wantRecords: 3000, wantLines: lines, wholeFile: true},
		{name: "judge", args: []string{"--mode", "judge"}, wantRecords: 3000, wantLines: lines, wantJudged: 3000, wholeFile: true},
		{name: "plan, first 100 records", args: []string{"--mode", "plan", "--limit", "100"}, wantRecords: 100, wantLines: 102},
		{name: "judge, first 10 records", args: []string{"--mode", "judge", "--limit", "10"}, wantRecords: 10, wantLines: 12, wantJudged: 10},
		{name: "floor, first 10 lines", args: []string{"--mode", "floor", "--limit", "10"}, wantRecords: 10, wantLines: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runSinger(t, append(append([]string{"gen", "bench-decode"}, tt.args...), path)...)
			if code != cli.ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if strings.Count(stdout, "\n") != 1 {
				t.Fatalf("want one line, got %q", stdout)
			}
			var res benchResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			if res.Mode != tt.args[1] || res.File != path || res.Records != tt.wantRecords || res.Lines != tt.wantLines ||
				res.Judged != tt.wantJudged || res.Invalid != 0 {
				t.Errorf("got %+v", res)
			}
			if tt.wholeFile && res.Bytes != int64(len(stream)) {
				t.Errorf("read %d bytes, the file has %d", res.Bytes, len(stream))
			}
			if res.RecordsPerS <= 0 || res.ElapsedS < 0 {
				t.Errorf("no rate: %+v", res)
			}
			if _, err := os.Stat("/proc/self/status"); err == nil && (res.PeakRSSKB <= 0 || res.CPUS < 0) {
				t.Errorf("no peak RSS or CPU time from /proc: %+v", res)
			}
		})
	}
}

func TestBenchDecodeBadInput(t *testing.T) {
	schema := `{"type":"SCHEMA","stream":"users","schema":` + genShapes["foundation"].schema + `,"key_properties":["id"]}` + "\n"
	tests := []struct {
		name       string
		mode       string
		input      string
		wantStdout string // the result line, up to its timings
		wantStderr string
	}{
		{
			name:       "invalid records are counted, the first is named",
			mode:       "plan",
			input:      schema + `{"type":"RECORD","stream":"users","record":{"id":1}}` + "\n" + `{"type":"RECORD","stream":"users","record":{"id":"two"}}` + "\n" + `{"type":"RECORD","stream":"users","record":{"count":1}}` + "\n",
			wantStdout: `{"mode":"plan","file":"FILE","lines":4,"records":3,"bytes":`,
			wantStderr: "singer: error: 2 of 3 records failed validation; the first: line 3: stream \"users\": /id: expected integer, but got string\n",
		},
		{
			name:       "the judge alone names the same record",
			mode:       "judge",
			input:      schema + `{"type":"RECORD","stream":"users","record":{"id":1,"amount":0.00001}}` + "\n",
			wantStdout: `{"mode":"judge","file":"FILE","lines":2,"records":1,"bytes":`,
			wantStderr: "singer: error: 1 of 1 records failed validation; the first: line 2: stream \"users\": /amount: 0.00001 is not a multiple of 0.0001\n",
		},
		{
			name:       "record before its schema",
			mode:       "plan",
			input:      `{"type":"RECORD","stream":"users","record":{"id":1}}` + "\n",
			wantStderr: "singer: error: line 1: RECORD for stream \"users\" before its SCHEMA\n",
		},
		{
			name:       "malformed line",
			mode:       "judge",
			input:      schema + `{"type":"RECORD","stream":"users","record":{"id":1}` + "\n",
			wantStderr: "singer: error: line 2: invalid JSON: unexpected end of input in an object (truncated line?) at byte 52 (line starts \"{\\\"type\\\":\\\"RECORD\\\",\\\"stream\\\":\\\"users\\\",\\\"record\\\":{\\\"id\\\":1}\")\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTempFile(t, "bad.jsonl", tt.input)
			stdout, stderr, code := runSinger(t, "gen", "bench-decode", "--mode", tt.mode, path)
			if code != cli.ExitRuntime {
				t.Errorf("exit %d, want %d", code, cli.ExitRuntime)
			}
			want := strings.ReplaceAll(tt.wantStdout, "FILE", path)
			if !strings.HasPrefix(stdout, want) || (want == "") != (stdout == "") {
				t.Errorf("stdout\n got %q\nwant %q...", stdout, want)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr\n got %q\nwant %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestAppendQuotedTimestamp: the generator's fast timestamp writer agrees
// with AppendTimestamp on whole seconds.
func TestAppendQuotedTimestamp(t *testing.T) {
	tests := []struct {
		name string
		at   string
	}{
		{name: "the generator's epoch", at: "2024-01-01T00:00:00Z"},
		{name: "a leap day", at: "2024-02-29T23:59:59Z"},
		{name: "the Unix epoch", at: "1970-01-01T00:00:00Z"},
		{name: "before the Unix epoch", at: "1950-06-15T12:30:45Z"},
		{name: "the last second of 9999", at: "9999-12-31T23:59:59Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := mustTime(t, tt.at)
			got := string(appendQuotedTimestamp(nil, at.UnixMicro()))
			if want := `"` + string(singer.AppendTimestamp(nil, at)) + `"`; got != want || got != `"`+tt.at+`"` {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// runToolkit runs the command under a root named singer, as the toolkit
// binary does.
func runToolkit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{Use: "singer", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCommand(stdout, stderr))
	root.SetIn(stdin)
	return cli.Execute(ctx, root, args, stderr, "singer")
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
