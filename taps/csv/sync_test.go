package csvtap

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

const peopleCSV = "\uFEFFid,name,price,joined,seen_at,active,note\r\n" +
	"1,Zoë,10.50,2024-01-31,2024-02-01 10:00:00,true,\"a, b\nc\"\r\n" +
	"2,,0.10,,2024-02-01T10:00:00+02:00,FALSE,\r\n" +
	"3,李,123456789012345678901234.5678,2024-02-29,,,\"say \"\"hi\"\"\"\r\n"

const peopleSchema = `{"type":"SCHEMA","stream":"people","schema":{"type":"object","properties":{` +
	`"id":{"type":["null","integer"]},"name":{"type":["null","string"]},"price":{"type":["null","number"]},` +
	`"joined":{"type":["null","string"],"format":"date"},"seen_at":{"type":["null","string"],"format":"date-time"},` +
	`"active":{"type":["null","boolean"]},"note":{"type":["null","string"]}}},"key_properties":["id"]}`

var peopleRecords = []string{
	`{"type":"RECORD","stream":"people","record":{"id":1,"name":"Zoë","price":10.50,"joined":"2024-01-31","seen_at":"2024-02-01T10:00:00Z","active":true,"note":"a, b\nc"},"time_extracted":"*"}`,
	`{"type":"RECORD","stream":"people","record":{"id":2,"name":null,"price":0.10,"joined":null,"seen_at":"2024-02-01T10:00:00+02:00","active":false,"note":null},"time_extracted":"*"}`,
	`{"type":"RECORD","stream":"people","record":{"id":3,"name":"李","price":123456789012345678901234.5678,"joined":"2024-02-29","seen_at":null,"active":null,"note":"say \"hi\""},"time_extracted":"*"}`,
}

func TestSyncOutput(t *testing.T) {
	dir := t.TempDir()
	people := writeFile(t, dir, "people.csv", peopleCSV)
	tags := writeFile(t, dir, "tags.tsv", "7\tred\n8\t\n")
	cfg := writeConfig(t, dir, map[string]any{
		"files": []any{
			map[string]any{"stream": "people", "path": people, "key_properties": []string{"id"}},
			map[string]any{"stream": "tags", "path": tags, "header": false, "columns": []string{"n", "tag"}, "delimiter": "\t"},
		},
		"state_every_rows": 2,
	})
	start := time.Now().UTC().Truncate(time.Second)
	r := run(t, context.Background(), "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	peopleBM := func(row int, done bool) string {
		d := ""
		if done {
			d = `"done":true,`
		}
		return fmt.Sprintf(`"people":{%s"file_mtime":"%s","file_size":%d,"row":%d}`, d, fixedMtimeText, len(peopleCSV), row)
	}
	tagsBM := fmt.Sprintf(`"tags":{"done":true,"file_mtime":"%s","file_size":9,"row":2}`, fixedMtimeText)
	want := []string{
		peopleSchema,
		peopleRecords[0],
		peopleRecords[1],
		`{"type":"STATE","value":{"bookmarks":{` + peopleBM(2, false) + `},"currently_syncing":"people"}}`,
		peopleRecords[2],
		`{"type":"STATE","value":{"bookmarks":{` + peopleBM(3, true) + `},"currently_syncing":null}}`,
		`{"type":"SCHEMA","stream":"tags","schema":{"type":"object","properties":{"n":{"type":["null","integer"]},"tag":{"type":["null","string"]}}},"key_properties":[]}`,
		`{"type":"RECORD","stream":"tags","record":{"n":7,"tag":"red"},"time_extracted":"*"}`,
		`{"type":"RECORD","stream":"tags","record":{"n":8,"tag":null},"time_extracted":"*"}`,
		`{"type":"STATE","value":{"bookmarks":{` + peopleBM(3, true) + `,` + tagsBM + `},"currently_syncing":null}}`,
	}
	equalLines(t, "stdout", lines(r.stdout), want)
	equalLines(t, "stderr", lines(r.stderr), []string{
		`INFO METRIC: {"type":"counter","metric":"record_count","value":3,"tags":{"stream":"people"}}`,
		`INFO METRIC: {"type":"counter","metric":"record_count","value":2,"tags":{"stream":"tags"}}`,
	})
	checkStream(t, r.stdout)

	// time_extracted is when the run read the file, in UTC.
	m := timeExtracted.FindString(r.stdout)
	ts, err := time.Parse(time.RFC3339Nano, strings.TrimSuffix(strings.TrimPrefix(m, `"time_extracted":"`), `"`))
	if err != nil || ts.Before(start) || ts.After(time.Now()) {
		t.Errorf("time_extracted %q: %v, want between %s and now", m, err, start)
	}
}

