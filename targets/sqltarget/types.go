package sqltarget

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Kind is the logical kind of a column, independent of any database.
type Kind uint8

// Logical kinds. Each dialect maps them to its own types with a table.
const (
	KindString    Kind = iota // text; MaxLength when the schema bounds it
	KindInteger               // fits int64
	KindNumber                // exact decimal of any size (never a float)
	KindDecimal               // exact decimal with Precision and Scale
	KindBoolean               // true/false
	KindTimestamp             // date-time, stored in UTC
	KindDate                  // calendar date
	KindTime                  // time of day
	KindJSON                  // objects, arrays, and values of no single type
)

var kindNames = [...]string{"string", "integer", "number", "decimal", "boolean", "timestamp", "date", "time", "json"}

func (k Kind) String() string { return kindNames[k] }

// LogicalType is what the engine derives from a property's JSON schema.
type LogicalType struct {
	Kind      Kind
	MaxLength int // KindString: maxLength from the schema, 0 when unbounded
	Precision int // KindDecimal
	Scale     int // KindDecimal
	SQLType   string
}

func (t LogicalType) String() string {
	switch t.Kind {
	case KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case KindString:
		if t.MaxLength > 0 {
			return fmt.Sprintf("string(%d)", t.MaxLength)
		}
	}
	return t.Kind.String()
}

// LogicalTypeOf resolves a property schema to a logical type. The rule for
// type lists and anyOf (documented in docs/target-postgres.md, Type table):
//   - "null" only makes the column nullable;
//   - one remaining type maps directly (string formats date-time, date and
//     time, and the decimal formats, refine strings);
//   - integer with number is a number;
//   - any object or array among several types is JSON;
//   - other mixes of scalar types are strings (the value's JSON text);
//   - no type at all is JSON.
//
// x-sql-datatype is carried in SQLType for the dialect to honour.
func LogicalTypeOf(schema map[string]any) LogicalType {
	types, format, src := collectTypes(schema)
	var t LogicalType
	if s, ok := schema["x-sql-datatype"].(string); ok {
		t.SQLType = strings.TrimSpace(s)
	}
	delete(types, "null")
	switch {
	case len(types) == 0:
		t.Kind = KindJSON
	case types["object"] || types["array"]:
		t.Kind = KindJSON
	case len(types) == 1 && types["string"]:
		switch format {
		case "date-time":
			t.Kind = KindTimestamp
		case "date":
			t.Kind = KindDate
		case "time":
			t.Kind = KindTime
		case "singer.decimal", "x-singer.decimal":
			t.Kind = KindNumber
			decimalPrecision(src, &t)
		default:
			t.Kind = KindString
			if n, ok := intOf(src["maxLength"]); ok && n > 0 {
				t.MaxLength = n
			}
		}
	case len(types) == 1 && types["integer"]:
		t.Kind = KindInteger
		if exceedsInt64(src["minimum"]) || exceedsInt64(src["maximum"]) {
			// An exact integer column wide enough for the bounds.
			t.Kind, t.Precision, t.Scale = KindDecimal, max(boundDigits(src["minimum"]), boundDigits(src["maximum"])), 0
		}
	case len(types) == 1 && types["number"], len(types) == 2 && types["integer"] && types["number"]:
		t.Kind = KindNumber
		numericPrecision(src, &t)
	case len(types) == 1 && types["boolean"]:
		t.Kind = KindBoolean
	default:
		t.Kind = KindString
	}
	return t
}

