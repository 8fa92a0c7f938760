package duckdb

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Limits of the type table.
const (
	// maxDecimal is DuckDB's widest DECIMAL.
	maxDecimal = 38
	// numberPrecision and numberScale are the DECIMAL of "number"
	// columns without declared digits: 29 before the point, 9 after. A
	// value beyond it widens the column to VARCHAR (its exact text).
	numberPrecision = 38
	numberScale     = 9
	// hugeDigits: every integer of up to 38 digits fits HUGEINT.
	hugeDigits = 38
)

// decimalRule: DuckDB's DECIMAL holds 38 digits, any of them after the
// point.
var decimalRule = sqltarget.DecimalRule{MaxPrecision: maxDecimal, MaxScale: maxDecimal, NumberPrecision: numberPrecision, NumberScale: numberScale}

// columnTypes is the type table: logical kind -> column type.
var columnTypes = map[sqltarget.Kind]string{
	sqltarget.KindString:    "VARCHAR",
	sqltarget.KindInteger:   "BIGINT",
	sqltarget.KindNumber:    fmt.Sprintf("DECIMAL(%d,%d)", numberPrecision, numberScale),
	sqltarget.KindBoolean:   "BOOLEAN",
	sqltarget.KindTimestamp: "TIMESTAMP WITH TIME ZONE",
	sqltarget.KindDate:      "DATE",
	sqltarget.KindTime:      "TIME",
	sqltarget.KindJSON:      "JSON",
}

// columnType returns the DDL type of a column.
func columnType(c *sqltarget.Column) string {
	t := c.Type
	if s, ok := sqlTypeOverride(t.SQLType); ok {
		return s
	}
	switch t.Kind {
	case sqltarget.KindDecimal:
		if t.Precision <= maxDecimal {
			return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
		}
		return "VARCHAR"
	case sqltarget.KindInteger:
		// Precision > 19: the engine widens for an integer beyond BIGINT.
		switch {
		case t.Precision > hugeDigits:
			return "VARCHAR"
		case t.Precision > 19:
			return "HUGEINT"
		}
	}
	return columnTypes[t.Kind]
}

var overridePattern = regexp.MustCompile(`^([A-Z][A-Z ]*[A-Z])\s*(\(\s*\d{1,3}\s*(,\s*\d{1,3}\s*)?\))?$`)

// sqlTypeOverride returns the column type an x-sql-datatype asks for when
// it is one target-duckdb can load: a scalar DuckDB type name with an
// optional (p) or (p,s).
func sqlTypeOverride(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", false
	}
	m := overridePattern.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	switch m[1] {
	case "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
		"DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL", "VARCHAR", "TEXT", "JSON", "BOOLEAN", "BOOL",
		"DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "UUID", "BLOB", "INTERVAL":
		return s, true
	}
	return "", false
}

// physKind is how a column's values are encoded, from its actual type.
type physKind uint8

const (
	physText physKind = iota
	physJSON
	physInt
	physHuge
	physDecimal
	physFloat
	physBool
	physTimestamp
	physDate
	physTime
	// physCast: a type of no other kind (UUID, BLOB, INTERVAL, ...): the
	// value's text, cast by DuckDB.
	physCast
	// physNested: a STRUCT or LIST (nested.go): JSON text whose every
	// value the client has checked, cast by DuckDB through JSON.
	physNested
)

// existingColumn is a column as duckdb_columns() describes it.
type existingColumn struct {
	name      string
	typ       string // data_type: BIGINT, DECIMAL(38,9), TIMESTAMP WITH TIME ZONE, ...
	precision int
	scale     int
	nullable  bool
}

// encoder is a column's value encoder, chosen once from its actual type.
type encoder struct {
	kind   physKind
	name   string
	typ    string // the column's type, cast to from the stage
	intMin int64
	intMax int64
	prec   int // physDecimal
	scale  int
	// widen: a value beyond the column's digits widens the column
	// (sqltarget.WidenError) instead of failing.
	widen bool
	// nested is a physNested column's type; nil for a nested type
	// target-duckdb does not encode (MAP, UNION): DuckDB casts the JSON.
	nested *ntype
}

