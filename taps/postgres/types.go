package postgres

import (
	"strconv"
	"strings"
)

// encoding is how a column's text value becomes JSON.
type encoding int

const (
	encString      encoding = iota // a JSON string of the text as is
	encNumber                      // the text is a JSON number (integers)
	encNumeric                     // numeric: NaN and ±Infinity -> null
	encFloat                       // real/double: NaN and ±Infinity -> null
	encBool                        // t/f
	encJSON                        // json: embedded, compacted (it keeps the input's whitespace)
	encJSONB                       // jsonb: embedded as is (single-line already)
	encBytea                       // hex, without the \x prefix
	encDate                        // YYYY-MM-DD; ±infinity clamped, BC and 5-digit years -> null
	encTimestamp                   // timestamp without time zone, read as UTC
	encTimestamptz                 // timestamptz, in the session's UTC
	encTime                        // time: the text as is
	encTimetz                      // timetz: the offset written as ±HH:MM
)

// typeSpec is one row of the type table: how a base type (pg_type.typname)
// is described in JSON schema and encoded.
type typeSpec struct {
	jsonType  string // JSON schema type
	format    string // JSON schema format
	min, max  string // integer bounds
	enc       encoding
	orderable bool // may be a replication key
}

// typeTable maps every built-in base type to its JSON schema and encoder.
// Types not listed (and enums, ranges, geometric and user types) are
// strings in PostgreSQL's text form. Arrays of any type are arrays of its
// element.
var typeTable = map[string]typeSpec{
	"int2":        {jsonType: "integer", min: "-32768", max: "32767", enc: encNumber, orderable: true},
	"int4":        {jsonType: "integer", min: "-2147483648", max: "2147483647", enc: encNumber, orderable: true},
	"int8":        {jsonType: "integer", min: "-9223372036854775808", max: "9223372036854775807", enc: encNumber, orderable: true},
	"oid":         {jsonType: "integer", min: "0", max: "4294967295", enc: encNumber, orderable: true},
	"xid":         {jsonType: "integer", min: "0", max: "4294967295", enc: encNumber},
	"cid":         {jsonType: "integer", min: "0", max: "4294967295", enc: encNumber},
	"numeric":     {jsonType: "number", enc: encNumeric, orderable: true},
	"float4":      {jsonType: "number", enc: encFloat, orderable: true},
	"float8":      {jsonType: "number", enc: encFloat, orderable: true},
	"bool":        {jsonType: "boolean", enc: encBool},
	"text":        {jsonType: "string", orderable: true},
	"varchar":     {jsonType: "string", orderable: true},
	"bpchar":      {jsonType: "string", orderable: true},
	"name":        {jsonType: "string", orderable: true},
	"char":        {jsonType: "string"},
	"citext":      {jsonType: "string", orderable: true},
	"uuid":        {jsonType: "string", format: "uuid", orderable: true},
	"json":        {jsonType: "json", enc: encJSON},
	"jsonb":       {jsonType: "json", enc: encJSONB},
	"bytea":       {jsonType: "string", enc: encBytea},
	"date":        {jsonType: "string", format: "date", enc: encDate, orderable: true},
	"time":        {jsonType: "string", format: "time", enc: encTime, orderable: true},
	"timetz":      {jsonType: "string", format: "time", enc: encTimetz},
	"timestamp":   {jsonType: "string", format: "date-time", enc: encTimestamp, orderable: true},
	"timestamptz": {jsonType: "string", format: "date-time", enc: encTimestamptz, orderable: true},
	"money":       {jsonType: "string"},
	"interval":    {jsonType: "string"},
	"inet":        {jsonType: "string"},
	"cidr":        {jsonType: "string"},
	"macaddr":     {jsonType: "string"},
	"macaddr8":    {jsonType: "string"},
	"bit":         {jsonType: "string"},
	"varbit":      {jsonType: "string"},
	"xml":         {jsonType: "string"},
	"tsvector":    {jsonType: "string"},
	"tsquery":     {jsonType: "string"},
	"hstore":      {jsonType: "string"},
	"pg_lsn":      {jsonType: "string", orderable: true},
}

