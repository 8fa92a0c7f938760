// Package sqltargettest is the conformance suite every SQL target dialect
// runs: the same named cases, each asserting the rows that landed, the STATE
// lines emitted and the exact errors.
package sqltargettest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
)

// Harness connects the suite to one dialect.
type Harness interface {
	// Spec is the target's command line spec (run in-process).
	Spec() cli.TargetSpec
	// Config returns the connection config for a fresh, empty destination
	// schema owned by the test (dropped in t.Cleanup).
	Config(t *testing.T) (cfg map[string]any, schema string)
	// Rows returns the rows of a table in the test's schema, ordered by the
	// given columns, each row rendered as "v1|v2|..." with NULL as "NULL",
	// booleans as true/false, timestamps as RFC 3339 UTC with microseconds
	// (2006-01-02T15:04:05.000000Z), numbers as exact decimal text without
	// trailing fraction zeros, JSON compact with sorted keys, text as is.
	Rows(t *testing.T, schema, table string, cols []string, orderBy string) []string
	// Columns returns the column names of a table, in table order.
	Columns(t *testing.T, schema, table string) []string
	// Binary is the path of the built target binary (for the crash test).
	Binary(t *testing.T) string
}

// Result of one run.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// States returns the state lines of stdout.
func (r Result) States() []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Run runs the target in-process with cfg (plus overrides) on input.
func Run(t *testing.T, h Harness, cfg map[string]any, input string) Result {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(cfg)
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	code := cli.RunTarget(context.Background(), h.Spec(), []string{"--config", p}, strings.NewReader(input), &o, &e)
	return Result{Code: code, Stdout: o.String(), Stderr: e.String()}
}

func with(cfg map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func schemaMsg(stream, props string, keys string) string {
	return fmt.Sprintf(`{"type":"SCHEMA","stream":%q,"schema":{"type":"object","properties":{%s}},"key_properties":[%s]}`, stream, props, keys)
}

func rec(stream, record string) string {
	return fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":%s}`, stream, record)
}

func state(v string) string { return `{"type":"STATE","value":` + v + `}` }

func expectOK(t *testing.T, r Result) {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.Code, r.Stderr)
	}
}

func expectRows(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func expectError(t *testing.T, r Result, want string) {
	t.Helper()
	if r.Code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr does not contain %q:\n%s", want, r.Stderr)
	}
}

// RunSuite runs every conformance case.
func RunSuite(t *testing.T, h Harness) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, schema := h.Config(t)
			c.run(t, h, cfg, schema)
		})
	}
}

type suiteCase struct {
	name string
	run  func(t *testing.T, h Harness, cfg map[string]any, schema string)
}

const usersProps = `"id":{"type":"integer"},"name":{"type":["null","string"]},"amount":{"type":["null","number"]},"active":{"type":["null","boolean"]},"ts":{"type":["null","string"],"format":"date-time"},"day":{"type":["null","string"],"format":"date"}`

