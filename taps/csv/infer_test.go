package csvtap

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/schemas"
)

// TestInference is the inference table: a column's sampled values and the
// schema it gets.
func TestInference(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		schema string
	}{
		{"no values", nil, `{"type":["null","string"]}`},
		{"integer", []string{"1", "", "-20"}, `{"type":["null","integer"]}`},
		{"int64 bounds", []string{"-9223372036854775808", "9223372036854775807"}, `{"type":["null","integer"]}`},
		{"beyond int64", []string{"-9223372036854775809"}, `{"type":["null","number"]}`},
		{"minus zero", []string{"-0"}, `{"type":["null","integer"]}`},
		{"integer and decimal", []string{"1", "2.50"}, `{"type":["null","number"]}`},
		{"zero point", []string{"0.5", "-0.25"}, `{"type":["null","number"]}`},
		{"leading zero", []string{"01"}, `{"type":["null","string"]}`},
		{"leading zero decimal", []string{"00.5"}, `{"type":["null","string"]}`},
		{"thousands separator", []string{"1,000"}, `{"type":["null","string"]}`},
		{"NaN", []string{"NaN"}, `{"type":["null","string"]}`},
		{"boolean", []string{"true", "False", "TRUE"}, `{"type":["null","boolean"]}`},
		{"boolean and number", []string{"true", "1"}, `{"type":["null","string"]}`},
		{"date", []string{"2000-02-29", "0001-01-01", "9999-12-31"}, `{"type":["null","string"],"format":"date"}`},
		{"not a leap year", []string{"1900-02-29"}, `{"type":["null","string"]}`},
		{"short date", []string{"2024-1-02"}, `{"type":["null","string"]}`},
		{"date-time forms", []string{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05-08:00", "2024-01-02 03:04:05", "2024-01-02T03:04:05.123456789", "2024-01-02 03:04:05+01:00"}, `{"type":["null","string"],"format":"date-time"}`},
		{"ten fraction digits", []string{"2024-01-02T03:04:05.1234567890Z"}, `{"type":["null","string"]}`},
		{"hour 24", []string{"2024-01-02 24:00:00"}, `{"type":["null","string"]}`},
		{"no seconds", []string{"2024-01-02 03:04"}, `{"type":["null","string"]}`},
		{"lower-case zone", []string{"2024-01-02T03:04:05z"}, `{"type":["null","string"]}`},
		{"offset without colon", []string{"2024-01-02T03:04:05+0100"}, `{"type":["null","string"]}`},
		{"text", []string{"hello"}, `{"type":["null","string"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInference()
			for _, v := range tt.values {
				in.observe(v)
			}
			if got := in.result().schema; got != tt.schema {
				t.Errorf("schema %s, want %s", got, tt.schema)
			}
		})
	}
}

func TestAppendDateTime(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"space and no zone", "2024-01-02 03:04:05", `"2024-01-02T03:04:05Z"`},
		{"fraction, no zone", "2024-01-02T03:04:05.25", `"2024-01-02T03:04:05.25Z"`},
		{"offset kept", "2024-01-02 03:04:05-05:00", `"2024-01-02T03:04:05-05:00"`},
		{"RFC 3339 as is", "2024-01-02T03:04:05.000Z", `"2024-01-02T03:04:05.000Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendDateTime(nil, tt.in)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestConfigSchema checks the embedded config schema: every key has a
// description, and a default unless it is required.
func TestConfigSchema(t *testing.T) {
	type prop struct {
		Description string          `json:"description"`
		Default     json.RawMessage `json:"default"`
		Items       struct {
			Required   []string        `json:"required"`
			Properties map[string]prop `json:"properties"`
		} `json:"items"`
	}
	var doc struct {
		Schema     string          `json:"$schema"`
		Required   []string        `json:"required"`
		Properties map[string]prop `json:"properties"`
	}
	if err := json.Unmarshal(schemas.Get("tap-csv.config.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "http://json-schema.org/draft-07/schema#" {
		t.Errorf("$schema %q, want draft-07", doc.Schema)
	}
	check := func(path string, props map[string]prop, required []string) {
		for name, p := range props {
			if p.Description == "" {
				t.Errorf("%s%s has no description", path, name)
			}
			// A key without a default says what leaving it unset means.
			if p.Default == nil && !slices.Contains(required, name) && !strings.Contains(p.Description, "Unset: ") {
				t.Errorf("%s%s has no default", path, name)
			}
		}
	}
	check("", doc.Properties, doc.Required)
	files := doc.Properties["files"].Items
	check("files[].", files.Properties, files.Required)
	if len(files.Properties) != 9 {
		t.Errorf("files[] has %d keys, want 9", len(files.Properties))
	}

	r := run(t, context.Background(), "--about", "--format", "markdown")
	if r.code != 0 || !strings.Contains(r.stdout, "| `sample_rows` | integer >= 1 | `1000` | Data rows of each file read to infer the column types.") {
		t.Errorf("--about: exit %d\n%s", r.code, r.stdout)
	}
}
