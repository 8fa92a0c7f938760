package sqltarget

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func schemaOf(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLogicalTypeOf(t *testing.T) {
	cases := []struct{ name, schema, want string }{
		{"integer", `{"type":"integer"}`, "integer"},
		{"nullable integer", `{"type":["null","integer"]}`, "integer"},
		{"integer beyond int64", `{"type":"integer","minimum":0,"maximum":18446744073709551615}`, "decimal(20,0)"},
		{"integer with int64 bounds", `{"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807}`, "integer"},
		{"number", `{"type":"number"}`, "number"},
		{"integer or number", `{"type":["integer","number","null"]}`, "number"},
		{"numeric(10,2) pattern", `{"type":["null","number"],"multipleOf":0.01,"maximum":100000000,"exclusiveMaximum":true,"minimum":-100000000,"exclusiveMinimum":true}`, "decimal(10,2)"},
		{"multipleOf without bounds", `{"type":"number","multipleOf":0.01}`, "number"},
		{"singer.decimal", `{"type":"string","format":"singer.decimal"}`, "number"},
		{"x-singer.decimal with precision", `{"type":["null","string"],"format":"x-singer.decimal","precision":38,"scale":9}`, "decimal(38,9)"},
		{"string", `{"type":"string"}`, "string"},
		{"string with maxLength", `{"type":"string","maxLength":20}`, "string(20)"},
		{"date-time", `{"type":["null","string"],"format":"date-time"}`, "timestamp"},
		{"date", `{"type":"string","format":"date"}`, "date"},
		{"time", `{"type":"string","format":"time"}`, "time"},
		{"boolean", `{"type":"boolean"}`, "boolean"},
		{"object", `{"type":"object","properties":{"a":{"type":"integer"}}}`, "json"},
		{"array", `{"type":["null","array"],"items":{"type":"string"}}`, "json"},
		{"no type", `{}`, "json"},
		{"string or integer", `{"type":["string","integer"]}`, "string"},
		{"boolean or integer", `{"type":["boolean","integer"]}`, "string"},
		{"string or object", `{"type":["string","object"]}`, "json"},
		{"anyOf nullable date-time", `{"anyOf":[{"type":"string","format":"date-time"},{"type":"null"}]}`, "timestamp"},
		{"anyOf nullable string with maxLength", `{"anyOf":[{"type":"null"},{"type":"string","maxLength":5}]}`, "string(5)"},
		{"anyOf integer or string", `{"anyOf":[{"type":"integer"},{"type":"string"}]}`, "string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := LogicalTypeOf(schemaOf(t, c.schema)).String(); got != c.want {
				t.Errorf("got %s want %s", got, c.want)
			}
		})
	}
	if got := LogicalTypeOf(schemaOf(t, `{"type":"string","x-sql-datatype":"uuid"}`)); got.SQLType != "uuid" || got.Kind != KindString {
		t.Errorf("x-sql-datatype: %+v", got)
	}
}

func TestTruncateWithHash(t *testing.T) {
	long := strings.Repeat("ü", 100) // 200 bytes
	got := TruncateWithHash(long, 63)
	if len(got) > 63 || !strings.HasPrefix(got, strings.Repeat("ü", 26)) || got[len(got)-9] != '_' {
		t.Errorf("got %q (%d bytes)", got, len(got))
	}
	if TruncateWithHash(long, 63) != got {
		t.Error("not stable")
	}
	if TruncateWithHash(long+"x", 63) == got {
		t.Error("two long names sharing a prefix collide")
	}
	if TruncateWithHash("short", 63) != "short" {
		t.Error("short names change")
	}
}

func TestNameSet(t *testing.T) {
	ns := newNameSet(strings.ToLower, 64)
	if got := ns.claim("Name", "Name"); got != "Name" {
		t.Errorf("first claim %q", got)
	}
	if got := ns.claim("Name", "Name"); got != "Name" {
		t.Errorf("same original twice %q", got)
	}
	got := ns.claim("name", "name")
	if got == "name" || !strings.HasPrefix(got, "name_") || len(got) != len("name_")+8 {
		t.Errorf("case-insensitive collision not resolved: %q", got)
	}
	ns2 := newNameSet(strings.ToLower, 64)
	ns2.claim("Name", "Name")
	if again := ns2.claim("name", "name"); again != got {
		t.Errorf("collision resolution not stable: %q vs %q", again, got)
	}
}