// TestSyncTypeTable runs one column of values through the whole tap: the
// inferred schema and the emitted values.
func TestSyncTypeTable(t *testing.T) {
	tests := []struct {
		name   string
		values []string // CSV cells, as written in the file
		schema string
		want   []string // the emitted JSON values
	}{
		{"integers", []string{"0", "-7", "42", "9223372036854775807"}, `{"type":["null","integer"]}`, []string{"0", "-7", "42", "9223372036854775807"}},
		{"integer beyond int64 is a number", []string{"1", "9223372036854775808"}, `{"type":["null","number"]}`, []string{"1", "9223372036854775808"}},
		{"leading zeros are text", []string{"007", "12"}, `{"type":["null","string"]}`, []string{`"007"`, `"12"`}},
		{"decimals keep their text", []string{"1.10", "-0.000", "3", "0.1000000000000000055511151231257827"}, `{"type":["null","number"]}`, []string{"1.10", "-0.000", "3", "0.1000000000000000055511151231257827"}},
		{"exponent is text", []string{"1e5", "2"}, `{"type":["null","string"]}`, []string{`"1e5"`, `"2"`}},
		{"plus sign and bare dot are text", []string{"+1", ".5", "5."}, `{"type":["null","string"]}`, []string{`"+1"`, `".5"`, `"5."`}},
		{"booleans any case", []string{"true", "FALSE", "True"}, `{"type":["null","boolean"]}`, []string{"true", "false", "true"}},
		{"yes/no are text", []string{"yes", "no"}, `{"type":["null","string"]}`, []string{`"yes"`, `"no"`}},
		{"dates", []string{"2024-02-29", "1999-12-31"}, `{"type":["null","string"],"format":"date"}`, []string{`"2024-02-29"`, `"1999-12-31"`}},
		{"impossible date is text", []string{"2023-02-29", "2024-01-01"}, `{"type":["null","string"]}`, []string{`"2023-02-29"`, `"2024-01-01"`}},
		{"date-times", []string{"2024-01-02 03:04:05", "2024-01-02T03:04:05.123+05:30", "2024-01-02 03:04:05.5", "2024-01-02T03:04:05Z"}, `{"type":["null","string"],"format":"date-time"}`,
			[]string{`"2024-01-02T03:04:05Z"`, `"2024-01-02T03:04:05.123+05:30"`, `"2024-01-02T03:04:05.5Z"`, `"2024-01-02T03:04:05Z"`}},
		{"dates mixed with date-times are text", []string{"2024-01-02", "2024-01-02 03:04:05"}, `{"type":["null","string"]}`, []string{`"2024-01-02"`, `"2024-01-02 03:04:05"`}},
		{"leap second is text", []string{"2016-12-31T23:59:60Z"}, `{"type":["null","string"]}`, []string{`"2016-12-31T23:59:60Z"`}},
		{"all empty is a nullable string", []string{"", ""}, `{"type":["null","string"]}`, []string{"null", "null"}},
		{"empty cells are null", []string{"", "5", ""}, `{"type":["null","integer"]}`, []string{"null", "5", "null"}},
		{"spaces are kept", []string{" 5", "x "}, `{"type":["null","string"]}`, []string{`" 5"`, `"x "`}},
		{"escapes", []string{`"tab	and ""quote"""`, "\"line\nbreak\"", `back\slash`}, `{"type":["null","string"]}`, []string{`"tab\tand \"quote\""`, `"line\nbreak"`, `"back\\slash"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var csv strings.Builder
			csv.WriteString("n,v\n")
			for i, v := range tt.values {
				fmt.Fprintf(&csv, "%d,%s\n", i, v)
			}
			p := writeFile(t, dir, "t.csv", csv.String())
			cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{"stream": "t", "path": p}}})
			r := run(t, context.Background(), "--config", cfg)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			want := []string{`{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"n":{"type":["null","integer"]},"v":` + tt.schema + `}},"key_properties":[]}`}
			for i, v := range tt.want {
				want = append(want, fmt.Sprintf(`{"type":"RECORD","stream":"t","record":{"n":%d,"v":%s},"time_extracted":"*"}`, i, v))
			}
			got := lines(r.stdout)
			equalLines(t, "stdout", got[:len(got)-1], want)
			checkStream(t, r.stdout)
		})
	}
}

func TestSchemaOverrides(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "o.csv", "id,zip,day,amount,code\n1,2134,2024-01-02,5,AB\n2,,,7.5,CD\n")
	cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{
		"stream": "o", "path": p, "key_properties": []string{"id"},
		"schema_overrides": map[string]any{
			"zip":    map[string]any{"type": []string{"null", "string"}, "description": "postal code"},
			"day":    map[string]any{"type": []string{"null", "string"}, "format": "date"},
			"amount": map[string]any{"type": "number"},
			"code":   map[string]any{"type": "string", "maxLength": 2},
		},
	}}})
	r := run(t, context.Background(), "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := lines(r.stdout)
	equalLines(t, "stdout", got[:3], []string{
		`{"type":"SCHEMA","stream":"o","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},` +
			`"zip":{"description":"postal code","type":["null","string"]},"day":{"format":"date","type":["null","string"]},` +
			`"amount":{"type":"number"},"code":{"maxLength":2,"type":"string"}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"o","record":{"id":1,"zip":"2134","day":"2024-01-02","amount":5,"code":"AB"},"time_extracted":"*"}`,
		`{"type":"RECORD","stream":"o","record":{"id":2,"zip":null,"day":null,"amount":7.5,"code":"CD"},"time_extracted":"*"}`,
	})
	checkStream(t, r.stdout)
}

