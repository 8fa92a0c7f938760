package csvtap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	const schemaIDV = `{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"v":{"type":["null","string"]}}},"key_properties":[]}`
	file := func(path string, extra ...map[string]any) map[string]any {
		m := map[string]any{"stream": "s", "path": path}
		for _, e := range extra {
			for k, v := range e {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name   string
		files  map[string]string // name -> content, under DIR
		config map[string]any    // "DIR" in strings is the test's directory
		code   int
		stderr string // the last line of stderr
		stdout []string
	}{
		{
			name:   "missing file",
			config: map[string]any{"files": []any{file("DIR/nope.csv")}},
			code:   1,
			stderr: "tap-csv: error: DIR/nope.csv: cannot read the file: no such file or directory",
		},
		{
			name:   "every missing file at once, before any output",
			files:  map[string]string{"ok.csv": "id\n1\n"},
			config: map[string]any{"files": []any{file("DIR/ok.csv"), file("DIR/a.csv", map[string]any{"stream": "a"}), file("DIR/b.csv", map[string]any{"stream": "b"})}},
			code:   1,
			stderr: "tap-csv: error: DIR/a.csv: cannot read the file: no such file or directory; DIR/b.csv: cannot read the file: no such file or directory",
		},
		{
			name:   "unreadable file (a directory)",
			files:  map[string]string{"sub/x.csv": "id\n"},
			config: map[string]any{"files": []any{file("DIR/sub")}},
			code:   1,
			stderr: "tap-csv: error: DIR/sub: cannot read the file: it is a directory",
		},
		{
			name:   "row with more fields than the header",
			files:  map[string]string{"r.csv": "id,v\n1,a\n2,b,c\n"},
			config: map[string]any{"files": []any{file("DIR/r.csv")}},
			code:   1,
			stderr: "tap-csv: error: DIR/r.csv:3: the row has 3 fields but the header has 2; every row needs one field per column (a field with the delimiter or a line break in it must be quoted)",
		},
		{
			name:   "row with fewer fields after the sample",
			files:  map[string]string{"r.csv": "id,v\n1,a\n2\n"},
			config: map[string]any{"files": []any{file("DIR/r.csv")}, "sample_rows": 1},
			code:   1,
			stderr: "tap-csv: error: DIR/r.csv:3: the row has 1 fields but the header has 2; every row needs one field per column (a field with the delimiter or a line break in it must be quoted)",
			stdout: []string{schemaIDV, `{"type":"RECORD","stream":"s","record":{"id":1,"v":"a"},"time_extracted":"*"}`},
		},
		{
			name:   "ragged row without a header",
			files:  map[string]string{"r.csv": "1,a\n2,b,c\n"},
			config: map[string]any{"files": []any{file("DIR/r.csv", map[string]any{"header": false, "columns": []string{"id", "v"}})}},
			code:   1,
			stderr: `tap-csv: error: DIR/r.csv:2: the row has 3 fields but "columns" lists 2; every row needs one field per column (a field with the delimiter or a line break in it must be quoted)`,
		},
		{
			name:   "duplicate column names",
			files:  map[string]string{"d.csv": "id,v,id\n1,2,3\n"},
			config: map[string]any{"files": []any{file("DIR/d.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/d.csv:1: duplicate column name "id" (columns 1 and 3); rename one in the file or give every name in "columns"`,
		},
		{
			name:   "empty file",
			files:  map[string]string{"e.csv": ""},
			config: map[string]any{"files": []any{file("DIR/e.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/e.csv: the file is empty: there is no header row (set "header": false and "columns" for a file without one)`,
		},
		{
			name:   "empty header row",
			files:  map[string]string{"e.csv": "\"\"\n1\n"},
			config: map[string]any{"files": []any{file("DIR/e.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/e.csv:1: the header row is empty: the first row must name the columns (or set "header": false and "columns")`,
		},
		{
			name:   "header column without a name",
			files:  map[string]string{"e.csv": "id,,v\n1,2,3\n"},
			config: map[string]any{"files": []any{file("DIR/e.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/e.csv:1: column 2 of the header has no name; name it in the file or give every name in "columns"`,
		},
		{
			name:   "header with fewer names than columns",
			files:  map[string]string{"c.csv": "a,b\n1,2\n"},
			config: map[string]any{"files": []any{file("DIR/c.csv", map[string]any{"columns": []string{"x", "y", "z"}})}},
			code:   1,
			stderr: `tap-csv: error: DIR/c.csv:1: the header has 2 columns but "columns" lists 3 names`,
		},
		{
			name:   "bare quote",
			files:  map[string]string{"q.csv": "id,v\n1,a\"b\n"},
			config: map[string]any{"files": []any{file("DIR/q.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/q.csv:2: byte 4: " in an unquoted field (quote the whole field and write the quote as "")`,
		},
		{
			name:   "quoted field never closed",
			files:  map[string]string{"q.csv": "id,v\n1,\"abc\n2,x\n"},
			config: map[string]any{"files": []any{file("DIR/q.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/q.csv:2: the quoted field that starts on this line is not closed properly (an extra or a missing "; the parser gave up on line 3)`,
		},
		{
			name:   "value that does not fit the inferred type",
			files:  map[string]string{"m.csv": "id,v\n1,a\n2,b\nx3,c\n"},
			config: map[string]any{"files": []any{file("DIR/m.csv")}, "sample_rows": 2},
			code:   1,
			stderr: `tap-csv: error: DIR/m.csv:4: column "id": value "x3" is not an integer, the type inferred from the first 2 rows; to accept it, set "schema_overrides": {"id": {"type": ["null", "string"]}} for stream "s"`,
			stdout: []string{
				schemaIDV,
				`{"type":"RECORD","stream":"s","record":{"id":1,"v":"a"},"time_extracted":"*"}`,
				`{"type":"RECORD","stream":"s","record":{"id":2,"v":"b"},"time_extracted":"*"}`,
			},
		},
		{
			name:   "decimal in an integer column suggests number",
			files:  map[string]string{"m.csv": "n\n1\n\"2.5\"\n"},
			config: map[string]any{"files": []any{file("DIR/m.csv")}, "sample_rows": 1},
			code:   1,
			stderr: `tap-csv: error: DIR/m.csv:3: column "n": value "2.5" is not an integer, the type inferred from the first 1 rows; to accept it, set "schema_overrides": {"n": {"type": ["null", "number"]}} for stream "s"`,
			stdout: []string{
				`{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"n":{"type":["null","integer"]}}},"key_properties":[]}`,
				`{"type":"RECORD","stream":"s","record":{"n":1},"time_extracted":"*"}`,
			},
		},
		{
			name:   "date-time column meets a date",
			files:  map[string]string{"m.csv": "at\n2024-01-01 10:00:00\n2024-01-02\n"},
			config: map[string]any{"files": []any{file("DIR/m.csv")}, "sample_rows": 1},
			code:   1,
			stderr: `tap-csv: error: DIR/m.csv:3: column "at": value "2024-01-02" is not a date-time (RFC 3339, or YYYY-MM-DD HH:MM:SS[.fff] read as UTC), the type inferred from the first 1 rows; to accept it, set "schema_overrides": {"at": {"type": ["null", "string"]}} for stream "s"`,
			stdout: []string{
				`{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"at":{"type":["null","string"],"format":"date-time"}}},"key_properties":[]}`,
				`{"type":"RECORD","stream":"s","record":{"at":"2024-01-01T10:00:00Z"},"time_extracted":"*"}`,
			},
		},
		{
			name:   "invalid UTF-8",
			files:  map[string]string{"u.csv": "id,v\n1,caf\xe9\n"},
			config: map[string]any{"files": []any{file("DIR/u.csv")}},
			code:   1,
			stderr: `tap-csv: error: DIR/u.csv:2: column "v": the value is not valid UTF-8; tap-csv reads UTF-8 only (convert the file first, e.g. with iconv)`,
			stdout: []string{schemaIDV},
		},
		{
			name:   "value that does not fit an override",
			files:  map[string]string{"o.csv": "id,v\n1,a\n"},
			config: map[string]any{"files": []any{file("DIR/o.csv", map[string]any{"schema_overrides": map[string]any{"v": map[string]any{"type": "integer"}}})}},
			code:   1,
			stderr: `tap-csv: error: DIR/o.csv:2: column "v": value "a" is not integer, as its schema_overrides entry says`,
			stdout: []string{`{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"v":{"type":"integer"}}},"key_properties":[]}`},
		},
		{
			name:   "empty value in a non-nullable override",
			files:  map[string]string{"o.csv": "id,v\n1,\n"},
			config: map[string]any{"files": []any{file("DIR/o.csv", map[string]any{"schema_overrides": map[string]any{"v": map[string]any{"type": []string{"integer", "boolean"}}}})}},
			code:   1,
			stderr: `tap-csv: error: DIR/o.csv:2: column "v": the value is empty (null), which its schema_overrides type does not allow; add "null" to the type`,
			stdout: []string{`{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"v":{"type":["integer","boolean"]}}},"key_properties":[]}`},
		},
		{
			name:   "value that breaks an override's constraint",
			files:  map[string]string{"o.csv": "id,v\n1,ab\n2,abc\n"},
			config: map[string]any{"files": []any{file("DIR/o.csv", map[string]any{"schema_overrides": map[string]any{"v": map[string]any{"type": "string", "maxLength": 2}}})}},
			code:   1,
			stderr: `tap-csv: error: DIR/o.csv:3: the row does not match the schema that schema_overrides set for stream "s": /v: length must be <= 2, but got 3`,
			stdout: []string{
				`{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"v":{"maxLength":2,"type":"string"}}},"key_properties":[]}`,
				`{"type":"RECORD","stream":"s","record":{"id":1,"v":"ab"},"time_extracted":"*"}`,
			},
		},

		// Config problems: exit 2, before any output.
		{
			name:   "quotechar other than a double quote",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"quotechar": "'"})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files[0] (stream "s"): quotechar "'" is not supported: fields can only be quoted with " (Go's encoding/csv); convert the file or leave quotechar out`,
		},
		{
			name:   "encoding other than UTF-8",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"encoding": "latin-1"})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files[0] (stream "s"): encoding "latin-1" is not supported: tap-csv reads UTF-8 only; convert the file first (e.g. iconv -f latin-1 -t utf-8)`,
		},
		{
			name:   "quote as delimiter",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"delimiter": `"`})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files[0] (stream "s"): delimiter "\"" cannot separate fields (not a quote, line break or invalid character)`,
		},
		{
			name:   "delimiter of two characters",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"delimiter": "ab"})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files.0.delimiter: length must be <= 1, but got 2`,
		},
		{
			name:   "no header and no columns",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"header": false})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files[0] (stream "s"): "header": false needs "columns", the names of the columns in file order`,
		},
		{
			name:   "every config problem at once",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"columns": []string{"a", "a"}}), file("DIR/t.csv", map[string]any{"key_properties": []string{"k", "k"}})}},
			code:   2,
			stderr: `tap-csv: error: invalid config (3 problems): files[0] (stream "s"): columns lists "a" twice; column names must be unique; files[1] (stream "s"): stream "s" is also the stream of files[0]; stream names must be unique; files[1] (stream "s"): key_properties lists "k" twice`,
		},
		{
			name:   "unknown key",
			config: map[string]any{"files": []any{file("DIR/s.csv")}, "smaple_rows": 5},
			code:   2,
			stderr: `tap-csv: error: invalid config: unknown config key "smaple_rows": did you mean "sample_rows"?`,
		},
		{
			name:   "override without a type",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"schema_overrides": map[string]any{"v": map[string]any{"format": "date"}}})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files[0] (stream "s"): schema_overrides["v"]: needs a "type": one or more of null, integer, number, boolean, string`,
		},
		{
			name:   "override with a type a cell cannot be",
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"schema_overrides": map[string]any{"v": map[string]any{"type": []string{"null", "object"}}}})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: files[0] (stream "s"): schema_overrides["v"]: type "object" cannot hold a CSV value; use null, integer, number, boolean or string`,
		},
		{
			name:   "key property that is not a column",
			files:  map[string]string{"s.csv": "id,v\n1,a\n"},
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"key_properties": []string{"idx"}})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: stream "s": key_properties names "idx", which is not a column of DIR/s.csv (columns: id, v)`,
		},
		{
			name:   "override of a column that does not exist",
			files:  map[string]string{"s.csv": "id,v\n1,a\n"},
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"schema_overrides": map[string]any{"w": map[string]any{"type": "string"}}})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: stream "s": schema_overrides names "w", which is not a column of DIR/s.csv (columns: id, v)`,
		},
		{
			name:   "override that makes an invalid schema",
			files:  map[string]string{"s.csv": "id,v\n1,a\n"},
			config: map[string]any{"files": []any{file("DIR/s.csv", map[string]any{"schema_overrides": map[string]any{"v": map[string]any{"type": "string", "maxLength": -1}}})}},
			code:   2,
			stderr: `tap-csv: error: invalid config: stream "s": schema_overrides make an invalid schema: invalid schema: /properties/v/maxLength: must be >= 0 but found -1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, name, content)
			}
			cfg := writeConfig(t, dir, replaceDir(tt.config, dir))
			r := run(t, context.Background(), "--config", cfg)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			errLines := withoutMetrics(r.stderr)
			want := strings.ReplaceAll(tt.stderr, "DIR", dir)
			if len(errLines) != 1 || errLines[0] != want {
				t.Errorf("stderr:\n%s\nwant the one line:\n%s", strings.Join(errLines, "\n"), want)
			}
			equalLines(t, "stdout", lines(r.stdout), tt.stdout)
			if tt.stdout != nil {
				checkStream(t, r.stdout)
			}
		})
	}
}

// replaceDir replaces "DIR" in every string of a config.
func replaceDir(v any, dir string) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "DIR", dir)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = replaceDir(x, dir)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = replaceDir(x, dir)
		}
		return out
	}
	return v
}

func TestUsageErrors(t *testing.T) {
	r := run(t, context.Background())
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	equalLines(t, "stderr", lines(r.stderr), []string{
		"tap-csv: error: --config is required (a JSON file; see --about for its keys)",
		"Run 'tap-csv --help' for usage.",
	})
}
