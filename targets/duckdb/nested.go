package duckdb

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// This file maps nested properties to DuckDB's nested types when
// object_columns is "struct", and encodes their values.
//
// The rule (docs/target-duckdb.md, "STRUCT and LIST columns"):
//   - an object with declared properties is a STRUCT; each property is a
//     field named exactly as the property, typed by the same type table
//     (recursively), in the order of the property names sorted;
//   - an array whose items declare one type (a scalar kind, an object with
//     properties, or such an array) is a LIST of that type;
//   - everything else stays JSON: objects without properties, arrays of
//     items of no single type, objects with two properties whose names
//     differ only in case (DuckDB's field names ignore case), key columns,
//     and anything nested deeper than maxNestedDepth levels. A property of
//     no single type inside a STRUCT is a JSON field.
//
// Values are encoded by the client as JSON text in which every scalar is
// already checked and written in its exact canonical form (numbers and
// times as strings), and DuckDB casts that text to the column's type:
// CAST(CAST(text AS JSON) AS STRUCT(...)). Its JSON-to-STRUCT cast reads
// JSON numbers as doubles, but strings through the exact VARCHAR casts, so
// no digit is lost; and since the client has already checked every value,
// the cast meets no value it could refuse or change.

// Values of object_columns.
const (
	ObjectColumnsJSON   = "json"
	ObjectColumnsStruct = "struct"
)

// maxNestedDepth bounds STRUCT and LIST nesting; deeper structures stay
// JSON.
const maxNestedDepth = 32

type nkind uint8

const (
	nLeaf nkind = iota
	nStruct
	nList
)

// ntype is a nested column type: a STRUCT of named fields, a LIST, or a
// scalar leaf.
type ntype struct {
	kind   nkind
	fields []nfield       // nStruct, in the column's order
	index  map[string]int // nStruct: field name -> position
	elem   *ntype         // nList
	typ    string         // nLeaf: the DuckDB type
	want   sqltarget.LogicalType
	enc    encoder // nLeaf read from a table: its value encoder
}

type nfield struct {
	name string
	t    *ntype
}

// columnType is the DDL type of a new column: a STRUCT or LIST when
// object_columns is struct and the property's schema declares one
// structure, else the type table's.
func (d *Dialect) columnType(c *sqltarget.Column) string {
	if d.cfg.ObjectColumns == ObjectColumnsStruct && !c.Key && c.Meta == sqltarget.MetaNone &&
		c.Type.Kind == sqltarget.KindJSON && c.Type.SQLType == "" {
		if n := nestedOf(c.Schema, 1); n != nil {
			return n.text()
		}
	}
	return columnType(c)
}

// nestedOf returns the STRUCT or LIST type of a property schema, or nil
// when the property stays JSON.
func nestedOf(schema map[string]any, depth int) *ntype {
	if depth > maxNestedDepth {
		return nil
	}
	props, items := sqltarget.NestedStructure(schema)
	switch {
	case props != nil:
		names := make([]string, 0, len(props))
		for p := range props {
			names = append(names, p)
		}
		slices.Sort(names)
		t := &ntype{kind: nStruct, index: map[string]int{}}
		seen := map[string]bool{}
		for _, p := range names {
			if p == "" || seen[strings.ToLower(p)] {
				return nil
			}
			seen[strings.ToLower(p)] = true
			ps, _ := props[p].(map[string]any)
			t.index[p] = len(t.fields)
			t.fields = append(t.fields, nfield{name: p, t: memberOf(ps, depth+1)})
		}
		return t
	case items != nil:
		it := memberOf(items, depth+1)
		if it.kind == nLeaf && it.typ == "JSON" {
			return nil
		}
		return &ntype{kind: nList, elem: it}
	}
	return nil
}

