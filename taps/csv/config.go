package csvtap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/config"
)

// Defaults of the config keys (schemas/tap-csv.config.json says the same).
const (
	defaultSampleRows     = 1000
	defaultStateEveryRows = 10000
)

// Config is tap-csv's config.
type Config struct {
	Files []FileConfig `json:"files"`
	// SampleRows is how many data rows of each file type inference reads.
	SampleRows int `json:"sample_rows"`
	// StateEveryRows is how many records go out between two STATE messages.
	StateEveryRows int `json:"state_every_rows"`
}

// FileConfig is one CSV file and the stream it becomes.
type FileConfig struct {
	Stream        string   `json:"stream"`
	Path          string   `json:"path"`
	KeyProperties []string `json:"key_properties"`
	Delimiter     string   `json:"delimiter"`
	Quotechar     string   `json:"quotechar"`
	Header        *bool    `json:"header"`
	Columns       []string `json:"columns"`
	Encoding      string   `json:"encoding"`
	// SchemaOverrides maps a column to the JSON schema fragment that
	// replaces its inferred one.
	SchemaOverrides map[string]json.RawMessage `json:"schema_overrides"`

	comma     rune
	hasHeader bool
	overrides map[string]*override
}

// override is a parsed schema_overrides entry.
type override struct {
	fragment []byte // compact JSON, as it goes into the SCHEMA
	types    typeSet
	format   strFormat
	// exact is true when the tap's own value encoding guarantees that every
	// value it emits matches the fragment (only type and a format it
	// checks), so records need no validation against it.
	exact bool
}

// annotationKeys are schema keywords that constrain no value.
var annotationKeys = map[string]bool{
	"type": true, "format": true, "description": true, "title": true,
	"default": true, "examples": true, "$comment": true,
}

// parseConfig decodes and checks the config. Every problem is reported at
// once in a *config.Error (exit 2).
func parseConfig(c *config.Config) (*Config, error) {
	cfg := &Config{}
	if err := c.Decode(cfg); err != nil {
		return nil, err
	}
	if cfg.SampleRows == 0 {
		cfg.SampleRows = defaultSampleRows
	}
	if cfg.StateEveryRows == 0 {
		cfg.StateEveryRows = defaultStateEveryRows
	}
	var problems []string
	if cfg.SampleRows < 1 {
		problems = append(problems, "sample_rows must be at least 1")
	}
	if cfg.StateEveryRows < 1 {
		problems = append(problems, "state_every_rows must be at least 1")
	}
	if len(cfg.Files) == 0 {
		problems = append(problems, "files must list at least one file")
	}
	streams := make(map[string]int, len(cfg.Files))
	for i := range cfg.Files {
		fc := &cfg.Files[i]
		where := fmt.Sprintf("files[%d]", i)
		if fc.Stream != "" {
			where += fmt.Sprintf(" (stream %q)", fc.Stream)
		}
		add := func(format string, args ...any) {
			problems = append(problems, where+": "+fmt.Sprintf(format, args...))
		}
		switch first, dup := streams[fc.Stream]; {
		case fc.Stream == "":
			add("stream is empty")
		case dup:
			add("stream %q is also the stream of files[%d]; stream names must be unique", fc.Stream, first)
		default:
			streams[fc.Stream] = i
		}
		if fc.Path == "" {
			add("path is empty")
		}
		for _, p := range fc.checkFormat() {
			add("%s", p)
		}
		if fc.KeyProperties == nil {
			fc.KeyProperties = []string{}
		}
		if d := firstDuplicate(fc.KeyProperties); d != "" {
			add("key_properties lists %q twice", d)
		}
		if fc.Columns != nil {
			for j, name := range fc.Columns {
				if name == "" {
					add("columns[%d] is empty; every column needs a name", j)
				}
			}
			if d := firstDuplicate(fc.Columns); d != "" {
				add("columns lists %q twice; column names must be unique", d)
			}
		}
		if !fc.hasHeader && fc.Columns == nil {
			add(`"header": false needs "columns", the names of the columns in file order`)
		}
		fc.overrides = make(map[string]*override, len(fc.SchemaOverrides))
		for _, col := range sortedKeys(fc.SchemaOverrides) {
			o, err := parseOverride(fc.SchemaOverrides[col])
			if err != nil {
				add("schema_overrides[%q]: %v", col, err)
				continue
			}
			fc.overrides[col] = o
		}
	}
	if len(problems) > 0 {
		return nil, &config.Error{Problems: problems}
	}
	return cfg, nil
}

