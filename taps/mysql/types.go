package mysql

import (
	"strconv"
	"strings"
)

// encoding is how a column's text-protocol value becomes JSON.
type encoding int

const (
	encString   encoding = iota // a JSON string of the text as is
	encNumber                   // integers, year, decimal: the text is an exact JSON number
	encFloat                    // double: the text, or null for inf/nan
	encFloat32                  // float (read as a double): its shortest exact float text, or null for inf/nan
	encBool                     // tinyint(1): 0 -> false, anything else -> true
	encBit                      // bit(n): big-endian bytes -> unsigned integer (bit(1): boolean)
	encHex                      // binary/varbinary/blob: lowercase hex, no prefix
	encJSON                     // json: embedded, compacted; text that is not JSON stays a string
	encDate                     // YYYY-MM-DD; zero or invalid dates -> null
	encDatetime                 // datetime/timestamp -> RFC 3339 with Z; zero or invalid -> null
)

// typeSpec is one row of the type table: how a MySQL type (DATA_TYPE, plus
// " unsigned") is described in JSON schema and encoded.
type typeSpec struct {
	jsonType  string // JSON schema type
	format    string // JSON schema format
	min, max  string // integer bounds
	enc       encoding
	orderable bool // may be a replication key or a chunk key
	// nullable: the encoder may write null for a NOT NULL column (zero
	// dates, infinities).
	nullable bool
	// lengthFromColumn: maxLength is CHARACTER_MAXIMUM_LENGTH.
	lengthFromColumn bool
}

// typeTable maps MySQL and MariaDB types to JSON schemas and encoders.
// tinyint(1) is boolean and bit(1) is boolean (special-cased in specFor);
// decimal(p,s) gets multipleOf and bounds from its precision and scale.
// Types not listed are strings.
var typeTable = map[string]typeSpec{
	"tinyint":            {jsonType: "integer", min: "-128", max: "127", enc: encNumber, orderable: true},
	"tinyint unsigned":   {jsonType: "integer", min: "0", max: "255", enc: encNumber, orderable: true},
	"smallint":           {jsonType: "integer", min: "-32768", max: "32767", enc: encNumber, orderable: true},
	"smallint unsigned":  {jsonType: "integer", min: "0", max: "65535", enc: encNumber, orderable: true},
	"mediumint":          {jsonType: "integer", min: "-8388608", max: "8388607", enc: encNumber, orderable: true},
	"mediumint unsigned": {jsonType: "integer", min: "0", max: "16777215", enc: encNumber, orderable: true},
	"int":                {jsonType: "integer", min: "-2147483648", max: "2147483647", enc: encNumber, orderable: true},
	"int unsigned":       {jsonType: "integer", min: "0", max: "4294967295", enc: encNumber, orderable: true},
	"bigint":             {jsonType: "integer", min: "-9223372036854775808", max: "9223372036854775807", enc: encNumber, orderable: true},
	"bigint unsigned":    {jsonType: "integer", min: "0", max: "18446744073709551615", enc: encNumber, orderable: true},
	"year":               {jsonType: "integer", min: "0", max: "2155", enc: encNumber, orderable: true},
	"decimal":            {jsonType: "number", enc: encNumber, orderable: true},
	"decimal unsigned":   {jsonType: "number", enc: encNumber, orderable: true},
	// float's text keeps 6 digits: as a cursor its bookmark is the exact
	// double of the value (scan.go: exactOrder).
	"float":           {jsonType: "number", enc: encFloat32, nullable: true, orderable: true},
	"float unsigned":  {jsonType: "number", enc: encFloat32, nullable: true, orderable: true},
	"double":          {jsonType: "number", enc: encFloat, nullable: true, orderable: true},
	"double unsigned": {jsonType: "number", enc: encFloat, nullable: true, orderable: true},
	"bit":             {jsonType: "integer", min: "0", enc: encBit},
	"char":            {jsonType: "string", orderable: true, lengthFromColumn: true},
	"varchar":         {jsonType: "string", orderable: true, lengthFromColumn: true},
	"tinytext":        {jsonType: "string", lengthFromColumn: true},
	"text":            {jsonType: "string", lengthFromColumn: true},
	"mediumtext":      {jsonType: "string", lengthFromColumn: true},
	"longtext":        {jsonType: "string", lengthFromColumn: true},
	// enum sorts by its index: as a cursor its bookmark is the label, sent
	// back as the index (scan.go: enumIndex).
	"enum":       {jsonType: "string", orderable: true},
	"set":        {jsonType: "string"},
	"binary":     {jsonType: "string", enc: encHex, orderable: true},
	"varbinary":  {jsonType: "string", enc: encHex, orderable: true},
	"tinyblob":   {jsonType: "string", enc: encHex},
	"blob":       {jsonType: "string", enc: encHex},
	"mediumblob": {jsonType: "string", enc: encHex},
	"longblob":   {jsonType: "string", enc: encHex},
	"json":       {jsonType: "json", enc: encJSON},
	"date":       {jsonType: "string", format: "date", enc: encDate, nullable: true, orderable: true},
	"datetime":   {jsonType: "string", format: "date-time", enc: encDatetime, nullable: true, orderable: true},
	"timestamp":  {jsonType: "string", format: "date-time", enc: encDatetime, nullable: true, orderable: true},
	// time spans -838:59:59..838:59:59, more than a time of day: a plain
	// string such as "-12:30:00.5".
	"time":  {jsonType: "string", orderable: true},
	"inet4": {jsonType: "string", orderable: true},
	"inet6": {jsonType: "string", orderable: true},
	"uuid":  {jsonType: "string", format: "uuid", orderable: true},
}