var cases = []suiteCase{
	{"create_and_types", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(
			schemaMsg("users", usersProps, `"id"`),
			rec("users", `{"id":1,"name":"alice","amount":12345678901234567890.123456789,"active":true,"ts":"2024-01-02T03:04:05.123456+01:00","day":"2024-02-29"}`),
			rec("users", `{"id":2,"name":null,"amount":-0.5,"active":false,"ts":"1970-01-01T00:00:00Z"}`),
			rec("users", `{"id":9223372036854775807}`),
			state(`{"bookmarks":{"users":{"id":3}}}`),
		))
		expectOK(t, r)
		if got := r.States(); len(got) != 1 || got[0] != `{"bookmarks":{"users":{"id":3}}}` {
			t.Errorf("states %q", got)
		}
		expectRows(t, h.Rows(t, schema, "users", []string{"id", "name", "amount", "active", "ts", "day"}, "id"), []string{
			"1|alice|12345678901234567890.123456789|true|2024-01-02T02:04:05.123456Z|2024-02-29",
			"2|NULL|-0.5|false|1970-01-01T00:00:00.000000Z|NULL",
			"9223372036854775807|NULL|NULL|NULL|NULL|NULL",
		})
	}},
	{"upsert_duplicates_in_batch_last_wins", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(
			schemaMsg("users", usersProps, `"id"`),
			rec("users", `{"id":1,"name":"first"}`),
			rec("users", `{"id":2,"name":"two"}`),
			rec("users", `{"id":1,"name":"second"}`),
			rec("users", `{"id":1,"name":"third"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "users", []string{"id", "name"}, "id"), []string{"1|third", "2|two"})
		// A second run updates by key.
		r = Run(t, h, cfg, lines(schemaMsg("users", usersProps, `"id"`), rec("users", `{"id":2,"name":"TWO"}`), rec("users", `{"id":3,"name":"three"}`)))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "users", []string{"id", "name"}, "id"), []string{"1|third", "2|TWO", "3|three"})
	}},
	{"append_without_keys", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		in := lines(schemaMsg("events", `"kind":{"type":"string"},"n":{"type":"integer"}`, ""),
			rec("events", `{"kind":"a","n":1}`), rec("events", `{"kind":"a","n":1}`), rec("events", `{"kind":"b","n":2}`))
		expectOK(t, Run(t, h, cfg, in))
		expectOK(t, Run(t, h, cfg, in))
		expectRows(t, h.Rows(t, schema, "events", []string{"kind", "n"}, "kind, n"), []string{"a|1", "a|1", "a|1", "a|1", "b|2", "b|2"})
	}},
	{"add_column", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(
			schemaMsg("users", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`),
			rec("users", `{"id":1,"name":"a"}`),
			schemaMsg("users", `"id":{"type":"integer"},"name":{"type":"string"},"email":{"type":["null","string"]}`, `"id"`),
			rec("users", `{"id":2,"name":"b","email":"b@x"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "users", []string{"id", "name", "email"}, "id"), []string{"1|a|NULL", "2|b|b@x"})
	}},
	{"widen_integer_to_number_and_string", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(
			schemaMsg("m", `"id":{"type":"integer"},"v":{"type":"integer"},"w":{"type":"integer"}`, `"id"`),
			rec("m", `{"id":1,"v":10,"w":7}`),
			schemaMsg("m", `"id":{"type":"integer"},"v":{"type":"number"},"w":{"type":"string"}`, `"id"`),
			rec("m", `{"id":2,"v":10.25,"w":"seven"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "m", []string{"id", "v", "w"}, "id"), []string{"1|10|7", "2|10.25|seven"})
	}},
	{"record_before_schema", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(state(`{"s":1}`), rec("ghost", `{"id":1}`)))
		expectError(t, r, `line 2: RECORD for stream "ghost" before its SCHEMA`)
		if got := r.States(); len(got) != 1 || got[0] != `{"s":1}` {
			t.Errorf("states %q: only the state before the error may be emitted", got)
		}
	}},
	{"missing_key_property", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, with(cfg, "validate_records", false), lines(
			schemaMsg("users", usersProps, `"id"`),
			rec("users", `{"id":1,"name":"ok"}`),
			state(`{"s":1}`),
			rec("users", `{"name":"no key"}`),
			state(`{"s":2}`),
		))
		expectError(t, r, `line 4: stream "users": key property "id" is missing or null`)
		if got := strings.Join(r.States(), ","); got != `{"s":1}` {
			t.Errorf("states %q", got)
		}
		expectRows(t, h.Rows(t, schema, "users", []string{"id", "name"}, "id"), []string{"1|ok"})
	}},
	{"invalid_record", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(schemaMsg("users", usersProps, `"id"`), rec("users", `{"id":"x"}`)))
		expectError(t, r, `line 2: stream "users": record does not match its schema: /id: expected integer, but got string`)
	}},
	{"lone_surrogate_refused", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(schemaMsg("s", `"id":{"type":"integer"},"v":{"type":"string"}`, `"id"`),
			rec("s", `{"id":1,"v":"pair \ud83d\ude00"}`), state(`{"n":1}`), rec("s", `{"id":2,"v":"half \ud83d"}`)))
		expectError(t, r, `line 4: stream "s": record does not match its schema: record is not valid JSON: lone UTF-16 surrogate \ud83d in a string (half a character: refused, never replaced; fix the producer) at byte 19`)
		if got := r.States(); len(got) != 1 || got[0] != `{"n":1}` {
			t.Errorf("states %q", got)
		}
		expectRows(t, h.Rows(t, schema, "s", []string{"id", "v"}, "id"), []string{"1|pair 😀"})
	}},
	{"schema_without_properties", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(`{"type":"SCHEMA","stream":"empty","schema":{"type":"object"},"key_properties":[]}`, rec("empty", `{}`), rec("empty", `{"x":1}`)))
		expectOK(t, r)
		// Every record's data is kept: in _sdc_extra.
		got := h.Rows(t, schema, "empty", []string{"_sdc_extra"}, "")
		slices.Sort(got)
		expectRows(t, got, []string{"NULL", `{"x":1}`})
	}},
	{"special_names", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		long := strings.Repeat("x", 200)
		props := `"select":{"type":"integer"},"Name With Spaces":{"type":"string"},"a\"b":{"type":"string"},"ümlaut":{"type":"string"},"camelCase":{"type":"string"},"` + long + `":{"type":"string"},"` + long + `y":{"type":"string"}`
		r := Run(t, h, cfg, lines(
			schemaMsg("Weird Stream; DROP TABLE x", props, `"select"`),
			rec("Weird Stream; DROP TABLE x", `{"select":1,"Name With Spaces":"s","a\"b":"q","ümlaut":"ü","camelCase":"c","`+long+`":"L1","`+long+`y":"L2"}`),
		))
		expectOK(t, r)
		// The table name is lower-cased (PipelineWise's convention); the
		// columns keep their names.
		cols := h.Columns(t, schema, "weird stream; drop table x")
		if len(cols) != 7 {
			t.Fatalf("columns %q", cols)
		}
		expectRows(t, h.Rows(t, schema, "weird stream; drop table x", cols, ""), []string{"1|s|q|ü|c|L1|L2"})
	}},
	{"encoded_strings", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(
			schemaMsg("s", `"id":{"type":"integer"},"v":{"type":"string"}`, `"id"`),
			rec("s", `{"id":1,"v":"tab\there \"quoted\" back\\slash \u00e9 😀 \ud83d\ude00"}`),
			rec("s", `{"id":2,"v":"nul\u0000byte"}`),
			rec("s", `{"id":3,"v":"line1\nline2\r\n"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "s", []string{"id", "v"}, "id"), []string{
			"1|tab\there \"quoted\" back\\slash é 😀 😀",
			"2|nulbyte",
			"3|line1\nline2\r\n",
		})
	}},
	{"json_escapes_and_the_nul_rule", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// Every escape JSON has, inside strings, keys, nested objects and
		// arrays: objects and arrays land as the same JSON value, strings
		// as exactly the same text, except NUL (U+0000), which the NUL rule
		// removes from every string (and key) in every dialect, saying so
		// once per stream. A backslash followed by "u0000" is text, kept.
		const esc = `q\" bs\\ sl\/ nl\n cr\r tab\t bsp\b ff\f ctl\u0001 e\u00e9 E\u00C9 pair\ud83d\ude00 lit\\u0000 nul\u0000end`
		recs := []string{
			`{"id":1,"s":"` + esc + `","o":{"k\"ey":"` + esc + `","nested":{"arr":["` + esc + `",1.5,true,null,{"deep":["\\\"","\u0000"]}]},"k\u0000nul":"v"},"a":["` + esc + `",["\u0000",{"x":"\\u0000"}]]}`,
			`{"id":2,"s":"plain","o":{"lit":"\\u0000 is not NUL"},"a":[]}`,
		}
		r := Run(t, h, cfg, lines(
			schemaMsg("j", `"id":{"type":"integer"},"s":{"type":"string"},"o":{"type":"object"},"a":{"type":"array"}`, `"id"`),
			rec("j", recs[0]), rec("j", recs[1])))
		expectOK(t, r)
		if n := strings.Count(r.Stderr, "NUL characters (U+0000) removed"); n != 1 {
			t.Errorf("the NUL rule was announced %d times, want once:\n%s", n, r.Stderr)
		}
		var want []string
		for _, rc := range recs {
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(rc))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			nul := withoutNUL(m).(map[string]any)
			parts := []string{fmt.Sprint(nul["id"]), nul["s"].(string)}
			for _, k := range []string{"o", "a"} {
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				enc.Encode(nul[k])
				parts = append(parts, strings.TrimSuffix(buf.String(), "\n"))
			}
			want = append(want, strings.Join(parts, "|"))
		}
		if !strings.Contains(want[0], "nulend") || !strings.Contains(want[0], `lit\\u0000`) || !strings.Contains(want[0], `"knul":"v"`) {
			t.Fatalf("expected rows built wrong: %s", want[0])
		}
		expectRows(t, h.Rows(t, schema, "j", []string{"id", "s", "o", "a"}, "id"), want)
	}},
	{"nested_objects_and_arrays", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		in := lines(
			schemaMsg("n", `"id":{"type":"integer"},"addr":{"type":["null","object"],"properties":{"city":{"type":"string"},"geo":{"type":"object","properties":{"lat":{"type":"number"}}}}},"tags":{"type":["null","array"],"items":{"type":"string"}}`, `"id"`),
			rec("n", `{"id":1,"addr":{"city":"Köln","geo":{"lat":50.94}},"tags":["a","b"]}`),
			rec("n", `{"id":2,"addr":null,"tags":[]}`),
		)
		expectOK(t, Run(t, h, cfg, in))
		expectRows(t, h.Rows(t, schema, "n", []string{"id", "addr", "tags"}, "id"), []string{
			`1|{"city":"Köln","geo":{"lat":50.94}}|["a","b"]`,
			`2|NULL|[]`,
		})
		cfg2, schema2 := h.Config(t)
		expectOK(t, Run(t, h, with(cfg2, "flattening_max_level", 1), in))
		expectRows(t, h.Rows(t, schema2, "n", []string{"id", "addr__city", "addr__geo", "tags"}, "id"), []string{
			`1|Köln|{"lat":50.94}|["a","b"]`,
			`2|NULL|NULL|[]`,
		})
	}},
	{"interleaved_streams", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, with(cfg, "batch_size_rows", 2), lines(
			schemaMsg("a", `"id":{"type":"integer"}`, `"id"`),
			schemaMsg("b", `"id":{"type":"integer"}`, `"id"`),
			rec("a", `{"id":1}`), rec("b", `{"id":10}`), rec("a", `{"id":2}`),
			state(`{"s":1}`),
			rec("b", `{"id":11}`), rec("a", `{"id":3}`), rec("b", `{"id":12}`),
			state(`{"s":2}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "a", []string{"id"}, "id"), []string{"1", "2", "3"})
		expectRows(t, h.Rows(t, schema, "b", []string{"id"}, "id"), []string{"10", "11", "12"})
		// s:1 is covered once a's first batch and b's (10, 11) commit;
		// s:2 waits for the batches of the end of input.
		if got := strings.Join(r.States(), ","); got != `{"s":1},{"s":2}` {
			t.Errorf("states %q, want {\"s\":1},{\"s\":2}", got)
		}
	}},
	{"state_sequence_with_intermediate_flushes", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		var in []string
		in = append(in, schemaMsg("s", `"id":{"type":"integer"}`, `"id"`), state(`{"n":0}`))
		for i := 1; i <= 10; i++ {
			in = append(in, rec("s", fmt.Sprintf(`{"id":%d}`, i)))
			if i%2 == 0 {
				in = append(in, state(fmt.Sprintf(`{"n":%d}`, i)))
			}
		}
		r := Run(t, h, with(cfg, "batch_size_rows", 3), lines(in...))
		expectOK(t, r)
		// Flushes after records 3, 6 and 9 and at the end: each releases
		// the latest state wholly before it. {"n":4} comes out only when
		// the load of records 4-6 ends before STATE {"n":6} is read (a
		// race between the loader and the reader; both are right).
		want := []string{`{"n":0}`, `{"n":2}`, `{"n":6}`, `{"n":8}`, `{"n":10}`}
		alt := []string{`{"n":0}`, `{"n":2}`, `{"n":4}`, `{"n":6}`, `{"n":8}`, `{"n":10}`}
		if got := strings.Join(r.States(), " "); got != strings.Join(want, " ") && got != strings.Join(alt, " ") {
			t.Errorf("states\n got %s\nwant %s\n  or %s", got, strings.Join(want, " "), strings.Join(alt, " "))
		}
		expectRows(t, h.Rows(t, schema, "s", []string{"id"}, "id"), []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"})
	}},
	{"zero_records_state_echoed", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(state(`{"a":1}`), state(`{"a":2}`)))
		expectOK(t, r)
		// With no record to wait for, each state is released as it is read.
		if got := strings.Join(r.States(), ","); got != `{"a":1},{"a":2}` {
			t.Errorf("states %q, want both, in order", got)
		}
		r = Run(t, h, cfg, "")
		expectOK(t, r)
		if r.Stdout != "" {
			t.Errorf("no state in, no state out; got %q", r.Stdout)
		}
	}},
	{"activate_version_hard", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		activateVersion(t, h, with(cfg, "add_metadata_columns", true, "hard_delete", true), schema, []string{"1|v2", "3|v2"})
	}},
	{"activate_version_soft", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		activateVersion(t, h, with(cfg, "add_metadata_columns", true), schema, []string{"1|v2|false", "2|v1|true", "3|v2|false"})
	}},
	{"hard_delete_records", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		props := `"id":{"type":"integer"},"name":{"type":["null","string"]},"_sdc_deleted_at":{"type":["null","string"],"format":"date-time"}`
		r := Run(t, h, with(cfg, "hard_delete", true), lines(
			schemaMsg("d", props, `"id"`),
			rec("d", `{"id":1,"name":"a"}`), rec("d", `{"id":2,"name":"b"}`), rec("d", `{"id":3,"name":"c"}`),
			state(`{"s":1}`),
			rec("d", `{"id":2,"name":"b","_sdc_deleted_at":"2024-01-01T00:00:00Z"}`),
			rec("d", `{"id":3,"name":"c","_sdc_deleted_at":"2024-01-01T00:00:00Z"}`),
			rec("d", `{"id":3,"name":"c again"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "d", []string{"id", "name"}, "id"), []string{"1|a", "3|c again"})
	}},
	{"hard_delete_batch_without_duplicates", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		props := `"id":{"type":"integer"},"name":{"type":["null","string"]},"_sdc_deleted_at":{"type":["null","string"],"format":"date-time"}`
		r := Run(t, h, with(cfg, "hard_delete", true, "batch_size_rows", 3), lines(
			schemaMsg("d", props, `"id"`),
			rec("d", `{"id":1,"name":"a"}`), rec("d", `{"id":2,"name":"b"}`), rec("d", `{"id":3,"name":"c"}`),
			rec("d", `{"id":2,"_sdc_deleted_at":"2024-01-01T00:00:00Z"}`),
			rec("d", `{"id":3,"_sdc_deleted_at":"2024-01-01T00:00:00Z"}`),
			rec("d", `{"id":4,"name":"d"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "d", []string{"id", "name"}, "id"), []string{"1|a", "4|d"})
		// Without hard_delete the row stays, marked.
		cfg2, schema2 := h.Config(t)
		expectOK(t, Run(t, h, with(cfg2, "batch_size_rows", 3), lines(
			schemaMsg("d", props, `"id"`),
			rec("d", `{"id":1,"name":"a"}`),
			rec("d", `{"id":1,"name":"a","_sdc_deleted_at":"2024-01-01T00:00:00Z"}`),
		)))
		expectRows(t, h.Rows(t, schema2, "d", []string{"id", "name", "_sdc_deleted_at"}, "id"), []string{"1|a|2024-01-01T00:00:00.000000Z"})
	}},
	{"append_many_batches_in_parallel", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		var in []string
		in = append(in, schemaMsg("p", `"id":{"type":"integer"},"v":{"type":"string"}`, `"id"`))
		for i := 1; i <= 500; i++ {
			in = append(in, rec("p", fmt.Sprintf(`{"id":%d,"v":"r%d"}`, i, i)))
			if i%50 == 0 {
				in = append(in, state(fmt.Sprintf(`{"n":%d}`, i)))
			}
		}
		r := Run(t, h, with(cfg, "load_method", "append", "batch_size_rows", 7, "max_parallel_flushes", 3), lines(in...))
		expectOK(t, r)
		last := 0
		for _, st := range r.States() {
			var v struct{ N int }
			json.Unmarshal([]byte(st), &v)
			if v.N <= last {
				t.Errorf("state %s after state n=%d: states must only move forward", st, last)
			}
			last = v.N
		}
		if last != 500 {
			t.Errorf("last state n=%d, want 500", last)
		}
		var rows []string
		for i := 1; i <= 500; i++ {
			rows = append(rows, fmt.Sprintf("%d|r%d", i, i))
		}
		expectRows(t, h.Rows(t, schema, "p", []string{"id", "v"}, "id"), rows)
	}},
	{"overwrite", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		in1 := lines(schemaMsg("o", `"id":{"type":"integer"}`, `"id"`), rec("o", `{"id":1}`), rec("o", `{"id":2}`))
		in2 := lines(schemaMsg("o", `"id":{"type":"integer"}`, `"id"`), rec("o", `{"id":3}`))
		c := with(cfg, "load_method", "overwrite")
		expectOK(t, Run(t, h, c, in1))
		expectOK(t, Run(t, h, c, in2))
		expectRows(t, h.Rows(t, schema, "o", []string{"id"}, "id"), []string{"3"})
	}},
	{"batch_message", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		dir := t.TempDir()
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte("{\"id\":1,\"name\":\"from gzip\"}\n\n{\"id\":2,\"name\":\"two\"}\n"))
		zw.Close()
		gzPath := filepath.Join(dir, "part-1.jsonl.gz")
		plainPath := filepath.Join(dir, "part-2.jsonl")
		os.WriteFile(gzPath, gz.Bytes(), 0o600)
		os.WriteFile(plainPath, []byte(`{"id":3,"name":"plain"}`+"\n"), 0o600)
		r := Run(t, h, with(cfg, "batch_roots", []string{dir}), lines(
			schemaMsg("b", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`),
			fmt.Sprintf(`{"type":"BATCH","stream":"b","encoding":{"format":"jsonl","compression":"gzip"},"manifest":["file://%s"]}`, gzPath),
			fmt.Sprintf(`{"type":"BATCH","stream":"b","encoding":{"format":"jsonl","compression":"none"},"manifest":[%q]}`, plainPath),
			state(`{"s":1}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "b", []string{"id", "name"}, "id"), []string{"1|from gzip", "2|two", "3|plain"})
		if got := strings.Join(r.States(), ","); got != `{"s":1}` {
			t.Errorf("states %q", got)
		}
	}},
	{"batch_file_outside_roots", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// A BATCH comes from the input: its manifest must not make the
		// target read a file outside batch_roots (by path, by "..", or by
		// a symlink inside a root), and without batch_roots it reads none.
		roots, secretDir := t.TempDir(), t.TempDir()
		secret := filepath.Join(secretDir, "secret.jsonl")
		os.WriteFile(secret, []byte(`{"id":666,"name":"secret"}`+"\n"), 0o600)
		link := filepath.Join(roots, "link.jsonl")
		if err := os.Symlink(secret, link); err != nil {
			t.Fatal(err)
		}
		dotdot := roots + "/../" + filepath.Base(secretDir) + "/secret.jsonl"
		for _, c := range []struct {
			cfg   map[string]any
			entry string
			want  string
		}{
			{with(cfg, "batch_roots", []string{roots}), "file://" + secret, "line 4: BATCH for stream \"b\": batch file " + secret + " refused: it is outside batch_roots (" + roots + ")"},
			{with(cfg, "batch_roots", []string{roots}), dotdot, "line 4: BATCH for stream \"b\": batch file " + dotdot + " refused: it is outside batch_roots (" + roots + ")"},
			{with(cfg, "batch_roots", []string{roots}), link, "line 4: BATCH for stream \"b\": batch file " + link + " refused: it resolves to " + secret + ", outside batch_roots (" + roots + ")"},
			{cfg, "/etc/passwd", "line 4: BATCH for stream \"b\": batch file /etc/passwd refused: BATCH files are read only from the directories in batch_roots, and it is not set"},
		} {
			r := Run(t, h, c.cfg, lines(
				schemaMsg("b", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`),
				rec("b", `{"id":1,"name":"one"}`),
				state(`{"s":1}`),
				fmt.Sprintf(`{"type":"BATCH","stream":"b","encoding":{"format":"jsonl","compression":"none"},"manifest":[%q]}`, c.entry),
				state(`{"s":2}`),
			))
			expectError(t, r, c.want)
			if n := strings.Count(r.Stderr, "error:"); n != 1 {
				t.Errorf("stderr has %d error lines, want one:\n%s", n, r.Stderr)
			}
			if got := strings.Join(r.States(), ","); got != `{"s":1}` {
				t.Errorf("states %q, want only the one before the BATCH", got)
			}
			expectRows(t, h.Rows(t, schema, "b", []string{"id", "name"}, "id"), []string{"1|one"})
		}
	}},
	{"invalid_time_extracted", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// An unreadable time_extracted is refused (as singer check flags
		// it), with or without the _sdc_extracted_at column it would fill.
		for _, meta := range []bool{true, false} {
			c, sch := cfg, schema
			if !meta {
				c, sch = h.Config(t)
			}
			r := Run(t, h, with(c, "add_metadata_columns", meta), lines(
				schemaMsg("te", `"id":{"type":"integer"}`, `"id"`),
				`{"type":"RECORD","stream":"te","record":{"id":1},"time_extracted":"2024-01-02T03:04:05.5Z"}`,
				state(`{"s":1}`),
				`{"type":"RECORD","stream":"te","record":{"id":2},"time_extracted":"2024-01-02 03:04:05"}`,
				state(`{"s":2}`),
			))
			expectError(t, r, `line 4: stream "te": time_extracted "2024-01-02 03:04:05" is not an RFC 3339 timestamp`)
			if got := strings.Join(r.States(), ","); got != `{"s":1}` {
				t.Errorf("add_metadata_columns %v: states %q", meta, got)
			}
			expectRows(t, h.Rows(t, sch, "te", []string{"id"}, "id"), []string{"1"})
			if meta {
				expectRows(t, h.Rows(t, sch, "te", []string{"_sdc_extracted_at"}, "id"), []string{"2024-01-02T03:04:05.500000Z"})
			}
		}
	}},
	{"crash_and_resume", crashResume("upsert", true)},
	{"crash_and_resume_append_with_keys", crashResume("append", true)},
	{"crash_and_resume_append_without_keys", crashResume("append", false)},
	{"crash_and_resume_overwrite", crashOverwrite},
	{"overwrite_failed_run_keeps_table", overwriteFailedRun},
	{"overwrite_activate_version", overwriteActivateVersion},
	{"sigterm_commits_what_was_read", sigterm},
	{"age_flush_while_input_idles", ageFlush},
}