// checkFormat applies the defaults of the CSV dialect keys and returns what
// is wrong with them.
func (fc *FileConfig) checkFormat() []string {
	var problems []string
	if fc.Delimiter == "" {
		fc.Delimiter = ","
	}
	r, size := utf8.DecodeRuneInString(fc.Delimiter)
	switch {
	case size != len(fc.Delimiter):
		problems = append(problems, fmt.Sprintf("delimiter %q must be a single character", fc.Delimiter))
	case r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError:
		problems = append(problems, fmt.Sprintf("delimiter %q cannot separate fields (not a quote, line break or invalid character)", fc.Delimiter))
	default:
		fc.comma = r
	}
	if fc.Quotechar == "" {
		fc.Quotechar = `"`
	}
	if fc.Quotechar != `"` {
		problems = append(problems, fmt.Sprintf(`quotechar %q is not supported: fields can only be quoted with " (Go's encoding/csv); convert the file or leave quotechar out`, fc.Quotechar))
	}
	fc.hasHeader = fc.Header == nil || *fc.Header
	switch strings.ToLower(fc.Encoding) {
	case "", "utf-8", "utf8", "utf-8-sig":
		fc.Encoding = "utf-8"
	default:
		problems = append(problems, fmt.Sprintf("encoding %q is not supported: tap-csv reads UTF-8 only; convert the file first (e.g. iconv -f %s -t utf-8)", fc.Encoding, fc.Encoding))
	}
	return problems
}

// parseOverride reads a schema_overrides fragment. Its "type" must be one
// or more of the JSON types a CSV cell can become.
func parseOverride(raw json.RawMessage) (*override, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, fmt.Errorf("must be a JSON schema object, like {\"type\": [\"null\", \"string\"]}")
	}
	o := &override{exact: true}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	o.fragment = buf.Bytes()
	var names []string
	switch t := doc["type"].(type) {
	case string:
		names = []string{t}
	case []any:
		for _, v := range t {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf(`"type" must be a string or a list of strings`)
			}
			names = append(names, s)
		}
	case nil:
		return nil, fmt.Errorf(`needs a "type": one or more of null, integer, number, boolean, string`)
	default:
		return nil, fmt.Errorf(`"type" must be a string or a list of strings`)
	}
	for _, n := range names {
		t, ok := typeNames[n]
		if !ok {
			return nil, fmt.Errorf(`type %q cannot hold a CSV value; use null, integer, number, boolean or string`, n)
		}
		o.types |= t
	}
	if o.types&^tNull == 0 {
		return nil, fmt.Errorf(`"type" needs a type other than null`)
	}
	if f, ok := doc["format"]; ok {
		s, isString := f.(string)
		switch {
		case !isString:
			return nil, fmt.Errorf(`"format" must be a string`)
		case s == "date":
			o.format = fmtDate
		case s == "date-time":
			o.format = fmtDateTime
		default:
			o.exact = false // checked by validating the records
		}
	}
	for k := range doc {
		if !annotationKeys[k] {
			o.exact = false
		}
	}
	return o, nil
}

// columnProblems checks the names the file config refers to against the
// file's columns. The problems are config problems (exit 2).
func (fc *FileConfig) columnProblems(columns []string) error {
	var problems []string
	for _, k := range fc.KeyProperties {
		if !slices.Contains(columns, k) {
			problems = append(problems, fmt.Sprintf("stream %q: key_properties names %q, which is not a column of %s (columns: %s)", fc.Stream, k, fc.Path, strings.Join(columns, ", ")))
		}
	}
	for _, col := range sortedKeys(fc.SchemaOverrides) {
		if !slices.Contains(columns, col) {
			problems = append(problems, fmt.Sprintf("stream %q: schema_overrides names %q, which is not a column of %s (columns: %s)", fc.Stream, col, fc.Path, strings.Join(columns, ", ")))
		}
	}
	if len(problems) > 0 {
		return &config.Error{Problems: problems}
	}
	return nil
}

func firstDuplicate(names []string) string {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