// memberOf is the type of a STRUCT field or LIST element: nested again
// when it can be, else by the scalar type table (JSON for a property of
// no single type or without a schema).
func memberOf(schema map[string]any, depth int) *ntype {
	if schema == nil {
		schema = map[string]any{}
	}
	lt := sqltarget.LogicalTypeOf(schema)
	if lt.Kind == sqltarget.KindJSON && lt.SQLType == "" {
		if n := nestedOf(schema, depth); n != nil {
			return n
		}
	}
	return &ntype{kind: nLeaf, typ: columnType(&sqltarget.Column{Type: lt}), want: lt}
}

// text is the type's DDL.
func (t *ntype) text() string { return t.render(false) }

// stageText is the type the client's JSON is first cast to: JSON leaves
// are VARCHAR there. DuckDB's JSON-to-STRUCT cast rewrites a JSON field's
// value through doubles (12345678901234567890123.50 becomes
// 1.2345678901234568e22), so the client writes such a value as a JSON
// string of its exact text, read as VARCHAR, then cast to JSON, which
// keeps the text.
func (t *ntype) stageText() string { return t.render(true) }

func (t *ntype) render(stage bool) string {
	switch t.kind {
	case nStruct:
		parts := make([]string, len(t.fields))
		for i, f := range t.fields {
			parts[i] = quote(f.name) + " " + f.t.render(stage)
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	case nList:
		return t.elem.render(stage) + "[]"
	}
	if stage && t.typ == "JSON" {
		return "VARCHAR"
	}
	return t.typ
}

// isNestedType reports whether a column's data_type is a STRUCT, LIST or
// another of DuckDB's nested types.
func isNestedType(typ string) bool {
	return strings.HasSuffix(typ, "]") || strings.HasPrefix(typ, "STRUCT(") || strings.HasPrefix(typ, "MAP(") || strings.HasPrefix(typ, "UNION(")
}

// parseType reads a data_type of duckdb_columns() made of STRUCTs, LISTs
// and scalar types; any other nested type (MAP, UNION, fixed-size ARRAY)
// is an error.
func parseType(s string) (*ntype, error) {
	p := typeParser{s: s}
	t, err := p.typ()
	if err != nil {
		return nil, err
	}
	if p.i != len(s) {
		return nil, fmt.Errorf("type %s: unexpected %q", s, s[p.i:])
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *typeParser) typ() (*ntype, error) {
	var t *ntype
	if strings.HasPrefix(p.s[p.i:], "STRUCT(") {
		p.i += len("STRUCT(")
		t = &ntype{kind: nStruct, index: map[string]int{}}
		for {
			p.space()
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			p.space()
			ft, err := p.typ()
			if err != nil {
				return nil, err
			}
			t.index[name] = len(t.fields)
			t.fields = append(t.fields, nfield{name: name, t: ft})
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("type %s: unterminated STRUCT", p.s)
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] != ')' {
				return nil, fmt.Errorf("type %s: unexpected %q", p.s, p.s[p.i:])
			}
			p.i++
			break
		}
	} else {
		start, depth := p.i, 0
	scan:
		for ; p.i < len(p.s); p.i++ {
			switch p.s[p.i] {
			case '(':
				depth++
			case ')':
				if depth == 0 {
					break scan
				}
				depth--
			case ',', '[':
				if depth == 0 {
					break scan
				}
			}
		}
		typ := strings.TrimSpace(p.s[start:p.i])
		if typ == "" || (strings.Contains(typ, "(") && !strings.HasPrefix(typ, "DECIMAL(")) {
			return nil, fmt.Errorf("type %s: %q is not a type target-duckdb encodes inside a STRUCT or LIST", p.s, typ)
		}
		ex := existingColumn{typ: typ}
		ex.precision, ex.scale = decimalDigits(typ)
		t = &ntype{kind: nLeaf, typ: typ, enc: physical(ex)}
	}
	for strings.HasPrefix(p.s[p.i:], "[") {
		if !strings.HasPrefix(p.s[p.i:], "[]") {
			return nil, fmt.Errorf("type %s: fixed-size arrays are not encoded by target-duckdb", p.s)
		}
		p.i += 2
		t = &ntype{kind: nList, elem: t}
	}
	return t, nil
}

// name reads a STRUCT field name: bare, or in double quotes ("" for ").
func (p *typeParser) name() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			if p.s[p.i] == '"' {
				if p.i+1 < len(p.s) && p.s[p.i+1] == '"' {
					b.WriteByte('"')
					p.i++
					continue
				}
				p.i++
				return b.String(), nil
			}
			b.WriteByte(p.s[p.i])
		}
		return "", fmt.Errorf("type %s: unterminated field name", p.s)
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ' ' {
		p.i++
	}
	if p.i == start {
		return "", fmt.Errorf("type %s: a STRUCT field without a name", p.s)
	}
	return p.s[start:p.i], nil
}