// ageFlush: with max_batch_age_seconds, a batch is loaded and its state
// released while the input stays open and idle.
func ageFlush(t *testing.T, h Harness, cfg map[string]any, schema string) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.json")
	b, _ := json.Marshal(with(cfg, "max_batch_age_seconds", 0.2))
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(h.Binary(t), "--config", cfgPath)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	stdin.Write([]byte(lines(schemaMsg("age", `"id":{"type":"integer"}`, `"id"`), rec("age", `{"id":1}`), state(`{"pos":1}`))))
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	select {
	case line := <-got:
		if line != `{"pos":1}` {
			t.Errorf("state %q", line)
		}
	case <-time.After(hangLimit):
		// Only a hang bound: the load itself may wait on a busy server
		// (the BigQuery emulator runs one request at a time for every
		// parallel case).
		t.Fatalf("no state within %s while the input was idle; stderr:\n%s", hangLimit, stderr.String())
	}
	expectRows(t, h.Rows(t, schema, "age", []string{"id"}, "id"), []string{"1"})
	stdin.Close()
	cmd.Wait()
}

// sigterm: on SIGTERM the target stops reading, commits what it read, emits
// the state covering it and exits 1.
func sigterm(t *testing.T, h Harness, cfg map[string]any, schema string) {
	tp := StartTarget(t, h, cfg)
	// The input stays open: the target must not wait for its end.
	tp.Write(lines(schemaMsg("t", `"id":{"type":"integer"}`, `"id"`),
		rec("t", `{"id":1}`), rec("t", `{"id":2}`), state(`{"pos":2}`), rec("t", `{"id":3}`)), false)
	// The table exists once the SCHEMA line is read, and the records came
	// in the same write.
	tp.WaitStderr(t, "created table")
	tp.Signal(syscall.SIGTERM)
	code := tp.Wait(t)
	if code != 1 || !strings.Contains(tp.Stderr(), "interrupted by a signal") {
		t.Errorf("exit %d, stderr %s", code, tp.Stderr())
	}
	if got := strings.Join(tp.States(), "\n"); got != `{"pos":2}` {
		t.Errorf("stdout %q, want the state covering the committed records", got)
	}
	expectRows(t, h.Rows(t, schema, "t", []string{"id"}, "id"), []string{"1", "2", "3"})
}

