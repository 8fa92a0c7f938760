package bigquery

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

func schemaOf(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func columnOf(t *testing.T, name, schema string) *sqltarget.Column {
	sch := schemaOf(t, schema)
	return &sqltarget.Column{Name: FoldName(name), Property: name, Type: sqltarget.LogicalTypeOf(sch), Schema: sch}
}

// TestRecordTypeTable: property schema -> column type with object_columns
// record (and json, which never nests).
func TestRecordTypeTable(t *testing.T) {
	tests := []struct {
		name, schema, record, json string
	}{
		{"object with properties", `{"type":["null","object"],"properties":{"b":{"type":"string"},"a":{"type":"integer"}}}`,
			"STRUCT<`a` INT64, `b` STRING>", "JSON"},
		{"nested object, numbers exact", `{"type":"object","properties":{"amount":{"type":"number"},"price":{"type":"number","multipleOf":0.01,"maximum":1e10,"exclusiveMaximum":true},"when":{"type":"string","format":"date-time"},"inner":{"type":"object","properties":{"ok":{"type":"boolean"},"d":{"type":"string","format":"date"}}}}}`,
			"STRUCT<`amount` BIGNUMERIC, `inner` STRUCT<`d` DATE, `ok` BOOL>, `price` NUMERIC(12, 2), `when` TIMESTAMP>", "JSON"},
		{"array of integers", `{"type":["null","array"],"items":{"type":["null","integer"]}}`, "ARRAY<INT64>", "JSON"},
		{"array of objects", `{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"}}}}`,
			"ARRAY<STRUCT<`qty` INT64, `sku` STRING>>", "JSON"},
		{"array inside record", `{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}}}}`, "STRUCT<`tags` ARRAY<STRING>>", "JSON"},
		{"open object", `{"type":"object"}`, "JSON", "JSON"},
		{"open object inside record", `{"type":"object","properties":{"meta":{"type":"object"},"n":{}}}`, "STRUCT<`meta` JSON, `n` JSON>", "JSON"},
		{"array without items", `{"type":"array"}`, "JSON", "JSON"},
		{"array of arrays", `{"type":"array","items":{"type":"array","items":{"type":"integer"}}}`, "JSON", "JSON"},
		{"array of mixed items", `{"type":"array","items":{}}`, "JSON", "JSON"},
		{"object or string", `{"type":["object","string"],"properties":{"a":{"type":"string"}}}`, "JSON", "JSON"},
		{"anyOf nullable object", `{"anyOf":[{"type":"null"},{"type":"object","properties":{"a":{"type":"string"}}}]}`, "STRUCT<`a` STRING>", "JSON"},
		{"folded sub-field names", `{"type":"object","properties":{"First Name":{"type":"string"},"first_name":{"type":"string"}}}`,
			"STRUCT<`First_Name` STRING, `first_name_f9b4cb17` STRING>", "JSON"},
		{"x-sql-datatype wins", `{"type":"object","properties":{"a":{"type":"string"}},"x-sql-datatype":"JSON"}`, "JSON", "JSON"},
		{"scalar", `{"type":"integer"}`, "INT64", "INT64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := columnOf(t, "c", tt.schema)
			if got := ddlType(columnField(c, true)); got != tt.record {
				t.Errorf("record: got %s, want %s", got, tt.record)
			}
			if got := ddlType(columnField(c, false)); got != tt.json {
				t.Errorf("json: got %s, want %s", got, tt.json)
			}
		})
	}
}

