package mysql

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/singerkit/singerkit/targets/sqltarget"
)

// physKind is how a column's values are encoded, from its actual type.
type physKind uint8

const (
	physText physKind = iota
	physJSON
	physInt
	physDecimal
	physFloat
	physBool
	physDatetime
	physDate
	physTime
)

// existingColumn is a column as information_schema describes it.
type existingColumn struct {
	name       string
	dataType   string // lower case: bigint, varchar, longtext, decimal, ...
	columnType string // full: varchar(255), decimal(65,30), tinyint(1), bigint(20) unsigned
	charLen    int64  // CHARACTER_MAXIMUM_LENGTH (characters)
	precision  int    // NUMERIC_PRECISION
	scale      int    // NUMERIC_SCALE
	nullable   bool
	json       bool // MySQL JSON, or MariaDB LONGTEXT with a json_valid check
}

// encoder is a column's value encoder, chosen once from its actual type.
type encoder struct {
	kind     physKind
	name     string
	maxChars int64 // physText with a character limit (varchar, char), else 0
	maxBytes int64 // physText with a byte limit (tinytext, text, mediumtext), else 0
	intMin   int64
	intMax   int64
	prec     int // physDecimal
	scale    int
	// widen: a value beyond the column's length or digits widens the
	// column at load (text always; DECIMAL unless the schema declared its
	// precision and scale, where such a value is an error).
	widen bool
}

// physical maps an actual column to its encoder; ok is false for types
// target-mysql cannot load.
func physical(ex existingColumn) (encoder, bool) {
	e := encoder{name: ex.name}
	if ex.json {
		e.kind = physJSON
		return e, true
	}
	unsigned := strings.Contains(ex.columnType, "unsigned")
	ints := map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64, "year": 16}
	if bits, ok := ints[ex.dataType]; ok {
		if ex.dataType == "tinyint" && strings.HasPrefix(ex.columnType, "tinyint(1)") {
			e.kind = physBool
			return e, true
		}
		e.kind = physInt
		switch {
		case bits == 64 && unsigned:
			e.intMin, e.intMax = 0, math.MaxInt64 // larger values: the server refuses them
		case bits == 64:
			e.intMin, e.intMax = math.MinInt64, math.MaxInt64
		case unsigned:
			e.intMin, e.intMax = 0, 1<<bits-1
		default:
			e.intMin, e.intMax = -(1 << (bits - 1)), 1<<(bits-1)-1
		}
		return e, true
	}
	switch ex.dataType {
	case "varchar", "char":
		e.kind, e.maxChars = physText, ex.charLen
	case "tinytext":
		e.kind, e.maxBytes = physText, 255
	case "text":
		e.kind, e.maxBytes = physText, 65535
	case "mediumtext":
		e.kind, e.maxBytes = physText, 16777215
	case "longtext", "enum", "set":
		e.kind = physText
	case "json":
		e.kind = physJSON
	case "decimal", "numeric":
		e.kind, e.prec, e.scale = physDecimal, ex.precision, ex.scale
	case "double", "float", "real":
		e.kind = physFloat
	case "datetime", "timestamp":
		e.kind = physDatetime
	case "date":
		e.kind = physDate
	case "time":
		e.kind = physTime
	default:
		return e, false
	}
	return e, true
}