func activateVersion(t *testing.T, h Harness, cfg map[string]any, schema string, want []string) {
	v := func(stream string, version int, recs ...string) []string {
		out := []string{fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":%q,"version":%d}`, stream, version)}
		for _, r := range recs {
			out = append(out, fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":%s,"version":%d}`, stream, r, version))
		}
		return append(out, fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":%q,"version":%d}`, stream, version))
	}
	sm := schemaMsg("av", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`)
	in1 := append([]string{sm}, v("av", 1, `{"id":1,"name":"v1"}`, `{"id":2,"name":"v1"}`)...)
	expectOK(t, Run(t, h, cfg, lines(in1...)))
	in2 := append([]string{sm}, v("av", 2, `{"id":1,"name":"v2"}`, `{"id":3,"name":"v2"}`)...)
	expectOK(t, Run(t, h, cfg, lines(in2...)))
	cols := []string{"id", "name"}
	if len(want[0]) > 4 && strings.Count(want[0], "|") == 2 {
		cols = append(cols, "_sdc_deleted_at IS NOT NULL")
	}
	expectRows(t, h.Rows(t, schema, "av", cols, "id"), want)
}

// crashSource is the "tap" of the crash tests: records id from..total of
// stream crash, {"id":i,"v":"<prefix> i"}, a state {"pos":i} every 100
// records and at the end. A resume from a state {"pos":p} replays from
// p+1: the records after the state, some of which the target may have
// committed already (at-least-once).
func crashSource(keys bool, prefix string, from, total int) string {
	var sb strings.Builder
	k := ""
	if keys {
		k = `"id"`
	}
	sb.WriteString(schemaMsg("crash", `"id":{"type":"integer"},"v":{"type":"string"}`, k) + "\n")
	for i := from; i <= total; i++ {
		fmt.Fprintf(&sb, `{"type":"RECORD","stream":"crash","record":{"id":%d,"v":"%s %d"}}`+"\n", i, prefix, i)
		if i%100 == 0 || i == total {
			fmt.Fprintf(&sb, `{"type":"STATE","value":{"pos":%d}}`+"\n", i)
		}
	}
	return sb.String()
}

// prefixLines returns the first part of input: whole lines, about frac of it.
func prefixLines(input string, frac float64) string {
	n := int(float64(len(input)) * frac)
	return input[:strings.LastIndexByte(input[:n], '\n')+1]
}

// lastRecordID is the id of the last RECORD line of input.
func lastRecordID(input string) int {
	i := strings.LastIndex(input, `"record":{"id":`)
	var id int
	fmt.Sscanf(input[i+len(`"record":{"id":`):], "%d", &id)
	return id
}

func statePos(t *testing.T, st string) int {
	t.Helper()
	var v struct{ Pos *int }
	if err := json.Unmarshal([]byte(st), &v); err != nil || v.Pos == nil {
		t.Fatalf("state %q: not {\"pos\":n}", st)
	}
	return *v.Pos
}

func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// killedRun runs the target binary on input and leaves its stdin open (it
// cannot reach the end of the input), kills it with SIGKILL as soon as
// stop(states printed, batches loaded) is true, and returns every state
// line it printed. Batches loaded are counted from its batch_load_seconds
// metric lines. The target exiting by itself first is a failure.
func killedRun(t *testing.T, bin, cfgPath, input string, stop func(states, loads int) bool) []string {
	t.Helper()
	cmd := exec.Command(bin, "--config", cfgPath)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { stdin.Write([]byte(input)) }()
	const (
		evState = iota
		evLoad
		evExit
	)
	events := make(chan int, 1<<16)
	var states []string
	var logs strings.Builder
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			states = append(states, sc.Text())
			events <- evState
		}
		events <- evExit
	}()
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), `"batch_load_seconds"`) {
				events <- evLoad
			}
		}
	}()
	// The target must make progress (a state or a load) within hangLimit
	// of the last one: a slow database is not a failure, a stuck target is.
	idle := time.NewTimer(hangLimit)
	defer idle.Stop()
	ns, nl := 0, 0
	for !stop(ns, nl) {
		select {
		case ev := <-events:
			idle.Reset(hangLimit)
			switch ev {
			case evState:
				ns++
			case evLoad:
				nl++
			case evExit:
				<-errDone
				cmd.Wait()
				t.Fatalf("the target exited before it was killed (%d states, %d loads); stderr:\n%s", ns, nl, logs.String())
			}
		case <-idle.C:
			cmd.Process.Kill()
			<-outDone
			<-errDone
			cmd.Wait()
			t.Fatalf("no progress for %v before the kill point (%d states, %d loads); stderr:\n%s", hangLimit, ns, nl, logs.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-outDone // every line it printed before it died
	<-errDone
	cmd.Wait()
	return states
}

// crashResume kills the target (SIGKILL) at several points of a stream,
// each time resuming from the last state it printed with the records after
// that state (what a tap sends when it resumes), and checks the table row
// for row: upsert holds every record exactly once; append holds every
// record, once up to the first resume point, and beyond it at most once per
// run that sent it (the replay window: records committed after the last
// printed state are sent again).
func crashResume(method string, keys bool) func(t *testing.T, h Harness, cfg map[string]any, schema string) {
	return func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		bin := h.Binary(t)
		// Batches of 170 rows and a state every 100 records: a released
		// state is mostly behind the last committed record, so every
		// resume replays records the table already has.
		c := with(cfg, "batch_size_rows", 170, "load_method", method)
		cfgPath := writeConfig(t, c)
		const total = 5000
		sent := make([]int, total+1) // runs that sent each record
		resume, firstResume := 0, -1
		for _, n := range []int{2, 6} {
			in := prefixLines(crashSource(keys, "value", resume+1, total), 0.6)
			states := killedRun(t, bin, cfgPath, in, func(s, _ int) bool { return s >= n })
			pos := statePos(t, states[len(states)-1])
			if pos < resume {
				t.Fatalf("resumed from pos %d, the next run printed pos %d: states go back", resume, pos)
			}
			for i := resume + 1; i <= lastRecordID(in); i++ {
				sent[i]++
			}
			resume = pos
			if firstResume < 0 {
				firstResume = pos
			}
		}
		r := Run(t, h, c, crashSource(keys, "value", resume+1, total))
		expectOK(t, r)
		if st := r.States(); len(st) == 0 || st[len(st)-1] != fmt.Sprintf(`{"pos":%d}`, total) {
			t.Errorf("last state of the final run: %q", st)
		}
		for i := resume + 1; i <= total; i++ {
			sent[i]++
		}
		count := make([]int, total+1)
		for _, row := range h.Rows(t, schema, "crash", []string{"id", "v"}, "id") {
			var id int
			var v string
			if _, err := fmt.Sscanf(row, "%d|", &id); err != nil || id < 1 || id > total {
				t.Fatalf("row %q: not a source record", row)
			}
			if _, v, _ = strings.Cut(row, "|"); v != fmt.Sprintf("value %d", id) {
				t.Fatalf("row %q: the value of record %d is %q", row, id, fmt.Sprintf("value %d", id))
			}
			count[id]++
		}
		dups := 0
		for i := 1; i <= total; i++ {
			switch {
			case count[i] == 0:
				t.Fatalf("record %d is missing after resumes from pos %d and %d", i, firstResume, resume)
			case method == "upsert" && count[i] != 1:
				t.Fatalf("record %d is in the table %d times: upsert holds each key once", i, count[i])
			case count[i] > 1 && i <= firstResume:
				t.Fatalf("record %d is in the table %d times, but it was before the first resume point (pos %d): only replayed records may repeat", i, count[i], firstResume)
			case count[i] > sent[i]:
				t.Fatalf("record %d is in the table %d times, but was sent %d times", i, count[i], sent[i])
			}
			dups += count[i] - 1
		}
		t.Logf("%s: resumed from pos %d and %d; %d replayed records in the table twice or more", method, firstResume, resume, dups)
	}
}

// withoutNUL applies the NUL rule to a decoded JSON value: NUL removed from
// every string and key.
func withoutNUL(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "")
	case []any:
		for i := range x {
			x[i] = withoutNUL(x[i])
		}
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[strings.ReplaceAll(k, "\x00", "")] = withoutNUL(e)
		}
		return out
	}
	return v
}

// crashOverwrite kills an overwrite run at several points: the table must
// still hold the previous run's rows exactly and no state may be printed
// (the run's records go to a replacement table, swapped in at the end).
// A resume re-sends the whole run (its last state is the previous run's),
// and the table then holds exactly its records.
func crashOverwrite(t *testing.T, h Harness, cfg map[string]any, schema string) {
	bin := h.Binary(t)
	c := with(cfg, "batch_size_rows", 170, "load_method", "overwrite")
	cfgPath := writeConfig(t, c)
	// The previous run: ids 4001..4500.
	var old strings.Builder
	old.WriteString(schemaMsg("crash", `"id":{"type":"integer"},"v":{"type":"string"}`, `"id"`) + "\n")
	var oldRows []string
	for i := 4001; i <= 4500; i++ {
		fmt.Fprintf(&old, `{"type":"RECORD","stream":"crash","record":{"id":%d,"v":"old %d"}}`+"\n", i, i)
		oldRows = append(oldRows, fmt.Sprintf("%d|old %d", i, i))
	}
	old.WriteString(state(`{"pos":0}`) + "\n")
	r := Run(t, h, c, old.String())
	expectOK(t, r)
	if got := strings.Join(r.States(), ","); got != `{"pos":0}` {
		t.Fatalf("states of the first run %q", got)
	}
	const total = 3000
	full := crashSource(true, "value", 1, total)
	for _, n := range []int{1, 5} {
		states := killedRun(t, bin, cfgPath, prefixLines(full, 0.8), func(_, loads int) bool { return loads >= n })
		if len(states) > 0 {
			t.Fatalf("killed after %d batches, the overwrite run printed states %q: a resume from them would lose the records before them", n, states)
		}
		expectRows(t, h.Rows(t, schema, "crash", []string{"id", "v"}, "id"), oldRows)
	}
	r = Run(t, h, c, full)
	expectOK(t, r)
	if got := strings.Join(r.States(), ","); got != fmt.Sprintf(`{"pos":%d}`, total) {
		t.Errorf("an overwrite run prints one state, after the swap: got %q", got)
	}
	var want []string
	for i := 1; i <= total; i++ {
		want = append(want, fmt.Sprintf("%d|value %d", i, i))
	}
	expectRows(t, h.Rows(t, schema, "crash", []string{"id", "v"}, "id"), want)
}

// overwriteFailedRun: an overwrite run that fails on bad input changes no
// table and prints no state; the next run replaces every table of its
// streams (one with no records is emptied), a key's last record winning.
func overwriteFailedRun(t *testing.T, h Harness, cfg map[string]any, schema string) {
	c := with(cfg, "load_method", "overwrite", "batch_size_rows", 2)
	so := schemaMsg("o", `"id":{"type":"integer"},"v":{"type":"string"}`, `"id"`)
	sp := schemaMsg("p", `"v":{"type":"string"}`, "")
	expectOK(t, Run(t, h, c, lines(so, sp, rec("o", `{"id":1,"v":"a"}`), rec("o", `{"id":2,"v":"b"}`), rec("p", `{"v":"x"}`), state(`{"s":1}`))))
	r := Run(t, h, c, lines(so, sp, rec("o", `{"id":3,"v":"c"}`), rec("o", `{"id":4,"v":"d"}`), rec("o", `{"id":5,"v":"e"}`), state(`{"s":2}`), rec("o", `{"id":"bad"}`)))
	expectError(t, r, `line 7: stream "o": record does not match its schema`)
	if r.Stdout != "" {
		t.Errorf("a failed overwrite run printed %q: no state, the tables are unchanged", r.Stdout)
	}
	expectRows(t, h.Rows(t, schema, "o", []string{"id", "v"}, "id"), []string{"1|a", "2|b"})
	expectRows(t, h.Rows(t, schema, "p", []string{"v"}, "v"), []string{"x"})
	r = Run(t, h, c, lines(so, sp, state(`{"s":2}`), rec("o", `{"id":3,"v":"c"}`), rec("o", `{"id":4,"v":"d"}`), rec("o", `{"id":3,"v":"c2"}`), state(`{"s":3}`)))
	expectOK(t, r)
	if got := strings.Join(r.States(), ","); got != `{"s":3}` {
		t.Errorf("states %q, want the last one only", got)
	}
	expectRows(t, h.Rows(t, schema, "o", []string{"id", "v"}, "id"), []string{"3|c2", "4|d"})
	expectRows(t, h.Rows(t, schema, "p", []string{"v"}, "v"), nil)
}

// overwriteActivateVersion: ACTIVATE_VERSION in an overwrite run applies to
// the run's records; the table ends with exactly them.
func overwriteActivateVersion(t *testing.T, h Harness, cfg map[string]any, schema string) {
	c := with(cfg, "load_method", "overwrite", "add_metadata_columns", true, "hard_delete", true)
	sm := schemaMsg("av", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`)
	run := func(version int, recs ...string) {
		in := []string{sm, fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":"av","version":%d}`, version)}
		for _, r := range recs {
			in = append(in, fmt.Sprintf(`{"type":"RECORD","stream":"av","record":%s,"version":%d}`, r, version))
		}
		in = append(in, fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":"av","version":%d}`, version), state(fmt.Sprintf(`{"v":%d}`, version)))
		r := Run(t, h, c, lines(in...))
		expectOK(t, r)
		if got := strings.Join(r.States(), ","); got != fmt.Sprintf(`{"v":%d}`, version) {
			t.Errorf("states %q", got)
		}
	}
	run(1, `{"id":1,"name":"v1"}`, `{"id":2,"name":"v1"}`)
	run(2, `{"id":1,"name":"v2"}`, `{"id":3,"name":"v2"}`)
	expectRows(t, h.Rows(t, schema, "av", []string{"id", "name", "_sdc_table_version"}, "id"), []string{"1|v2|2", "3|v2|2"})
}

// AppendSkipsExistingKeys is the case of dialects whose tables enforce
// unique keys (PostgreSQL, MySQL; not BigQuery): append mode creates no
// unique key, but a table that has one on the stream's keys (made by an
// earlier upsert run, or by its owner) skips the records whose key it has
// (a replay after a resume) instead of failing, with one warning.
func AppendSkipsExistingKeys(t *testing.T, h Harness) {
	cfg, schema := h.Config(t)
	sm := schemaMsg("k", `"id":{"type":"integer"},"v":{"type":"string"}`, `"id"`)
	expectOK(t, Run(t, h, cfg, lines(sm, rec("k", `{"id":1,"v":"a"}`), rec("k", `{"id":2,"v":"b"}`))))
	// One connection: the batches load in order, so the first skip is known.
	c := with(cfg, "load_method", "append", "batch_size_rows", 2, "max_parallel_flushes", 1)
	r := Run(t, h, c, lines(sm,
		rec("k", `{"id":1,"v":"a again"}`), rec("k", `{"id":2,"v":"b again"}`), state(`{"s":1}`),
		rec("k", `{"id":3,"v":"c"}`), rec("k", `{"id":2,"v":"b 3rd"}`), state(`{"s":2}`),
		rec("k", `{"id":4,"v":"d"}`), rec("k", `{"id":4,"v":"d again"}`), state(`{"s":3}`)))
	expectOK(t, r)
	if got := strings.Join(r.States(), ","); got != `{"s":1},{"s":2},{"s":3}` {
		t.Errorf("states %q", got)
	}
	expectRows(t, h.Rows(t, schema, "k", []string{"id", "v"}, "id"), []string{"1|a", "2|b", "3|c", "4|d"})
	if n := strings.Count(r.Stderr, `stream "k": table `); n != 1 || !strings.Contains(r.Stderr, `append skipped 2 records whose key is already in the table`) {
		t.Errorf("want one warning naming the 2 records skipped first; stderr:\n%s", r.Stderr)
	}
	// A table append creates has no unique key: every record is a row.
	cfg2, schema2 := h.Config(t)
	expectOK(t, Run(t, h, with(cfg2, "load_method", "append"), lines(sm, rec("k", `{"id":1,"v":"a"}`), rec("k", `{"id":1,"v":"a"}`))))
	expectOK(t, Run(t, h, with(cfg2, "load_method", "append"), lines(sm, rec("k", `{"id":1,"v":"a2"}`))))
	expectRows(t, h.Rows(t, schema2, "k", []string{"id", "v"}, "id, v"), []string{"1|a", "1|a", "1|a2"})
}

// OverwriteWidensReplacement is the case of dialects that widen an integer
// column for a value beyond 64 bits in place (PostgreSQL, MySQL; the
// BigQuery emulator cannot ALTER a column's type): a value that widens its
// column in an overwrite run goes to the replacement like the others, and
// the table takes the wider type.
func OverwriteWidensReplacement(t *testing.T, h Harness) {
	cfg, schema := h.Config(t)
	c := with(cfg, "load_method", "overwrite")
	sm := schemaMsg("w", `"id":{"type":"integer"},"v":{"type":"integer"}`, `"id"`)
	expectOK(t, Run(t, h, c, lines(sm, rec("w", `{"id":9,"v":9}`))))
	r := Run(t, h, c, lines(sm, rec("w", `{"id":1,"v":7}`), rec("w", `{"id":2,"v":123456789012345678901234567890}`), rec("w", `{"id":3,"v":8}`), state(`{"s":1}`)))
	expectOK(t, r)
	if got := strings.Join(r.States(), ","); got != `{"s":1}` {
		t.Errorf("states %q", got)
	}
	expectRows(t, h.Rows(t, schema, "w", []string{"id", "v"}, "id"), []string{"1|7", "2|123456789012345678901234567890", "3|8"})
}