var intRanges = map[string][2]int64{
	"TINYINT":   {math.MinInt8, math.MaxInt8},
	"SMALLINT":  {math.MinInt16, math.MaxInt16},
	"INTEGER":   {math.MinInt32, math.MaxInt32},
	"BIGINT":    {math.MinInt64, math.MaxInt64},
	"UTINYINT":  {0, math.MaxUint8},
	"USMALLINT": {0, math.MaxUint16},
	"UINTEGER":  {0, math.MaxUint32},
	"UBIGINT":   {0, math.MaxInt64}, // larger values: refused
}

// physical maps an actual column to its encoder.
func physical(ex existingColumn) encoder {
	e := encoder{name: ex.name, typ: ex.typ}
	if isNestedType(ex.typ) {
		e.kind = physNested
		if t, err := parseType(ex.typ); err == nil && t.kind != nLeaf {
			e.nested = t
		}
		return e
	}
	if r, ok := intRanges[ex.typ]; ok {
		e.kind, e.intMin, e.intMax = physInt, r[0], r[1]
		return e
	}
	switch {
	case ex.typ == "VARCHAR":
		e.kind = physText
	case ex.typ == "JSON":
		e.kind = physJSON
	case ex.typ == "HUGEINT":
		e.kind = physHuge
	case strings.HasPrefix(ex.typ, "DECIMAL("):
		e.kind, e.prec, e.scale = physDecimal, ex.precision, ex.scale
	case ex.typ == "DOUBLE" || ex.typ == "FLOAT":
		e.kind = physFloat
	case ex.typ == "BOOLEAN":
		e.kind = physBool
	case ex.typ == "TIMESTAMP WITH TIME ZONE" || ex.typ == "TIMESTAMP":
		e.kind = physTimestamp
	case ex.typ == "DATE":
		e.kind = physDate
	case ex.typ == "TIME":
		e.kind = physTime
	default:
		e.kind = physCast
	}
	return e
}

// stageType is the type of a column's stage column: what the Appender
// writes natively (decimals as their unscaled integers: DuckDB's cast
// from text to a 38-digit DECIMAL costs ~10 µs a value); the rest is text
// that DuckDB casts on merge.
func (e *encoder) stageType() string {
	switch e.kind {
	case physInt:
		return "BIGINT"
	case physDecimal, physHuge:
		return e.typ
	case physFloat:
		return "DOUBLE"
	case physBool:
		return "BOOLEAN"
	case physTimestamp:
		return "TIMESTAMP WITH TIME ZONE"
	case physDate:
		return "DATE"
	}
	return "VARCHAR"
}

// cast is the expression that makes a stage column's value (expr) the
// column's type.
func (e *encoder) cast(expr string) string {
	if e.kind == physNested {
		expr = "CAST(" + expr + " AS JSON)"
		if e.nested != nil && e.nested.stageText() != e.nested.text() {
			expr = "CAST(" + expr + " AS " + e.nested.stageText() + ")"
		}
	}
	return "CAST(" + expr + " AS " + e.typ + ")"
}