// NonNullTypes returns a schema's JSON types other than "null", sorted
// (from type and anyOf/oneOf, as the type table reads them), and src,
// where its structure is read: the schema, or the branch with a non-null
// type of an untyped schema (how taps write nullable objects).
func NonNullTypes(schema map[string]any) (types []string, src map[string]any) {
	all, _, src := collectTypes(schema)
	for t := range all {
		if t != "null" {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	return types, src
}

// NestedStructure reads the one structure a property schema declares, for
// dialects with nested column types (BigQuery RECORD, DuckDB STRUCT):
// props, the property schemas of an object that declares properties, or
// items, the item schema of an array that declares one. Both are nil for
// any other schema (no single non-null type, an object without
// properties, an array without items).
func NestedStructure(schema map[string]any) (props, items map[string]any) {
	if schema == nil {
		return nil, nil
	}
	types, src := NonNullTypes(schema)
	if len(types) != 1 {
		return nil, nil
	}
	switch types[0] {
	case "object":
		props, _ = src["properties"].(map[string]any)
		if len(props) == 0 {
			return nil, nil
		}
	case "array":
		items, _ = src["items"].(map[string]any)
	}
	return props, items
}

// collectTypes gathers the JSON types of a schema and of its anyOf/oneOf
// branches. src is where bounds and lengths are read: the schema itself, or
// the first branch with a non-null type when the schema has no type.
func collectTypes(schema map[string]any) (types map[string]bool, format string, src map[string]any) {
	types = map[string]bool{}
	src = schema
	add := func(s map[string]any) bool {
		nonNull := false
		switch t := s["type"].(type) {
		case string:
			types[t] = true
			nonNull = t != "null"
		case []any:
			for _, x := range t {
				if n, ok := x.(string); ok {
					types[n] = true
					nonNull = nonNull || n != "null"
				}
			}
		}
		if f, ok := s["format"].(string); ok && format == "" {
			format = f
		}
		return nonNull
	}
	_, typed := schema["type"]
	add(schema)
	for _, k := range []string{"anyOf", "oneOf"} {
		l, _ := schema[k].([]any)
		for _, b := range l {
			m, ok := b.(map[string]any)
			if !ok {
				continue
			}
			if add(m) && !typed {
				src, typed = m, true
			}
		}
	}
	return types, format, src
}

func intOf(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || i > 1<<31 {
		return 0, false
	}
	return int(i), true
}

func ratOf(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	return new(big.Rat).SetString(string(n))
}

var (
	maxInt64 = new(big.Rat).SetInt64(1<<63 - 1)
	minInt64 = new(big.Rat).SetInt64(-1 << 63)
)

// boundDigits is the number of digits of an integer bound's magnitude.
func boundDigits(v any) int {
	r, ok := ratOf(v)
	if !ok {
		return 0
	}
	n := new(big.Int).Abs(new(big.Int).Quo(r.Num(), r.Denom()))
	return len(n.String())
}

func exceedsInt64(v any) bool {
	r, ok := ratOf(v)
	return ok && (r.Cmp(maxInt64) > 0 || r.Cmp(minInt64) < 0)
}

// numericPrecision recognises the numeric(p,s) pattern taps write:
// multipleOf 10^-s with bounds of ±10^(p-s) (exclusive). Without it the
// column is an unconstrained exact number.
func numericPrecision(s map[string]any, t *LogicalType) {
	m, ok := ratOf(s["multipleOf"])
	if !ok || m.Sign() <= 0 {
		return
	}
	scale := -1
	for k := 0; k <= 38; k++ {
		p := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil))
		if m.Cmp(p) == 0 {
			scale = k
			break
		}
	}
	if scale < 0 {
		return
	}
	bound, ok := ratOf(s["maximum"])
	if !ok {
		return
	}
	if bound.Sign() < 0 {
		bound.Neg(bound)
	}
	if !bound.IsInt() {
		return
	}
	digits := len(bound.Num().String()) - 1 // 10^k has k+1 digits
	if bound.Num().String() != "1"+strings.Repeat("0", digits) {
		return
	}
	if p := digits + scale; p >= 1 && p <= 1000 {
		t.Kind, t.Precision, t.Scale = KindDecimal, p, scale
	}
}

// decimalPrecision reads precision and scale of the decimal string formats.
func decimalPrecision(s map[string]any, t *LogicalType) {
	p, okp := intOf(s["precision"])
	sc, oks := intOf(s["scale"])
	if !okp {
		p, okp = intOf(s["x-precision"])
	}
	if !oks {
		sc, oks = intOf(s["x-scale"])
	}
	if okp && p >= 1 && p <= 1000 {
		if !oks {
			sc = 0
		}
		if sc >= 0 && sc <= p {
			t.Kind, t.Precision, t.Scale = KindDecimal, p, sc
		}
	}
}