func TestResume(t *testing.T) {
	const content = "id,v\n1,a\n2,b\n3,c\n"
	rec := func(id int, v string) string {
		return fmt.Sprintf(`{"type":"RECORD","stream":"s","record":{"id":%d,"v":"%s"},"time_extracted":"*"}`, id, v)
	}
	schema := `{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"v":{"type":["null","string"]}}},"key_properties":["id"]}`
	bm := func(size, row int, done bool, mtime string) string {
		d := ""
		if done {
			d = `"done":true,`
		}
		return fmt.Sprintf(`{"s":{%s"file_mtime":"%s","file_size":%d,"row":%d}}`, d, mtime, size, row)
	}
	other := `"other":{"cursor":7}`
	tests := []struct {
		name   string
		state  string
		stdout []string
		stderr []string
	}{
		{
			name:   "skips the rows of the bookmark",
			state:  `{"bookmarks":` + bm(len(content), 2, false, fixedMtimeText) + `,"currently_syncing":"s"}`,
			stdout: []string{schema, rec(3, "c"), `{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`},
			stderr: []string{`INFO stream "s": resuming FILE after row 2 (state)`},
		},
		{
			name:   "a target's output, last line wins, other bookmarks kept",
			state:  `{"bookmarks":{"s":{"row":1}}}` + "\n" + `{"bookmarks":{` + other + `,"s":{"file_mtime":"` + fixedMtimeText + `","file_size":17,"row":1}},"currently_syncing":null}`,
			stdout: []string{schema, rec(2, "b"), rec(3, "c"), `{"type":"STATE","value":{"bookmarks":{` + other + `,"s":{"done":true,"file_mtime":"` + fixedMtimeText + `","file_size":17,"row":3}},"currently_syncing":null}}`},
			stderr: []string{`INFO stream "s": resuming FILE after row 1 (state)`},
		},
		{
			name:   "a finished file is skipped",
			state:  `{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`,
			stdout: []string{`{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`},
			stderr: []string{`INFO stream "s": skipped: FILE was emitted whole and has not changed since (state)`},
		},
		{
			name:   "a changed size means a full read",
			state:  `{"bookmarks":` + bm(12, 3, true, fixedMtimeText) + `}`,
			stdout: []string{schema, rec(1, "a"), rec(2, "b"), rec(3, "c"), `{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`},
			stderr: []string{`INFO stream "s": FILE changed since the state was written (size 12 -> 17, modified 2024-01-02T03:04:05Z -> 2024-01-02T03:04:05Z); reading it again from the start`},
		},
		{
			name:   "a changed mtime means a full read",
			state:  `{"bookmarks":` + bm(len(content), 2, false, "2023-12-31T00:00:00Z") + `}`,
			stdout: []string{schema, rec(1, "a"), rec(2, "b"), rec(3, "c"), `{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`},
			stderr: []string{`INFO stream "s": FILE changed since the state was written (size 17 -> 17, modified 2023-12-31T00:00:00Z -> 2024-01-02T03:04:05Z); reading it again from the start`},
		},
		{
			name:   "a foreign bookmark means a full read",
			state:  `{"bookmarks":{"s":{"replication_key_value":"x"}}}`,
			stdout: []string{schema, rec(1, "a"), rec(2, "b"), rec(3, "c"), `{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`},
			stderr: []string{`INFO stream "s": the state's bookmark has no file_size and file_mtime; reading FILE from the start`},
		},
		{
			name:   "an empty state means a full read",
			state:  `{}`,
			stdout: []string{schema, rec(1, "a"), rec(2, "b"), rec(3, "c"), `{"type":"STATE","value":{"bookmarks":` + bm(len(content), 3, true, fixedMtimeText) + `,"currently_syncing":null}}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "s.csv", content)
			cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{"stream": "s", "path": p, "key_properties": []string{"id"}}}})
			state := writeFile(t, dir, "state.json", tt.state)
			r := run(t, context.Background(), "--config", cfg, "--state", state)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			equalLines(t, "stdout", lines(r.stdout), tt.stdout)
			var wantErr []string
			for _, l := range tt.stderr {
				wantErr = append(wantErr, strings.ReplaceAll(l, "FILE", p))
			}
			equalLines(t, "stderr", withoutMetrics(r.stderr), wantErr)
			checkStream(t, r.stdout)
		})
	}
}

// cancelOnWrite cancels a context at its first write: the tap's output is
// flushed at its first STATE, so this is a signal arriving just after it.
type cancelOnWrite struct {
	strings.Builder
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return w.Builder.Write(p)
}

func TestInterruptThenResume(t *testing.T) {
	dir := t.TempDir()
	const content = "id\n1\n2\n3\n4\n5\n"
	p := writeFile(t, dir, "s.csv", content)
	cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{"stream": "s", "path": p}}, "state_every_rows": 2})
	rec := func(id int) string {
		return fmt.Sprintf(`{"type":"RECORD","stream":"s","record":{"id":%d},"time_extracted":"*"}`, id)
	}
	schema := `{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":["null","integer"]}}},"key_properties":[]}`
	state2 := fmt.Sprintf(`{"bookmarks":{"s":{"file_mtime":"%s","file_size":%d,"row":2}},"currently_syncing":"s"}`, fixedMtimeText, len(content))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	var errb strings.Builder
	code := runTapTo(ctx, out, &errb, "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	// The signal arrives while the state after row 2 is written, before
	// record 3 is; the last state covers record 3 too.
	state3 := fmt.Sprintf(`{"bookmarks":{"s":{"file_mtime":"%s","file_size":%d,"row":3}},"currently_syncing":"s"}`, fixedMtimeText, len(content))
	equalLines(t, "stdout", lines(out.String()), []string{schema, rec(1), rec(2), `{"type":"STATE","value":` + state2 + `}`, rec(3), `{"type":"STATE","value":` + state3 + `}`})
	equalLines(t, "stderr", withoutMetrics(errb.String()), []string{"tap-csv: error: interrupted by a signal"})

	// The next run takes the output as its state (the last line wins) and
	// goes on after record 3.
	state := writeFile(t, dir, "state.json", out.String())
	r := run(t, context.Background(), "--config", cfg, "--state", state)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	equalLines(t, "resumed stdout", lines(r.stdout), []string{
		schema, rec(4), rec(5),
		fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"s":{"done":true,"file_mtime":"%s","file_size":%d,"row":5}},"currently_syncing":null}}`, fixedMtimeText, len(content)),
	})
	equalLines(t, "resumed stderr", withoutMetrics(r.stderr), []string{fmt.Sprintf(`INFO stream "s": resuming %s after row 3 (state)`, p)})
}

func TestInterruptedBeforeStart(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "s.csv", "id\n1\n")
	cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{"stream": "s", "path": p}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := run(t, ctx, "--config", cfg)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
	}
	equalLines(t, "stderr", withoutMetrics(r.stderr), []string{"tap-csv: error: interrupted by a signal"})
}

func TestStateEveryRowsAndLargeFile(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,amount\n")
	const n = 25000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,%d.%02d\n", i, i, i%100)
	}
	p := writeFile(t, dir, "big.csv", b.String())
	cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{"stream": "big", "path": p}}, "sample_rows": 10})
	r := run(t, context.Background(), "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var states []string
	records := 0
	for _, l := range lines(r.stdout) {
		switch {
		case strings.HasPrefix(l, `{"type":"STATE"`):
			states = append(states, l)
		case strings.HasPrefix(l, `{"type":"RECORD"`):
			records++
		}
	}
	if records != n {
		t.Errorf("%d records, want %d", records, n)
	}
	size := b.Len()
	equalLines(t, "states", states, []string{
		fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"big":{"file_mtime":"%s","file_size":%d,"row":10000}},"currently_syncing":"big"}}`, fixedMtimeText, size),
		fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"big":{"file_mtime":"%s","file_size":%d,"row":20000}},"currently_syncing":"big"}}`, fixedMtimeText, size),
		fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"big":{"done":true,"file_mtime":"%s","file_size":%d,"row":25000}},"currently_syncing":null}}`, fixedMtimeText, size),
	})
	checkStream(t, r.stdout)
}

func TestDemoConfig(t *testing.T) {
	// The demo config names its files relative to the repository root.
	t.Chdir("../..")
	r := run(t, context.Background(), "--config", "testdata/demo/tap-csv.config.json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	checkStream(t, r.stdout)
	got := lines(r.stdout)
	if len(got) != 51 {
		t.Errorf("%d lines, want 51 (3 SCHEMA, 45 RECORD, 3 STATE)", len(got))
	}
}

func TestColumnsRenameHeader(t *testing.T) {
	dir := t.TempDir()
	// A header with a duplicate and an empty name is fine when "columns"
	// names every column.
	p := writeFile(t, dir, "r.csv", "Id,,Id\n1,x,2\n")
	cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{
		"stream": "r", "path": p, "columns": []string{"id", "label", "parent_id"}, "key_properties": []string{"id"},
	}}})
	r := run(t, context.Background(), "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := lines(r.stdout)
	equalLines(t, "stdout", got[:2], []string{
		`{"type":"SCHEMA","stream":"r","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"label":{"type":["null","string"]},"parent_id":{"type":["null","integer"]}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"r","record":{"id":1,"label":"x","parent_id":2},"time_extracted":"*"}`,
	})
}