// evolution says how an existing column takes values of the column c
// wants: "" keeps it, otherwise the new column type, reached with
// DuckDB's own cast of the old values (ALTER COLUMN ... TYPE). Every rule
// keeps every old value: integers widen to BIGINT, then HUGEINT (beyond
// 19 digits), DECIMAL widens its digits on both sides of the point up to
// DECIMAL(38,...); DATE widens to TIMESTAMPTZ; beyond that, and for any
// other change, the column becomes VARCHAR, holding the old values as
// DuckDB's text of them.
func evolution(ex existingColumn, c *sqltarget.Column) string {
	want := c.Type
	const text = "VARCHAR"
	phys := physical(ex)
	decimal := func(intDigits, scale int) string {
		if t := decimalRule.Type(intDigits, scale); t != "" {
			return t
		}
		return text
	}
	switch phys.kind {
	case physText, physJSON, physCast, physNested:
		return ""
	}
	switch want.Kind {
	case sqltarget.KindString, sqltarget.KindJSON:
		return text
	case sqltarget.KindInteger:
		wide := want.Precision > 19
		switch phys.kind {
		case physFloat:
			return ""
		case physInt, physBool:
			switch {
			case want.Precision > hugeDigits:
				return text
			case wide:
				return "HUGEINT"
			case ex.typ == "BIGINT":
				return ""
			case ex.typ == "UBIGINT":
				return "HUGEINT"
			}
			return "BIGINT"
		case physHuge:
			if want.Precision > hugeDigits {
				return text
			}
			return ""
		case physDecimal:
			n := max(19, want.Precision)
			if phys.prec-phys.scale >= n {
				return ""
			}
			return decimal(n, phys.scale)
		}
	case sqltarget.KindNumber, sqltarget.KindDecimal:
		switch phys.kind {
		case physFloat:
			return ""
		case physDecimal:
			t, keep, _ := decimalRule.Widen(phys.prec, phys.scale, want)
			if keep {
				return ""
			}
			return cmp.Or(t, text)
		case physInt, physBool:
			t, _ := decimalRule.FromInteger(want)
			return cmp.Or(t, text)
		case physHuge:
			if want.Kind == sqltarget.KindDecimal {
				return decimal(max(hugeDigits, want.Precision-want.Scale), want.Scale)
			}
		}
	case sqltarget.KindBoolean:
		if phys.kind == physBool || phys.kind == physInt {
			return ""
		}
	case sqltarget.KindTimestamp:
		switch phys.kind {
		case physTimestamp:
			return ""
		case physDate:
			return "TIMESTAMP WITH TIME ZONE"
		}
	case sqltarget.KindDate:
		if phys.kind == physDate || phys.kind == physTimestamp {
			return ""
		}
	case sqltarget.KindTime:
		if phys.kind == physTime {
			return ""
		}
	}
	return text
}

// ownColumn reports whether target-duckdb creates columns of this type
// (the type table). A column of any other type was made by someone else,
// or by x-sql-datatype: its values are the user's.
func ownColumn(ex existingColumn) bool {
	switch ex.typ {
	case "VARCHAR", "BIGINT", "HUGEINT", "BOOLEAN", "TIMESTAMP WITH TIME ZONE", "DATE", "TIME", "JSON":
		return true
	}
	return strings.HasPrefix(ex.typ, "DECIMAL(")
}

// keepsValues reports whether changing ex to newType leaves every value as
// it was: integers widened, numbers to their exact text.
func keepsValues(ex existingColumn, newType string) bool {
	if _, ok := intRanges[ex.typ]; ok {
		return newType == "BIGINT" || newType == "HUGEINT" || strings.HasPrefix(newType, "DECIMAL(") || newType == "VARCHAR"
	}
	return false
}

// ForeignColumnError is a column target-duckdb did not create that a
// stream's values would need changed in a way that alters its existing
// values (a BLOB made text): the run stops instead.
type ForeignColumnError struct {
	Table, Column, Type, NewType string
	Want                         sqltarget.LogicalType
}

func (e *ForeignColumnError) Error() string {
	return fmt.Sprintf("table %s, column %s: its type %s was not made by target-duckdb, and taking %s values would change it to %s, altering the values it holds; change the column yourself (ALTER TABLE ... ALTER COLUMN ... TYPE ...), declare its type with x-sql-datatype, or load the stream into another table",
		e.Table, e.Column, e.Type, e.Want, e.NewType)
}

// guardForeign applies the rule for columns target-duckdb did not create
// to an evolution to newType: changes that keep every value go ahead; a
// column whose type the schema declares (x-sql-datatype) is kept as it is;
// anything else is a *ForeignColumnError.
func guardForeign(table string, ex existingColumn, c *sqltarget.Column, newType string) (keep bool, err error) {
	if ownColumn(ex) || keepsValues(ex, newType) {
		return false, nil
	}
	if _, ok := sqlTypeOverride(c.Type.SQLType); ok {
		return true, nil
	}
	return false, &ForeignColumnError{Table: table, Column: quote(c.Name), Type: ex.typ, NewType: newType, Want: c.Type}
}

// decimalDigits reads DECIMAL(p,s) of a data_type.
func decimalDigits(typ string) (p, s int) {
	inner, ok := strings.CutPrefix(typ, "DECIMAL(")
	if !ok {
		return 0, 0
	}
	inner = strings.TrimSuffix(inner, ")")
	a, b, _ := strings.Cut(inner, ",")
	p, _ = strconv.Atoi(strings.TrimSpace(a))
	s, _ = strconv.Atoi(strings.TrimSpace(b))
	return p, s
}