// unsupportedTypes cannot be read as values: geometry comes in an internal
// binary form (documented: unsupported; select ST_AsText in a view instead).
var unsupportedTypes = map[string]bool{
	"geometry": true, "point": true, "linestring": true, "polygon": true, "multipoint": true,
	"multilinestring": true, "multipolygon": true, "geometrycollection": true, "geomcollection": true,
}

// colType is what information_schema says of a column.
type colType struct {
	dataType   string // DATA_TYPE, lower case
	columnType string // COLUMN_TYPE, lower case (tinyint(1) unsigned, enum('a','b'), ...)
	maxLength  int64  // CHARACTER_MAXIMUM_LENGTH, -1 when none
	precision  int64  // NUMERIC_PRECISION (decimal) or bit width (bit), -1 when none
	scale      int64  // NUMERIC_SCALE, -1 when none
	isJSON     bool   // MariaDB's json is longtext CHECK (json_valid(col))
}

// columnSpec is the resolved schema and encoder of a column.
type columnSpec struct {
	spec   typeSpec
	schema string
}

// specFor resolves a column's type to its table row and JSON schema; ok is
// false for types the tap cannot read.
func specFor(ct colType, nullable bool) (columnSpec, bool) {
	if unsupportedTypes[ct.dataType] {
		return columnSpec{}, false
	}
	key := ct.dataType
	if strings.Contains(ct.columnType, "unsigned") {
		key += " unsigned"
	}
	spec, ok := typeTable[key]
	if !ok {
		spec, ok = typeTable[ct.dataType]
	}
	if !ok {
		spec = typeSpec{jsonType: "string"}
	}
	if ct.isJSON {
		spec = typeTable["json"]
	}
	switch {
	case ct.dataType == "tinyint" && strings.HasPrefix(ct.columnType, "tinyint(1)"):
		spec = typeSpec{jsonType: "boolean", enc: encBool, orderable: false}
	case ct.dataType == "bit" && ct.precision == 1:
		spec = typeSpec{jsonType: "boolean", enc: encBit}
	}
	if spec.nullable {
		nullable = true
	}
	return columnSpec{spec: spec, schema: schemaOf(spec, ct, nullable)}, true
}

func schemaOf(spec typeSpec, ct colType, nullable bool) string {
	var b strings.Builder
	b.WriteString(`{"type":`)
	if spec.jsonType == "json" {
		b.WriteString(`["null","object","array","string","number","boolean"]}`)
		return b.String()
	}
	if nullable {
		b.WriteString(`["null","` + spec.jsonType + `"]`)
	} else {
		b.WriteString(`"` + spec.jsonType + `"`)
	}
	if spec.format != "" {
		b.WriteString(`,"format":"` + spec.format + `"`)
	}
	switch {
	case spec.enc == encBit && spec.jsonType == "integer":
		n := ct.precision
		if n < 1 || n > 64 {
			n = 64
		}
		b.WriteString(`,"minimum":0,"maximum":` + bitMax(int(n)))
	case spec.min != "":
		b.WriteString(`,"minimum":` + spec.min + `,"maximum":` + spec.max)
	}
	if strings.HasPrefix(ct.dataType, "decimal") && ct.precision > 0 && ct.scale >= 0 && ct.precision >= ct.scale {
		// decimal(p,s): exact multiples of 10^-s below 10^(p-s) in
		// magnitude, the form target-postgres reads back as numeric(p,s).
		b.WriteString(`,"multipleOf":` + pow10(-int(ct.scale)))
		bound := pow10(int(ct.precision - ct.scale))
		lower := "-" + bound
		if strings.Contains(ct.columnType, "unsigned") {
			lower = "0"
			b.WriteString(`,"maximum":` + bound + `,"exclusiveMaximum":true,"minimum":0`)
		} else {
			b.WriteString(`,"maximum":` + bound + `,"exclusiveMaximum":true,"minimum":` + lower + `,"exclusiveMinimum":true`)
		}
	}
	if spec.lengthFromColumn && ct.maxLength > 0 {
		b.WriteString(`,"maxLength":` + strconv.FormatInt(ct.maxLength, 10))
	}
	if ct.dataType == "enum" {
		if vals, ok := enumValues(ct.columnType, "enum("); ok {
			b.WriteString(`,"enum":[`)
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Quote(v))
			}
			if nullable {
				b.WriteString(`,null`)
			}
			b.WriteString(`]`)
		}
	}
	b.WriteString("}")
	return b.String()
}

// enumValues parses enum('a','b”c') into its values; ok is false when a
// value is not plain printable ASCII (strconv.Quote would not write JSON).
func enumValues(columnType, prefix string) ([]string, bool) {
	s, ok := strings.CutPrefix(columnType, prefix)
	if !ok || !strings.HasSuffix(s, ")") {
		return nil, false
	}
	s = s[:len(s)-1]
	var vals []string
	ascii := true
	for len(s) > 0 {
		if s[0] != '\'' {
			return nil, false
		}
		var v strings.Builder
		i := 1
		for ; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					v.WriteByte('\'')
					i++
					continue
				}
				break
			}
			if s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\' {
				ascii = false
			}
			v.WriteByte(s[i])
		}
		vals = append(vals, v.String())
		s = s[min(i+1, len(s)):]
		s = strings.TrimPrefix(s, ",")
	}
	return vals, ascii
}

func bitMax(n int) string {
	if n == 64 {
		return "18446744073709551615"
	}
	return strconv.FormatUint(1<<uint(n)-1, 10)
}

// pow10 writes 10^e exactly: "1000" or "0.001".
func pow10(e int) string {
	if e >= 0 {
		return "1" + strings.Repeat("0", e)
	}
	return "0." + strings.Repeat("0", -e-1) + "1"
}
