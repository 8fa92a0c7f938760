package postgres

import (
	"testing"

	"github.com/singerkit/singerkit/targets/sqltarget"
)

// TestGuardForeign: the columns target-postgres creates evolve by the
// rules; others only where every value stays as it was, or are kept when
// declared or padded; anything else is an error.
func TestGuardForeign(t *testing.T) {
	str := sqltarget.LogicalType{Kind: sqltarget.KindString}
	cases := []struct {
		typ     string
		want    sqltarget.LogicalType
		keep    bool
		refused bool
	}{
		{"date", str, false, false},                                                  // ours: becomes text
		{"numeric(10,2)", str, false, false},                                         // ours
		{"integer", sqltarget.LogicalType{Kind: sqltarget.KindNumber}, false, false}, // to numeric: every value kept
		{"character varying(5)", str, false, false},                                  // to text: every value kept
		{"character(3)", str, true, false},                                           // kept: text would drop its padding
		{"bytea", str, false, true},
		{"uuid", sqltarget.LogicalType{Kind: sqltarget.KindJSON}, false, true},
		{"uuid", sqltarget.LogicalType{Kind: sqltarget.KindString, SQLType: "uuid"}, true, false}, // declared by x-sql-datatype
		{"double precision", str, false, true},
		{"timestamp without time zone", str, false, true},
	}
	for _, c := range cases {
		newType, _ := evolution(c.typ, c.want)
		if newType == "" {
			t.Fatalf("%s to %s: no change", c.typ, c.want)
		}
		keep, err := guardForeign(`"s"."t"`, `"c"`, c.typ, newType, c.want)
		if keep != c.keep || (err != nil) != c.refused {
			t.Errorf("%s to %s (%s): keep %v err %v", c.typ, c.want, newType, keep, err)
		}
	}
}