// NestedChangeError is a STRUCT or LIST column that the stream's new
// schema would need changed in a way DuckDB cannot do keeping its values.
type NestedChangeError struct {
	Table, Column, Path, Msg string
}

func (e *NestedChangeError) Error() string {
	where := e.Column
	if e.Path != "" {
		where += ", sub-field " + e.Path
	}
	return fmt.Sprintf("table %s, column %s: %s; DuckDB cannot change that keeping the values it holds: rename or drop the column (ALTER TABLE ... RENAME COLUMN), or load the stream into another table", e.Table, where, e.Msg)
}

// evolveNested returns the type an existing STRUCT or LIST column takes
// for the stream's schema ("" keeps it): every field it has, with the
// fields the schema adds, and leaves widened by the type table's rules.
// Fields are never removed: DuckDB's cast to a STRUCT without a field drops
// that field's values.
func evolveNested(table string, ex existingColumn, c *sqltarget.Column) (string, error) {
	have, err := parseType(ex.typ)
	if err != nil || have.kind == nLeaf {
		return "", nil // not a type of ours: its values are cast by DuckDB
	}
	want := nestedOf(c.Schema, 1)
	if want == nil {
		return "", &NestedChangeError{Table: table, Column: quote(c.Name), Msg: fmt.Sprintf("it is %s, and the stream's schema no longer declares its structure (%s)", ex.typ, c.Type)}
	}
	merged, changed, cerr := mergeNested(have, want, "")
	if cerr != nil {
		cerr.Table, cerr.Column = table, quote(c.Name)
		return "", cerr
	}
	if !changed {
		return "", nil
	}
	return merged.text(), nil
}

// mergeNested merges the type a column has with the one the stream wants.
func mergeNested(have, want *ntype, path string) (*ntype, bool, *NestedChangeError) {
	if have.kind == nLeaf && (have.enc.kind == physText || have.enc.kind == physJSON) {
		return have, false, nil // takes any value as text
	}
	if have.kind != want.kind {
		return nil, false, &NestedChangeError{Path: path, Msg: fmt.Sprintf("it is %s, the stream now declares %s", have.text(), want.text())}
	}
	switch have.kind {
	case nList:
		elem, changed, err := mergeNested(have.elem, want.elem, path+"[]")
		if err != nil || !changed {
			return have, false, err
		}
		return &ntype{kind: nList, elem: elem}, true, nil
	case nStruct:
		out := &ntype{kind: nStruct, index: map[string]int{}}
		changed := false
		for _, f := range have.fields {
			out.index[f.name] = len(out.fields)
			out.fields = append(out.fields, f)
		}
		for _, wf := range want.fields {
			sub := wf.name
			if path != "" {
				sub = path + "." + wf.name
			}
			i, ok := out.index[wf.name]
			if !ok {
				for _, f := range out.fields {
					if strings.EqualFold(f.name, wf.name) {
						return nil, false, &NestedChangeError{Path: sub, Msg: fmt.Sprintf("the STRUCT has field %q, the stream now declares %q (DuckDB's field names ignore case)", f.name, wf.name)}
					}
				}
				out.index[wf.name] = len(out.fields)
				out.fields = append(out.fields, wf)
				changed = true
				continue
			}
			ft, ch, err := mergeNested(out.fields[i].t, wf.t, sub)
			if err != nil {
				return nil, false, err
			}
			if ch {
				out.fields[i] = nfield{name: wf.name, t: ft}
				changed = true
			}
		}
		return out, changed, nil
	}
	ex := existingColumn{name: path, typ: have.typ}
	ex.precision, ex.scale = decimalDigits(have.typ)
	newType := evolution(ex, &sqltarget.Column{Type: want.want})
	if newType == "" || newType == have.typ {
		return have, false, nil
	}
	if !ownColumn(ex) && !keepsValues(ex, newType) {
		return nil, false, &NestedChangeError{Path: path, Msg: fmt.Sprintf("it is %s, taking %s values would change it to %s", have.typ, want.want, newType)}
	}
	return &ntype{kind: nLeaf, typ: newType}, true, nil
}

