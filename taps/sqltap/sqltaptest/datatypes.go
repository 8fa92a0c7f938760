package sqltaptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// Datatype is one row of a driver's type table: a column v of SQLType
// holding Input must be discovered with Schema (compact JSON) and emitted
// as Want (JSON).
type Datatype struct {
	Name, SQLType, Schema, Input, Want string
}

// CheckDatatypes discovers and syncs the tables <prefix>-c00, -c01, ...
// (one per case, made by the caller: id integer PRIMARY KEY and v of the
// case's type holding its input) and checks, case by case, the discovered
// schema of v, its emitted value and its sql-datatype (present, and
// accepted by sqlDatatype when that is given). It returns the stream ids.
func CheckDatatypes(t *testing.T, env *Env, prefix string, cases []Datatype, sqlDatatype func(c Datatype, dt string) bool) []string {
	t.Helper()
	cat := Discover(t, env)
	var ids []string
	for i := range cases {
		ids = append(ids, fmt.Sprintf("%s-c%02d", prefix, i))
	}
	Select(t, cat, "", "", ids...)
	lines, err := Sync(t, env, Options(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]json.RawMessage{}
	for _, l := range lines {
		var m struct {
			Type   string
			Stream string
			Record map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if m.Type == "RECORD" {
			records[m.Stream] = m.Record["v"]
		}
	}
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			id := ids[i]
			var s struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(cat.Stream(id).Schema, &s); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			_ = json.Compact(&got, s.Properties["v"])
			if got.String() != c.Schema {
				t.Errorf("schema of %s:\n got %s\nwant %s", c.SQLType, got.String(), c.Schema)
			}
			if v := string(records[id]); v != c.Want {
				t.Errorf("value of %s %s: got %s, want %s", c.SQLType, c.Input, v, c.Want)
			}
			dt := cat.Stream(id).Metadata.SQLDatatype(singer.PropertyBreadcrumb("v"))
			if dt == "" || sqlDatatype != nil && !sqlDatatype(c, dt) {
				t.Errorf("sql-datatype %q", dt)
			}
		})
	}
	return ids
}