func TestRecordTooDeep(t *testing.T) {
	s := `{"type":"integer"}`
	for i := 0; i < 16; i++ {
		s = `{"type":"object","properties":{"x":` + s + `}}`
	}
	got := ddlType(columnField(columnOf(t, "c", s), true))
	if want := strings.Repeat("STRUCT<`x` ", 15) + "JSON" + strings.Repeat(">", 15); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestRecordEncode(t *testing.T) {
	order := `{"type":"object","properties":{"id":{"type":"integer"},"Total Amount":{"type":"number"},"at":{"type":"string","format":"date-time"},"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"price":{"type":"number"},"extra":{"type":"object"}}}},"tags":{"type":"array","items":{"type":"string"}}}}`
	tests := []struct {
		name, schema, value string
		kind                singer.ValueKind
		want, wantErr       string
	}{
		{"record, exact numbers", order,
			`{"id":9223372036854775807,"Total Amount":123456789012345678901234567890.123456789012345678,"at":"2024-01-02T03:04:05+01:00","lines":[{"sku":"ä\"b","price":1e-30,"extra":{"z":[1,2.50]}},{"sku":null}],"tags":["x","y"]}`,
			singer.Object,
			`{"Total_Amount":"123456789012345678901234567890.123456789012345678","at":"2024-01-02T02:04:05.000000Z","id":9223372036854775807,"lines":[{"extra":"{\"z\":[1,2.50]}","price":"0.000000000000000000000000000001","sku":"ä\"b"},{}],"tags":["x","y"]}`, ""},
		{"empty array and object", order, `{"lines":[],"tags":[]}`, singer.Object, `{"lines":[],"tags":[]}`, ""},
		{"repeated scalars", `{"type":"array","items":{"type":"integer"}}`, `[1, 2, -3]`, singer.Array, `[1,2,-3]`, ""},
		{"undeclared property", order, `{"id":1,"color":"red"}`, singer.Object, "",
			`column "c.color": the RECORD has no sub-field for property "color"; declare it in the stream's schema (a new sub-field is added), or use object_columns json`},
		{"null element", `{"type":"array","items":{"type":["null","integer"]}}`, `[1,null]`, singer.Array, "",
			`column "c[1]": null cannot be an element of a BigQuery array (REPEATED); declare the items without null, or use object_columns json`},
		{"not an object", order, `[1]`, singer.Array, "", `column "c": [1] is not an object (the column is a RECORD)`},
		{"nested type error", order, `{"lines":[{"price":"abc"}]}`, singer.Object, "", `column "c.lines[0].price": "abc" is not a number`},
		{"nested integer error", order, `{"id":1.5}`, singer.Object, "", `column "c.id": 1.5 is not an integer in INT64's range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := columnOf(t, "c", tt.schema)
			f := columnField(c, true)
			fe := newFieldEnc(f)
			newNestedEnc(&fe, f, namesOf(c.Schema))
			v := singer.Value{Kind: tt.kind, Bytes: []byte(tt.value)}
			got, err := appendValue(nil, &fe, &v)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestNestedEvolution(t *testing.T) {
	v1 := `{"type":"object","properties":{"a":{"type":"integer"},"in":{"type":"object","properties":{"x":{"type":"string"}}}}}`
	v2 := `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"in":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"boolean"}}}}}`
	have := columnField(columnOf(t, "c", v1), true)
	have.Schema[0].Required = true
	tests := []struct {
		name, schema string
		record       bool
		want         string // new column type, "" unchanged
		wantErr      string
	}{
		{"same", v1, true, "", ""},
		{"new sub-fields", v2, true, "STRUCT<`a` INT64, `in` STRUCT<`x` STRING, `y` BOOL>, `b` STRING>", ""},
		{"object_columns json keeps the RECORD", v2, false, "", ""},
		{"sub-field type change", `{"type":"object","properties":{"a":{"type":"boolean"}}}`, true, "",
			"table `p.d.t`, column `c`: sub-field c.a is INT64, the stream now declares BOOL; BigQuery cannot change a nested field's type in place: drop or rename the column, or use object_columns json"},
		{"scalar now", `{"type":"integer"}`, true, "",
			"table `p.d.t` has column `c` of type RECORD, but the stream's property \"c\" is now integer (INT64); BigQuery cannot change a nested column in place: drop or rename the column (or send the stream to another dataset)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nf, err := nestedEvolution(have, columnOf(t, "c", tt.schema), tt.record, "`p.d.t`")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if nf != nil {
				got = ddlType(nf)
				if nf.Schema[0].Required != true {
					t.Errorf("existing sub-field lost REQUIRED")
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRecordAddColumnSQL: a new RECORD column is added with its STRUCT type.
func TestRecordAddColumnSQL(t *testing.T) {
	f := columnField(columnOf(t, "addr", `{"type":"object","properties":{"city":{"type":"string"},"geo":{"type":"array","items":{"type":"number"}}}}`), true)
	got := addColumnSQL(tablePath("p", "d", "t"), f)
	if want := "ALTER TABLE `p.d.t` ADD COLUMN `addr` STRUCT<`city` STRING, `geo` ARRAY<BIGNUMERIC>>"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