// unsupportedTypes cannot be read as values (pseudo-types).
var unsupportedTypes = map[string]bool{
	"unknown": true, "void": true, "record": true, "anyelement": true, "anyarray": true,
}

// pgTypeInfo is what discovery knows about a column's type after domains are
// resolved to their base type.
type pgTypeInfo struct {
	name    string // base type's typname, or the element's for arrays
	typmod  int32
	isArray bool
	// dims is the column's declared number of array dimensions
	// (pg_attribute.attndims): 0 when unknown (views, CREATE TABLE AS,
	// domains over arrays).
	dims   int
	isEnum bool
	pseudo bool
}

// columnSpec is the resolved schema and encoder of a column.
type columnSpec struct {
	spec   typeSpec
	schema string
	array  bool
}

// specFor resolves a column's type to its table row and JSON schema.
func specFor(ti pgTypeInfo, nullable bool) (columnSpec, bool) {
	if ti.pseudo || unsupportedTypes[ti.name] {
		return columnSpec{}, false
	}
	spec, ok := typeTable[ti.name]
	if !ok {
		spec = typeSpec{jsonType: "string", orderable: ti.isEnum}
	}
	switch spec.enc {
	case encNumeric, encFloat, encDate, encTimestamp, encTimestamptz:
		// NaN, infinities and BC dates have no JSON form: they become null.
		nullable = true
	}
	elem := elementSchema(spec, ti, nullable || ti.isArray)
	if !ti.isArray {
		return columnSpec{spec: spec, schema: elem}, true
	}
	spec.orderable = false
	t := `"array"`
	if nullable {
		t = `["null","array"]`
	}
	return columnSpec{spec: spec, schema: `{"type":` + t + `,"items":` + arrayItems(elem, ti.dims) + `}`, array: true}, true
}

// maxArrayDims is PostgreSQL's limit on array dimensions (MAXDIM).
const maxArrayDims = 6

// arrayItems is the items schema of an array column declared with dims
// dimensions. One dimension: the element. More (int[][]), or unknown (0):
// PostgreSQL does not enforce the declared count, so each level accepts an
// element or a nested array, down to the declared (else the maximum) depth.
func arrayItems(elem string, dims int) string {
	if dims == 1 {
		return elem
	}
	if dims <= 0 || dims > maxArrayDims {
		dims = maxArrayDims
	}
	items := elem
	for range dims - 1 {
		items = `{"anyOf":[` + elem + `,{"type":"array","items":` + items + `}]}`
	}
	return items
}

func elementSchema(spec typeSpec, ti pgTypeInfo, nullable bool) string {
	var b strings.Builder
	b.WriteString(`{"type":`)
	if spec.jsonType == "json" {
		// Any JSON value; objects and arrays as they are.
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
	if spec.min != "" {
		b.WriteString(`,"minimum":` + spec.min + `,"maximum":` + spec.max)
	}
	switch ti.name {
	case "numeric":
		// numeric(p,s): exact multiples of 10^-s below 10^(p-s) in magnitude;
		// the pattern target-postgres reads back as numeric(p,s).
		if ti.typmod >= 4 {
			mod := ti.typmod - 4
			p, s := int(mod>>16)&0xffff, int(mod&0x7ff)
			if s > 0x3ff { // negative scale (PG 15) is stored as 11-bit two's complement
				s -= 0x800
			}
			if s >= 0 && p >= s {
				b.WriteString(`,"multipleOf":` + pow10(-s))
				bound := pow10(p - s)
				b.WriteString(`,"maximum":` + bound + `,"exclusiveMaximum":true,"minimum":-` + bound + `,"exclusiveMinimum":true`)
			}
		}
	case "varchar", "bpchar":
		if ti.typmod > 4 {
			b.WriteString(`,"maxLength":` + strconv.Itoa(int(ti.typmod-4)))
		}
	}
	b.WriteString("}")
	return b.String()
}

// pow10 writes 10^e exactly: "1000" or "0.001".
func pow10(e int) string {
	if e >= 0 {
		return "1" + strings.Repeat("0", e)
	}
	return "0." + strings.Repeat("0", -e-1) + "1"
}
