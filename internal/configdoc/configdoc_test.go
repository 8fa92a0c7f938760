package configdoc

import "testing"

const schema = `{
  "type": "object",
  "required": ["files"],
  "x-compat": {
    "batch_size": {"use": "batch_size_rows", "from": "PipelineWise"},
    "ssl": {"use": "sslmode", "values": {"true": "require", "false": null}, "from": "PipelineWise"},
    "temp_dir": {"ignore": "batches are staged in memory", "from": "PipelineWise"},
    "use_copy": {"ignore": "COPY is always used", "agrees": [true], "from": "Meltano"}
  },
  "properties": {
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5432, "description": "Server port."},
    "mode": {"type": "string", "enum": ["a", "b"], "default": "a", "description": "A | B."},
    "ssl": {"type": ["boolean", "string"], "description": "TLS."},
    "wait": {"type": "number", "exclusiveMinimum": 0, "default": 10},
    "files": {"type": "array", "minItems": 1, "description": "Files.", "items": {
      "type": "object", "required": ["path"],
      "x-compat": {"entity": {"use": "stream", "from": "Meltano"}},
      "properties": {
        "path": {"type": "string", "minLength": 1, "description": "Path."},
        "sep": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
        "columns": {"type": "array", "items": {"type": "string"}, "default": null}
      }}},
    "mapping": {"type": "object", "additionalProperties": {
      "type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]}}
  }
}`

func TestSettings(t *testing.T) {
	got, err := Settings([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	want := "| key | type | default | description |\n|---|---|---|---|\n" +
		"| `files` | array of objects, at least 1 item | required | Files. |\n" +
		"| `files[].columns` | array of strings |  |  |\n" +
		"| `files[].path` | string, not empty | required | Path. |\n" +
		"| `files[].sep` | string, exactly 1 character | `\",\"` |  |\n" +
		"| `mapping` | object |  |  |\n" +
		"| `mapping.*.target` | string | required |  |\n" +
		"| `mode` | one of `\"a\"`, `\"b\"` | `\"a\"` | A \\| B. |\n" +
		"| `port` | integer 1..65535 | `5432` | Server port. |\n" +
		"| `ssl` | boolean or string |  | TLS. |\n" +
		"| `wait` | number > 0 | `10` |  |\n"
	if got != want {
		t.Errorf("Settings:\n got %s\nwant %s", got, want)
	}
}

func TestCompat(t *testing.T) {
	got, err := Compat([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	want := "| key | from | effect |\n|---|---|---|\n" +
		"| `batch_size` | PipelineWise | read as `batch_size_rows` |\n" +
		"| `files[].entity` | Meltano | read as `files[].stream` |\n" +
		"| `ssl` | PipelineWise | read as `sslmode` (`false` -> the default, `true` -> `\"require\"`) |\n" +
		"| `temp_dir` | PipelineWise | ignored with one warning: batches are staged in memory |\n" +
		"| `use_copy` | Meltano | ignored (silently when `true`, which is what happens anyway; else one warning): COPY is always used |\n"
	if got != want {
		t.Errorf("Compat:\n got %s\nwant %s", got, want)
	}
	none, err := Compat([]byte(`{"properties": {"a": {"type": "string"}}}`))
	if err != nil || none != "" {
		t.Errorf("Compat without x-compat: %q, %v", none, err)
	}
}

func TestBadSchema(t *testing.T) {
	if _, err := Section("tap-x", []byte(`{"properties": [`), ""); err == nil || err.Error()[:6] != "tap-x:" {
		t.Errorf("Section of a bad schema: %v", err)
	}
}