// evolution says how an existing column takes values of the column c
// wants: "" keeps it, otherwise the new column type. Every rule keeps every
// old value: integers widen to BIGINT, then DECIMAL; DECIMAL widens its
// digits on both sides of the point (LONGTEXT beyond DECIMAL(65,30));
// VARCHAR(n) lengthens (LONGTEXT beyond 255 characters); DATE widens to
// DATETIME(6); anything else becomes LONGTEXT holding the old values as text
// (VARCHAR for key columns, which must stay indexable).
func evolution(ex existingColumn, c *sqltarget.Column) string {
	want := c.Type
	text := "LONGTEXT"
	if c.Key {
		text = fmt.Sprintf("VARCHAR(%d)", max(keyVarchar, int(ex.charLen)))
	}
	phys, known := physical(ex)
	if !known {
		return text
	}
	decimal := func(intDigits, scale int) string {
		if t := decimalRule.Type(intDigits, scale); t != "" {
			return t
		}
		return text
	}
	switch phys.kind {
	case physJSON:
		return ""
	case physText:
		if ex.dataType == "longtext" {
			return ""
		}
		if want.Kind == sqltarget.KindString && want.MaxLength > 0 && phys.maxChars > 0 {
			if int64(want.MaxLength) <= phys.maxChars {
				return ""
			}
			if want.MaxLength <= maxVarchar || (c.Key && want.MaxLength <= maxKeyVarchar) {
				return fmt.Sprintf("VARCHAR(%d)", want.MaxLength)
			}
			return text
		}
		if c.Key {
			return "" // a key column keeps its (indexable) type
		}
		return text
	}
	switch want.Kind {
	case sqltarget.KindString, sqltarget.KindJSON:
		return text
	case sqltarget.KindInteger:
		// want.Precision > 19: integers beyond BIGINT were met (the
		// engine widens for them): DECIMAL(65,0), LONGTEXT beyond.
		wide := want.Precision > 19
		switch phys.kind {
		case physFloat:
			return ""
		case physInt, physBool:
			switch {
			case wide && want.Precision > 65:
				return text
			case wide:
				return decimal(65, 0)
			case ex.dataType == "bigint" && !strings.Contains(ex.columnType, "unsigned"):
				return ""
			case ex.dataType == "bigint":
				return decimal(20, 0)
			}
			return "BIGINT"
		case physDecimal:
			n := max(19, want.Precision)
			if phys.prec-phys.scale >= n {
				return ""
			}
			if wide {
				n = max(n, 65-phys.scale)
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
		}
	case sqltarget.KindBoolean:
		if phys.kind == physBool || phys.kind == physInt {
			return ""
		}
	case sqltarget.KindTimestamp:
		switch phys.kind {
		case physDatetime:
			return ""
		case physDate:
			return "DATETIME(6)"
		}
	case sqltarget.KindDate:
		if phys.kind == physDate || phys.kind == physDatetime {
			return ""
		}
	case sqltarget.KindTime:
		if phys.kind == physTime {
			return ""
		}
	}
	return text
}

// ownColumn reports whether target-mysql creates columns of this type (the
// type table). A column of any other type was made by someone else, or by
// x-sql-datatype: its values are the user's.
func ownColumn(ex existingColumn) bool {
	switch {
	case ex.json:
		return true
	case ex.dataType == "longtext", ex.dataType == "varchar", ex.dataType == "decimal", ex.dataType == "date", ex.dataType == "json":
		return true
	case ex.dataType == "bigint":
		return !strings.Contains(ex.columnType, "unsigned")
	case ex.dataType == "tinyint":
		return strings.HasPrefix(ex.columnType, "tinyint(1)")
	case ex.dataType == "datetime":
		return ex.columnType == "datetime(6)"
	case ex.dataType == "time":
		return ex.columnType == "time(6)"
	}
	return false
}

// keepsValues reports whether MODIFY from ex to newType leaves every value
// as it was: integers widened, text lengthened.
func keepsValues(ex existingColumn, newType string) bool {
	switch ex.dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return strings.HasPrefix(newType, "BIGINT") || strings.HasPrefix(newType, "DECIMAL(")
	case "char", "varchar", "tinytext", "text", "mediumtext", "enum", "set":
		return newType == "LONGTEXT" || strings.HasPrefix(newType, "VARCHAR(")
	}
	return false
}

// ForeignColumnError is a column target-mysql did not create that a
// stream's values would need changed in a way that alters its existing
// values (a BLOB made text): the run stops instead.
type ForeignColumnError struct {
	Table, Column, Type, NewType string
	Want                         sqltarget.LogicalType
}

func (e *ForeignColumnError) Error() string {
	return fmt.Sprintf("table %s, column %s: its type %s was not made by target-mysql, and taking %s values would change it to %s, altering the values it holds; change the column yourself (ALTER TABLE ... MODIFY COLUMN ...), declare its type with x-sql-datatype, or load the stream into another table",
		e.Table, e.Column, e.Type, e.Want, e.NewType)
}

// guardForeign applies the rule for columns target-mysql did not create to
// an evolution to newType: changes that keep every value go ahead; a
// column whose type the schema declares (x-sql-datatype) is kept as it is;
// anything else is a *ForeignColumnError.
func guardForeign(table string, ex existingColumn, c *sqltarget.Column, newType string) (keep bool, err error) {
	if ownColumn(ex) || keepsValues(ex, newType) {
		return false, nil
	}
	if c.Type.SQLType != "" && sqlTypeOverride(strings.ToUpper(strings.TrimSpace(c.Type.SQLType))) {
		return true, nil
	}
	return false, &ForeignColumnError{Table: table, Column: quote(c.Name), Type: ex.columnType, NewType: newType, Want: c.Type}
}