// nester encodes the values of STRUCT and LIST columns: the column's
// value as JSON in which every field and element is checked against its
// type and written in a form DuckDB's cast takes exactly.
type nester struct {
	scalar column // one leaf value at a time
	buf    []byte
	str    []byte // a string leaf's text
}

// appendNested appends the JSON text of a value of a nested column.
func (n *nester) appendNested(out []byte, c *encoder, v *singer.Value) ([]byte, error) {
	var raw []byte
	switch v.Kind {
	case singer.Object, singer.Array:
		raw = v.Bytes
	default:
		raw = appendJSONValue(nil, v)
	}
	if c.nested == nil {
		// A nested type of no one's making here (MAP, UNION): DuckDB
		// casts the value's JSON.
		return append(out, raw...), nil
	}
	return n.value(out, c.nested, raw, c.name, "")
}

func nestedErr(col, path, format string, args ...any) error {
	return &sqltarget.ValueError{Column: strconv.Quote(col) + path, Msg: fmt.Sprintf(format, args...)}
}

// shownRaw is a JSON value for an error message, shortened to 60 bytes.
func shownRaw(raw []byte) string {
	if len(raw) > 60 {
		return string(raw[:57]) + "..."
	}
	return string(raw)
}

func (n *nester) value(out []byte, t *ntype, raw []byte, col, path string) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return append(out, "null"...), nil
	}
	switch t.kind {
	case nStruct:
		if len(raw) == 0 || raw[0] != '{' {
			return out, nestedErr(col, path, "%s is not an object (the column is a STRUCT)", shownRaw(raw))
		}
		vals := make([][]byte, len(t.fields))
		var extra []string
		err := singer.EachMember(raw, func(key, value []byte) error {
			if i, ok := t.index[string(key)]; ok {
				vals[i] = value
			} else {
				extra = append(extra, string(key))
			}
			return nil
		})
		if err != nil {
			return out, nestedErr(col, path, "%s is not JSON: %v", shownRaw(raw), err)
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return out, nestedErr(col, path, "the STRUCT has no field %q; declare the property in the stream's schema (a new field is added), or use object_columns json", extra[0])
		}
		out = append(out, '{')
		for i, f := range t.fields {
			if i > 0 {
				out = append(out, ',')
			}
			out = singer.AppendJSONString(out, f.name)
			out = append(out, ':')
			if vals[i] == nil {
				out = append(out, "null"...)
				continue
			}
			if out, err = n.value(out, f.t, vals[i], col, path+"."+f.name); err != nil {
				return out, err
			}
		}
		return append(out, '}'), nil
	case nList:
		if len(raw) == 0 || raw[0] != '[' {
			return out, nestedErr(col, path, "%s is not an array (the column is a LIST)", shownRaw(raw))
		}
		out = append(out, '[')
		var ferr error
		err := singer.EachElement(raw, func(i int, value []byte) error {
			if i > 0 {
				out = append(out, ',')
			}
			out, ferr = n.value(out, t.elem, value, col, path+"["+strconv.Itoa(i)+"]")
			return ferr
		})
		if ferr != nil {
			return out, ferr
		}
		if err != nil {
			return out, nestedErr(col, path, "%s is not JSON: %v", shownRaw(raw), err)
		}
		return append(out, ']'), nil
	}
	v, err := n.rawValue(raw)
	if err != nil {
		return out, nestedErr(col, path, "%s is not JSON", shownRaw(raw))
	}
	d := &n.scalar
	d.reset()
	if _, err := encodeValue(&t.enc, d, &n.buf, &v); err != nil {
		if ve, ok := err.(*sqltarget.ValueError); ok {
			return out, nestedErr(col, path, "%s", ve.Msg)
		}
		return out, nestedErr(col, path, "%s", sqltarget.Shown(&v)+": "+err.Error())
	}
	return appendLeaf(out, &t.enc, d), nil
}

