package check

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/spf13/cobra"
)

// runCheckCLI runs `singer check args...` in-process and returns the exit
// code, stdout and stderr.
func runCheckCLI(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runToolkit(ctx, append([]string{"check"}, args...), stdin, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// jsonl joins messages into newline-delimited input.
func jsonl(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

const (
	goodPath = "../../testdata/check/good.jsonl"
	badPath  = "../../testdata/check/bad.jsonl"

	usersSchema = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}},"key_properties":["id"]}`
	usersState  = `{"type":"STATE","value":{"bookmarks":{"users":{"id":1}}}}`
	usersLine   = "stream users: %s, 2 properties, key [id], 1 schema, first state {\"bookmarks\":{\"users\":{\"id\":1}}}, last state {\"bookmarks\":{\"users\":{\"id\":1}}}\n"
)

func userRecord(id string) string {
	return `{"type":"RECORD","stream":"users","record":{"id":` + id + `,"name":"n"}}`
}

const goodText = `singer check: 15 lines, 14 messages, 3 streams
stream users: 3 records, 4 properties, key [id], 2 schemas, first state {"bookmarks":{"users":{"updated_at":"2024-01-02T00:00:00Z"}},"currently_syncing":"users"}, last state {"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null}
stream orders: 2 records, 4 properties, key [order_id], 1 schema, first state {"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null}, last state {"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null}
stream events: 1 record, 2 properties, key [], 1 schema, first state {"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null}, last state {"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null}
OK: the stream conforms
`

const goodJSON = `{"ok":true,"lines":15,"messages":14,"streams":[` +
	`{"stream":"users","records":3,"properties":4,"key_properties":["id"],"first_state":{"bookmarks":{"users":{"updated_at":"2024-01-02T00:00:00Z"}},"currently_syncing":"users"},"last_state":{"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null},"schema_messages":2},` +
	`{"stream":"orders","records":2,"properties":4,"key_properties":["order_id"],"first_state":{"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null},"last_state":{"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null},"schema_messages":1},` +
	`{"stream":"events","records":1,"properties":2,"key_properties":[],"first_state":{"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null},"last_state":{"bookmarks":{"users":{"updated_at":"2024-01-03T00:00:00Z"},"orders":{"order_id":"A-2"}},"currently_syncing":null},"schema_messages":1}` +
	`],"violations":[],"violations_total":0,"warnings":[],"warnings_total":0}` + "\n"

// badText is the report on testdata/check/bad.jsonl: a violation of every
// kind, found in one pass, including after the broken line 5.
const badText = `singer check: 13 lines, 9 messages, 2 streams
stream users: 5 records, 2 properties, key [user_id], 1 schema, first state {"bookmarks":{"users":{"id":5}}}, last state {"bookmarks":{"users":{"id":5}}}
stream orders: 1 record, 0 properties, key [], 1 schema, first state {"bookmarks":{"users":{"id":5}}}, last state {"bookmarks":{"users":{"id":5}}}
warning: line 11: skipping messages of unknown type "HEARTBEAT" (--strict makes them violations)
FAIL: 10 violations
line 1: users: RECORD before any SCHEMA of the stream
line 2: users: key_properties names "user_id", which is not a top-level property of the schema
line 2: users: bookmark_properties names "updated_at", which is not a top-level property of the schema
line 4: users: /id: expected integer, but got string
line 5: invalid JSON: invalid character '}' where an object key was expected at byte 67 (line starts "{\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{\"id\":4,\"name\":\"L"...)
line 6: users: /name: expected string, but got number
line 6: users: time_extracted "yesterday" is not an RFC 3339 timestamp
line 7: orders: invalid schema: /properties/total/type: value must be one of "array", "boolean", "integer", "null", "number", "object", "string"; /properties/total/type: expected array, but got string
line 9: STATE "value" must be a JSON object
line 10: ACTIVATE_VERSION for stream "users" has no "version"
`

func TestCheckGolden(t *testing.T) {
	good, err := os.ReadFile(goodPath)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"good from --input", "", []string{"--input", goodPath}, 0, goodText, ""},
		{"good from stdin", string(good), nil, 0, goodText, ""},
		{"good from --input -", string(good), []string{"-i", "-"}, 0, goodText, ""},
		{"good as json", "", []string{"--input", goodPath, "--format", "json"}, 0, goodJSON, ""},
		{"bad", "", []string{"--input", badPath}, 1, badText, "singer: error: check failed: 10 violations\n"},
		{"bad strict", "", []string{"--input", badPath, "--strict", "--max-violations", "3"}, 1,
			strings.Join(strings.Split(badText, "\n")[:3], "\n") + "\n" + `FAIL: 11 violations
line 1: users: RECORD before any SCHEMA of the stream
line 2: users: key_properties names "user_id", which is not a top-level property of the schema
line 2: users: bookmark_properties names "updated_at", which is not a top-level property of the schema
... and 8 more violations
`, "singer: error: check failed: 11 violations\n"},
		{"bad as json", "", []string{"--input", badPath, "--format", "json", "--max-violations", "2"}, 1,
			`{"ok":false,"lines":13,"messages":9,"streams":[` +
				`{"stream":"users","records":5,"properties":2,"key_properties":["user_id"],"first_state":{"bookmarks":{"users":{"id":5}}},"last_state":{"bookmarks":{"users":{"id":5}}},"schema_messages":1},` +
				`{"stream":"orders","records":1,"properties":0,"key_properties":[],"first_state":{"bookmarks":{"users":{"id":5}}},"last_state":{"bookmarks":{"users":{"id":5}}},"schema_messages":1}],` +
				`"violations":[{"line":1,"stream":"users","message":"RECORD before any SCHEMA of the stream"},` +
				`{"line":2,"stream":"users","message":"key_properties names \"user_id\", which is not a top-level property of the schema"}],` +
				`"violations_total":10,"warnings":[{"line":11,"stream":"","message":"skipping messages of unknown type \"HEARTBEAT\" (--strict makes them violations)"}],"warnings_total":1}` + "\n",
			"singer: error: check failed: 10 violations\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCheckCLI(t, context.Background(), strings.NewReader(c.stdin), c.args...)
			if code != c.wantCode || stdout != c.wantStdout || stderr != c.wantStderr {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, c.wantCode, stdout, c.wantStdout, stderr, c.wantStderr)
			}
		})
	}
}

func TestCheckViolations(t *testing.T) {
	head := "singer check: %s, %s, 1 stream\n"
	noState := "stream users: %s, 2 properties, key [id], 1 schema, no state\n"
	cases := []struct {
		name     string
		input    string
		args     []string
		wantCode int
		want     string // stdout
	}{
		{
			name:  "conforms",
			input: jsonl(usersSchema, userRecord("1"), usersState),
			want:  fmt.Sprintf(head, "3 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + "OK: the stream conforms\n",
		},
		{
			name:     "invalid JSON in the middle, checking goes on",
			input:    jsonl(usersSchema, userRecord("1"), `{"type":"RECORD","stream":"users","record":{"id":2,,}}`, userRecord(`"3"`), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "5 lines", "4 messages") + fmt.Sprintf(usersLine, "2 records") + `FAIL: 2 violations
line 3: invalid JSON: invalid character ',' where an object key was expected at byte 52 (line starts "{\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{\"id\":2,,}}")
line 4: users: /id: expected integer, but got string
`,
		},
		{
			name:     "not JSON at all",
			input:    jsonl(usersSchema, "INFO starting sync", userRecord("1"), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "4 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + `FAIL: 1 violation
line 2: not a JSON object: a Singer message must be one JSON object per line (line starts "INFO starting sync")
`,
		},
		{
			name:     "key property missing or null, as every target refuses it",
			input:    jsonl(strings.Replace(usersSchema, `"id":{"type":"integer"}`, `"id":{"type":["null","integer"]}`, 1), `{"type":"RECORD","stream":"users","record":{"name":"n"}}`, `{"type":"RECORD","stream":"users","record":{"id":null,"name":"n"}}`, userRecord("3"), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "5 lines", "5 messages") + fmt.Sprintf(usersLine, "3 records") + `FAIL: 2 violations
line 2: users: key property "id" is missing or null
line 3: users: key property "id" is missing or null
`,
		},
		{
			name:     "duplicate keys in the envelope and in the record",
			input:    jsonl(usersSchema, `{"type":"RECORD","type":"RECORD","stream":"users","record":{"id":1,"name":"n"}}`, `{"type":"RECORD","stream":"users","record":{"id":2,"name":"n","name":"m"}}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "4 lines", "2 messages") + "stream users: 0 records, 2 properties, key [id], 1 schema, first state {\"bookmarks\":{\"users\":{\"id\":1}}}, last state {\"bookmarks\":{\"users\":{\"id\":1}}}\n" + `FAIL: 2 violations
line 2: invalid JSON: duplicate key "type" at byte 18 (line starts "{\"type\":\"RECORD\",\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{"...)
line 3: invalid JSON: duplicate key "name" at byte 63 (line starts "{\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{\"id\":2,\"name\":\"n"...)
`,
		},
		{
			name:     "record before its schema",
			input:    jsonl(userRecord("1"), usersSchema, userRecord("2"), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "4 lines", "4 messages") + fmt.Sprintf(usersLine, "2 records") + `FAIL: 1 violation
line 1: users: RECORD before any SCHEMA of the stream
`,
		},
		{
			name:     "record of another stream's schema",
			input:    jsonl(usersSchema, `{"type":"RECORD","stream":"orders","record":{"id":1}}`, usersState),
			wantCode: 1,
			want: "singer check: 3 lines, 3 messages, 2 streams\n" + fmt.Sprintf(usersLine, "0 records") +
				"stream orders: 1 record, 0 properties, key [], 0 schemas, first state {\"bookmarks\":{\"users\":{\"id\":1}}}, last state {\"bookmarks\":{\"users\":{\"id\":1}}}\n" + `FAIL: 1 violation
line 2: orders: RECORD before any SCHEMA of the stream
`,
		},
		{
			name:     "record violating its schema",
			input:    jsonl(usersSchema, userRecord("1"), userRecord("2"), userRecord(`"x"`), `{"type":"RECORD","stream":"users","record":{"id":5,"name":["a"]}}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "6 lines", "6 messages") + fmt.Sprintf(usersLine, "4 records") + `FAIL: 2 violations
line 4: users: /id: expected integer, but got string
line 5: users: /name: expected string, but got array
`,
		},
		{
			name: "invalid schema: its records are not checked",
			input: jsonl(`{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer","minimum":"zero"}}},"key_properties":["id"]}`,
				userRecord(`"x"`), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "3 lines", "3 messages") +
				"stream users: 1 record, 0 properties, key [id], 1 schema, first state {\"bookmarks\":{\"users\":{\"id\":1}}}, last state {\"bookmarks\":{\"users\":{\"id\":1}}}\n" + `FAIL: 1 violation
line 1: users: invalid schema: /properties/id/minimum: expected number, but got string
`,
		},
		{
			name:     "schema without key_properties",
			input:    jsonl(`{"type":"SCHEMA","stream":"users","schema":{"type":"object"}}`, userRecord("1"), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "3 lines", "2 messages") +
				"stream users: 1 record, 0 properties, key [], 1 schema, first state {\"bookmarks\":{\"users\":{\"id\":1}}}, last state {\"bookmarks\":{\"users\":{\"id\":1}}}\n" + `FAIL: 1 violation
line 1: SCHEMA for stream "users" has no "key_properties" (use [] when the stream has no key)
`,
		},
		{
			name: "key and bookmark properties naming missing properties",
			input: jsonl(`{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"meta":{"type":"object","properties":{"org":{"type":"integer"}}}}},"key_properties":["id","org"],"bookmark_properties":["updated_at"]}`,
				userRecord("1"), usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "3 lines", "3 messages") +
				"stream users: 1 record, 3 properties, key [id, org], 1 schema, first state {\"bookmarks\":{\"users\":{\"id\":1}}}, last state {\"bookmarks\":{\"users\":{\"id\":1}}}\n" + `FAIL: 2 violations
line 1: users: key_properties names "org", which is not a top-level property of the schema
line 1: users: bookmark_properties names "updated_at", which is not a top-level property of the schema
`,
		},
		{
			name:     "state that is not an object",
			input:    jsonl(usersSchema, userRecord("1"), `{"type":"STATE","value":[1]}`, `{"type":"STATE"}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "5 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + `FAIL: 2 violations
line 3: STATE "value" must be a JSON object
line 4: STATE message has no "value"
`,
		},
		{
			name: "activate_version without stream or version",
			input: jsonl(usersSchema, `{"type":"ACTIVATE_VERSION","stream":"users"}`, `{"type":"ACTIVATE_VERSION","version":3}`,
				`{"type":"ACTIVATE_VERSION","stream":"users","version":"v3"}`, `{"type":"ACTIVATE_VERSION","stream":"users","version":3}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "6 lines", "3 messages") + fmt.Sprintf(usersLine, "0 records") + `FAIL: 3 violations
line 2: ACTIVATE_VERSION for stream "users" has no "version"
line 3: ACTIVATE_VERSION message has no "stream"
line 4: ACTIVATE_VERSION for stream "users": "version" must be an integer, got "v3"
`,
		},
		{
			name: "the end of the day is a time (format time), not a date-time",
			input: jsonl(`{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"at":{"type":"string","format":"time"},"ts":{"type":"string","format":"date-time"}}},"key_properties":["id"]}`,
				`{"type":"RECORD","stream":"users","record":{"id":1,"at":"24:00:00"}}`, `{"type":"RECORD","stream":"users","record":{"id":2,"at":"24:00:00.000+02:00"}}`,
				`{"type":"RECORD","stream":"users","record":{"id":3,"at":"24:00:01"}}`, `{"type":"RECORD","stream":"users","record":{"id":4,"ts":"2024-01-02T24:00:00Z"}}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "6 lines", "6 messages") + strings.Replace(fmt.Sprintf(usersLine, "4 records"), "2 properties", "3 properties", 1) + `FAIL: 2 violations
line 4: users: /at: '24:00:01' is not valid 'time'
line 5: users: /ts: '2024-01-02T24:00:00Z' is not valid 'date-time'
`,
		},
		{
			name:     "lone surrogates are refused, a pair is a character",
			input:    jsonl(usersSchema, `{"type":"RECORD","stream":"users","record":{"id":1,"name":"a\ud800b"}}`, `{"type":"RECORD","stream":"users","record":{"id":2,"name":"\udc00"}}`, `{"type":"RECORD","stream":"users","record":{"id":3,"name":"\ud83d\ude00"}}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "5 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + `FAIL: 2 violations
line 2: invalid JSON: lone UTF-16 surrogate \ud800 in a string (half a character: refused, never replaced; fix the producer) at byte 61 (line starts "{\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{\"id\":1,\"name\":\"a"...)
line 3: invalid JSON: lone UTF-16 surrogate \udc00 in a string (half a character: refused, never replaced; fix the producer) at byte 60 (line starts "{\"type\":\"RECORD\",\"stream\":\"users\",\"record\":{\"id\":2,\"name\":\"\\"...)
`,
		},
		{
			name:     "time_extracted that is not RFC 3339",
			input:    jsonl(usersSchema, `{"type":"RECORD","stream":"users","record":{"id":1},"time_extracted":"2024-01-02 03:04:05"}`, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "3 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + `FAIL: 1 violation
line 2: users: time_extracted "2024-01-02 03:04:05" is not an RFC 3339 timestamp
`,
		},
		{
			name:  "unknown type is a warning, once per type",
			input: jsonl(usersSchema, `{"type":"METRIC","x":1}`, `{"type":"METRIC","x":2}`, userRecord("1"), usersState),
			want: fmt.Sprintf(head, "5 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") +
				`warning: line 2: skipping messages of unknown type "METRIC" (--strict makes them violations)
OK: the stream conforms
`,
		},
		{
			name:     "unknown type with --strict",
			input:    jsonl(usersSchema, `{"type":"METRIC","x":1}`, userRecord("1"), usersState),
			args:     []string{"--strict"},
			wantCode: 1,
			want: fmt.Sprintf(head, "4 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + `FAIL: 1 violation
line 2: unknown message type "METRIC" (known: SCHEMA, RECORD, STATE, ACTIVATE_VERSION, BATCH) (line starts "{\"type\":\"METRIC\",\"x\":1}")
`,
		},
		{
			name:  "no state is a warning",
			input: jsonl(usersSchema, userRecord("1")),
			want: fmt.Sprintf(head, "2 lines", "2 messages") + fmt.Sprintf(noState, "1 record") +
				`warning: no STATE message: a target would have no state to save, so every run would start over
OK: the stream conforms
`,
		},
		{
			name:     "empty input",
			input:    "",
			wantCode: 1,
			want: `singer check: 0 lines, 0 messages, 0 streams
FAIL: 1 violation
no messages: the input holds no Singer message
`,
		},
		{
			name:     "blank lines only",
			input:    "\n  \r\n\n",
			wantCode: 1,
			want: `singer check: 3 lines, 0 messages, 0 streams
FAIL: 1 violation
no messages: the input holds no Singer message
`,
		},
		{
			name:  "CRLF line ends and blank lines",
			input: strings.ReplaceAll(jsonl(usersSchema, "", userRecord("1"), usersState), "\n", "\r\n"),
			want:  fmt.Sprintf(head, "4 lines", "3 messages") + fmt.Sprintf(usersLine, "1 record") + "OK: the stream conforms\n",
		},
		{
			name:     "record before schema on a BATCH",
			input:    jsonl(`{"type":"BATCH","stream":"users","encoding":{"format":"jsonl","compression":"none"},"manifest":["file:///tmp/a.jsonl"]}`, usersSchema, usersState),
			wantCode: 1,
			want: fmt.Sprintf(head, "3 lines", "3 messages") + fmt.Sprintf(usersLine, "0 records") + `FAIL: 1 violation
line 1: users: BATCH before any SCHEMA of the stream
`,
		},
		{
			name:     "cap on listed violations",
			input:    jsonl(usersSchema, userRecord(`"a"`), userRecord(`"b"`), userRecord(`"c"`), userRecord(`"d"`), usersState),
			args:     []string{"--max-violations", "2"},
			wantCode: 1,
			want: fmt.Sprintf(head, "6 lines", "6 messages") + fmt.Sprintf(usersLine, "4 records") + `FAIL: 4 violations
line 2: users: /id: expected integer, but got string
line 3: users: /id: expected integer, but got string
... and 2 more violations
`,
		},
		{
			name:     "max-violations 0 only counts",
			input:    jsonl(usersSchema, userRecord(`"a"`), userRecord(`"b"`), usersState),
			args:     []string{"--max-violations", "0"},
			wantCode: 1,
			want: fmt.Sprintf(head, "4 lines", "4 messages") + fmt.Sprintf(usersLine, "2 records") + `FAIL: 2 violations
... and 2 more violations
`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCheckCLI(t, context.Background(), strings.NewReader(c.input), c.args...)
			if code != c.wantCode || stdout != c.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s", code, c.wantCode, stdout, c.want)
			}
			// The one stderr line repeats the FAIL count.
			wantStderr := ""
			if _, fail, ok := strings.Cut(c.want, "\nFAIL: "); ok {
				count, _, _ := strings.Cut(fail, "\n")
				wantStderr = "singer: error: check failed: " + count + "\n"
			}
			if stderr != wantStderr {
				t.Errorf("stderr %q, want %q", stderr, wantStderr)
			}
		})
	}
}

// TestCheckDefaultCap: 60 bad records list the first 50 (the default cap).
func TestCheckDefaultCap(t *testing.T) {
	in := []string{usersSchema}
	var want strings.Builder
	for i := range 60 {
		in = append(in, userRecord(fmt.Sprintf(`"%d"`, i)))
		if i < 50 {
			fmt.Fprintf(&want, "line %d: users: /id: expected integer, but got string\n", i+2)
		}
	}
	in = append(in, usersState)
	code, stdout, _ := runCheckCLI(t, context.Background(), strings.NewReader(jsonl(in...)))
	wantOut := fmt.Sprintf("singer check: 62 lines, 62 messages, 1 stream\n"+usersLine, "60 records") +
		"FAIL: 60 violations\n" + want.String() + "... and 10 more violations\n"
	if code != 1 || stdout != wantOut {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s", code, stdout, wantOut)
	}
}

// badRecords generates a stream of n records that all fail their schema,
// without holding it in memory.
type badRecords struct {
	n, i int
	buf  []byte
}

func (r *badRecords) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i <= r.n {
		if r.i == 0 {
			r.buf = append(r.buf, usersSchema+"\n"...)
		} else {
			r.buf = fmt.Appendf(r.buf, `{"type":"RECORD","stream":"users","record":{"id":"%d","name":"n"}}`+"\n", r.i)
		}
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// TestCheckKeepsCountNotMessages: every bad record is counted, but only the
// capped number of messages is stored.
func TestCheckKeepsCountNotMessages(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	rep, err := Check(context.Background(), &badRecords{n: n}, Options{MaxFindings: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.ViolationsTotal != int64(n) || len(rep.Violations) != 5 || cap(rep.Violations) > 8 {
		t.Fatalf("ok %v, total %d (want %d), stored %d (cap %d), want 5", rep.OK, rep.ViolationsTotal, n, len(rep.Violations), cap(rep.Violations))
	}
	if got := rep.Violations[4].String(); got != "line 6: users: /id: expected integer, but got string" {
		t.Errorf("5th violation %q", got)
	}
	if rep.Streams[0].Records != int64(n) || rep.Lines != int64(n+1) {
		t.Errorf("records %d lines %d", rep.Streams[0].Records, rep.Lines)
	}
}

// TestCheckLongLines: lines far past the decoder's buffer are read whole,
// validated, and the line numbers after them stay right.
func TestCheckLongLines(t *testing.T) {
	blob := strings.Repeat("x", 3<<20)
	state := `{"type":"STATE","value":{"note":"` + strings.Repeat("é", 150) + `"}}`
	in := jsonl(
		`{"type":"SCHEMA","stream":"files","schema":{"type":"object","properties":{"blob":{"type":"string","maxLength":4194304}}},"key_properties":[]}`,
		`{"type":"RECORD","stream":"files","record":{"blob":"`+blob+`"}}`,
		`{"type":"RECORD","stream":"files","record":{"blob":"`+blob+blob+`"}}`,
		`{"type":"RECORD","stream":"files","record":{"blob":1}}`,
		state,
	)
	// The state is 312 bytes of compact JSON: the text report shows its
	// first 200 bytes (cut on a rune boundary), JSON shows it whole.
	shown := `{"note":"` + strings.Repeat("é", 95) + "..."
	want := "singer check: 5 lines, 5 messages, 1 stream\n" +
		"stream files: 3 records, 1 property, key [], 1 schema, first state " + shown + ", last state " + shown + "\n" +
		"FAIL: 2 violations\n" +
		"line 3: files: /blob: length must be <= 4194304, but got 6291456\n" +
		"line 4: files: /blob: expected string, but got number\n"
	code, stdout, _ := runCheckCLI(t, context.Background(), strings.NewReader(in))
	if code != 1 || stdout != want {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s", code, stdout, want)
	}
	_, stdout, _ = runCheckCLI(t, context.Background(), strings.NewReader(in), "--format", "json")
	if !strings.Contains(stdout, `"first_state":`+strings.TrimSuffix(strings.TrimPrefix(state, `{"type":"STATE","value":`), "}")+`,`) {
		t.Errorf("json report does not hold the whole state: %s", stdout)
	}
}

func TestCheckTap(t *testing.T) {
	cases := []struct {
		name       string
		tap        string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"conforming tap", "cat " + goodPath, nil, 0, goodText, ""},
		{"tap stderr passes through", "echo 'INFO starting' >&2; cat " + goodPath, nil, 0, goodText, "INFO starting\n"},
		{"failing tap", "sh -c 'exit 3'", nil, 1, `singer check: 0 lines, 0 messages, 0 streams
FAIL: 2 violations
tap exited with status 3
no messages: the input holds no Singer message
`, "singer: error: check failed: 2 violations\n"},
		{"tap failing after a good stream", "cat " + goodPath + "; echo 'ERROR lost connection' >&2; exit 1", nil, 1,
			strings.TrimSuffix(goodText, "OK: the stream conforms\n") + "FAIL: 1 violation\ntap exited with status 1\n",
			"ERROR lost connection\nsinger: error: check failed: 1 violation\n"},
		{"tap listed first past the cap", "cat " + badPath + "; exit 2", []string{"--max-violations", "1"}, 1,
			strings.Join(strings.Split(badText, "\n")[:4], "\n") + "\n" + `FAIL: 11 violations
tap exited with status 2
line 1: users: RECORD before any SCHEMA of the stream
... and 9 more violations
`, "singer: error: check failed: 11 violations\n"},
		{"tap killed", "kill -9 $$", nil, 1, `singer check: 0 lines, 0 messages, 0 streams
FAIL: 2 violations
tap was stopped: signal: killed
no messages: the input holds no Singer message
`, "singer: error: check failed: 2 violations\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--tap", c.tap}, c.args...)
			code, stdout, stderr := runCheckCLI(t, context.Background(), strings.NewReader(""), args...)
			if code != c.wantCode || stdout != c.wantStdout || stderr != c.wantStderr {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, c.wantCode, stdout, c.wantStdout, stderr, c.wantStderr)
			}
		})
	}
}

// TestCheckTapCancelled: cancelling the context stops a tap that would run
// for a long time, and the check ends as interrupted (exit 1).
func TestCheckTapCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	code, stdout, stderr := runCheckCLI(t, ctx, strings.NewReader(""), "--tap", "echo '"+usersSchema+"'; exec sleep 60")
	if code != cli.ExitRuntime || stdout != "" || stderr != "singer: error: interrupted by a signal\n" {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestCheckUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // first line of stderr
	}{
		{"argument", []string{"out.jsonl"}, `singer: error: check takes no arguments, got "out.jsonl" (use --input FILE or --tap COMMAND)`},
		{"format", []string{"--format", "xml"}, `singer: error: --format must be text or json, not "xml"`},
		{"negative cap", []string{"--max-violations", "-1"}, `singer: error: --max-violations must be 0 or more, not -1`},
		{"input and tap", []string{"--input", goodPath, "--tap", "cat"}, `singer: error: use --input or --tap, not both`},
		{"missing input", []string{"--input", "../../testdata/check/missing.jsonl"}, `singer: error: cannot read --input ../../testdata/check/missing.jsonl: no such file or directory`},
		{"unknown flag", []string{"--stricter"}, `singer: error: unknown flag: --stricter`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCheckCLI(t, context.Background(), strings.NewReader(""), c.args...)
			first, _, _ := strings.Cut(stderr, "\n")
			if code != cli.ExitUsage || stdout != "" || first != c.want {
				t.Errorf("exit %d stdout %q stderr %q, want exit 2 and %q", code, stdout, stderr, c.want)
			}
		})
	}
}

// BenchmarkCheck measures the checker on conforming records (the common CI
// case): the plan decides every record, the judge is never asked.
func BenchmarkCheck(b *testing.B) {
	var in bytes.Buffer
	in.WriteString(`{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["null","string"]},"amount":{"type":["null","number"]},"active":{"type":"boolean"},"updated_at":{"type":"string","format":"date-time"}}},"key_properties":["id"]}` + "\n")
	const n = 10000
	for i := range n {
		fmt.Fprintf(&in, `{"type":"RECORD","stream":"users","record":{"id":%d,"name":"user %d","amount":%d.25,"active":true,"updated_at":"2024-01-02T03:04:05Z"},"time_extracted":"2024-01-05T10:00:00Z"}`+"\n", i, i, i)
	}
	in.WriteString(usersState + "\n")
	b.SetBytes(int64(in.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Check(context.Background(), bytes.NewReader(in.Bytes()), Options{MaxFindings: 50})
		if err != nil || !rep.OK {
			b.Fatalf("%v %+v", err, rep.Violations)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// runToolkit runs the command under a root named singer, as the toolkit
// binary does.
func runToolkit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{Use: "singer", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCommand(stdin, stdout, stderr))
	return cli.Execute(ctx, root, args, stderr, "singer")
}