// rawValue reads one JSON scalar, object or array as a record value; a
// string's text is in n.str until the next call.
func (n *nester) rawValue(raw []byte) (singer.Value, error) {
	switch raw[0] {
	case '"':
		var err error
		if n.str, err = singer.AppendString(n.str[:0], raw); err != nil {
			return singer.Value{}, err
		}
		return singer.Value{Kind: singer.String, Bytes: n.str}, nil
	case 't', 'f':
		return singer.Value{Kind: singer.Bool, Bool: raw[0] == 't'}, nil
	case '{':
		return singer.Value{Kind: singer.Object, Bytes: raw}, nil
	case '[':
		return singer.Value{Kind: singer.Array, Bytes: raw}, nil
	}
	// A number: EachMember and EachElement have checked its syntax.
	v := singer.Value{Kind: singer.Number, Bytes: raw, IsInt: !bytes.ContainsAny(raw, ".eE")}
	if v.IsInt {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			v.Int, v.IntOK = n, true
		}
	}
	return v, nil
}

// reset empties a one-value column.
func (d *column) reset() {
	d.null, d.ints, d.floats, d.text, d.end = d.null[:0], d.ints[:0], d.floats[:0], d.text[:0], d.end[:0]
	clear(d.big)
}

// appendLeaf writes the value stored in d (one row) as JSON DuckDB's cast
// reads exactly: numbers, times and dates as strings of their canonical
// text, booleans as JSON booleans, JSON as a string of its text (see
// stageText).
func appendLeaf(out []byte, e *encoder, d *column) []byte {
	if d.null[0] {
		return append(out, "null"...)
	}
	switch e.kind {
	case physText, physCast, physTime, physNested, physJSON:
		return singer.AppendJSONBytes(out, d.text[:d.end[0]])
	case physBool:
		return strconv.AppendBool(out, d.ints[0] != 0)
	}
	out = append(out, '"')
	switch e.kind {
	case physInt:
		out = strconv.AppendInt(out, d.ints[0], 10)
	case physDecimal, physHuge:
		scale := 0
		if e.kind == physDecimal {
			scale = e.scale
		}
		out = appendScaled(out, d.ints[0], d.big[0], scale)
	case physFloat:
		out = strconv.AppendFloat(out, d.floats[0], 'g', -1, 64)
	case physTimestamp:
		out = time.UnixMicro(d.ints[0]).UTC().AppendFormat(out, "2006-01-02T15:04:05.999999Z")
	case physDate:
		out = time.Unix(d.ints[0], 0).UTC().AppendFormat(out, "2006-01-02")
	}
	return append(out, '"')
}

// appendScaled writes an unscaled integer (n, or bn when set) divided by
// 10^scale as decimal text.
func appendScaled(out []byte, n int64, bn *big.Int, scale int) []byte {
	var digits []byte
	if bn != nil {
		digits = bn.Append(nil, 10)
	} else {
		digits = strconv.AppendInt(nil, n, 10)
	}
	neg := len(digits) > 0 && digits[0] == '-'
	if neg {
		out = append(out, '-')
		digits = digits[1:]
	}
	if scale == 0 {
		return append(out, digits...)
	}
	for len(digits) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	cut := len(digits) - scale
	out = append(out, digits[:cut]...)
	out = append(out, '.')
	return append(out, digits[cut:]...)
}
