package bigquery

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// This file maps nested properties to BigQuery's nested types when
// object_columns is "record", and encodes their values for load jobs.
//
// The rule (docs/target-bigquery.md, "RECORD and REPEATED columns"):
//   - an object with declared properties is a RECORD; each property is a
//     NULLABLE sub-field named by FoldName, typed by the same type table
//     (recursively), in the order of the property names sorted;
//   - an array whose items declare one type (a scalar kind, or an object
//     with properties) is a REPEATED field of that type;
//   - everything else stays JSON: objects without properties, arrays of
//     arrays, items of no single type, and anything nested deeper than
//     BigQuery's 15 levels.

// Values of object_columns.
const (
	ObjectColumnsJSON   = "json"
	ObjectColumnsRecord = "record"
)

// maxNesting is BigQuery's limit on nested RECORD levels.
const maxNesting = 15

// columnField is a column's field: nested when record is set and the
// column's schema allows it, else by the scalar type table.
func columnField(c *sqltarget.Column, record bool) *bigquery.FieldSchema {
	if record && c.Type.Kind == sqltarget.KindJSON && c.Type.SQLType == "" && c.Schema != nil {
		if f := nestedField(c.Name, c.Schema, 1); f != nil {
			return f
		}
	}
	return fieldFor(c.Name, c.Type)
}

// nestedField returns the RECORD or REPEATED field of a property schema,
// or nil when the property stays JSON. depth is the nesting level of the
// field (top-level columns are 1).
func nestedField(name string, schema map[string]any, depth int) *bigquery.FieldSchema {
	if depth > maxNesting {
		return nil
	}
	props, items := sqltarget.NestedStructure(schema)
	switch {
	case props != nil:
		f := &bigquery.FieldSchema{Name: name, Type: bigquery.RecordFieldType}
		for _, p := range subFieldNames(props) {
			ps, _ := props[p.property].(map[string]any)
			if ps == nil {
				ps = map[string]any{}
			}
			f.Schema = append(f.Schema, subField(p.name, ps, depth+1))
		}
		return f
	case items != nil:
		it, _ := sqltarget.NonNullTypes(items)
		if len(it) != 1 || it[0] == "array" {
			return nil
		}
		var f *bigquery.FieldSchema
		if it[0] == "object" {
			if f = nestedField(name, items, depth); f == nil {
				return nil
			}
		} else {
			lt := sqltarget.LogicalTypeOf(items)
			if lt.Kind == sqltarget.KindJSON {
				return nil
			}
			f = fieldFor(name, lt)
		}
		f.Repeated = true
		return f
	}
	return nil
}

// subField is the field of one declared property of a RECORD: nested
// again when it can be, else by the scalar type table.
func subField(name string, schema map[string]any, depth int) *bigquery.FieldSchema {
	if lt := sqltarget.LogicalTypeOf(schema); lt.Kind == sqltarget.KindJSON && lt.SQLType == "" {
		if f := nestedField(name, schema, depth); f != nil {
			return f
		}
	}
	return fieldFor(name, sqltarget.LogicalTypeOf(schema))
}

type subName struct{ property, name string }

// subFieldNames folds the property names of an object, sorted, keeping
// them unique ignoring case: a later name that collides gets "_" and 8 hex
// digits of the SHA-1 of its property name (the rule of columns).
func subFieldNames(props map[string]any) []subName {
	names := make([]string, 0, len(props))
	for p := range props {
		names = append(names, p)
	}
	sort.Strings(names)
	used := map[string]bool{}
	out := make([]subName, 0, len(names))
	for _, p := range names {
		n := FoldName(p)
		if used[strings.ToLower(n)] {
			h := sha1.Sum([]byte(p))
			n = sqltarget.TruncateWithHash(n, maxIdentifier-9)
			if len(n) > maxIdentifier-9 {
				n = n[:maxIdentifier-9]
			}
			n += "_" + hex.EncodeToString(h[:4])
		}
		used[strings.ToLower(n)] = true
		out = append(out, subName{property: p, name: n})
	}
	return out
}

// propertyNames maps the property names of a column's declared object
// (its items' object for REPEATED RECORD) to sub-field names, down the
// nesting; nil when the schema declares none.
type propertyNames struct {
	names map[string]string
	sub   map[string]*propertyNames // by sub-field name (lower case)
}

func namesOf(schema map[string]any) *propertyNames {
	if schema == nil {
		return nil
	}
	types, src := sqltarget.NonNullTypes(schema)
	if len(types) != 1 {
		return nil
	}
	switch types[0] {
	case "array":
		items, _ := src["items"].(map[string]any)
		return namesOf(items)
	case "object":
		props, _ := src["properties"].(map[string]any)
		if len(props) == 0 {
			return nil
		}
		pn := &propertyNames{names: map[string]string{}, sub: map[string]*propertyNames{}}
		for _, p := range subFieldNames(props) {
			pn.names[p.property] = p.name
			ps, _ := props[p.property].(map[string]any)
			if s := namesOf(ps); s != nil {
				pn.sub[strings.ToLower(p.name)] = s
			}
		}
		return pn
	}
	return nil
}

// newNestedEnc sets up the encoders of a RECORD's sub-fields, following
// the table's field (what the load job must match) and the stream's
// property names.
func newNestedEnc(e *fieldEnc, f *bigquery.FieldSchema, names *propertyNames) {
	e.repeated = f.Repeated
	if f.Type != bigquery.RecordFieldType {
		return
	}
	e.sub = make(map[string]*fieldEnc, len(f.Schema))
	for _, sf := range f.Schema {
		var sn *propertyNames
		if names != nil {
			sn = names.sub[strings.ToLower(sf.Name)]
		}
		se := newFieldEnc(sf)
		newNestedEnc(&se, sf, sn)
		e.sub[strings.ToLower(sf.Name)] = &se
	}
	e.names = names
}

// subFor returns the sub-field encoder of an object key: the declared
// property's sub-field, else the sub-field of the key's folded name.
func (e *fieldEnc) subFor(key string) *fieldEnc {
	n, ok := "", false
	if e.names != nil {
		n, ok = e.names.names[key]
	}
	if !ok {
		n = FoldName(key)
	}
	return e.sub[strings.ToLower(n)]
}

// appendNestedValue encodes a RECORD or REPEATED column's value from its
// raw JSON. Numbers keep their exact text.
func appendNestedValue(buf []byte, f *fieldEnc, v *singer.Value) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(v.Bytes))
	dec.UseNumber()
	var x any
	switch v.Kind {
	case singer.Object, singer.Array:
		if err := dec.Decode(&x); err != nil {
			return buf, valueErr(f, "%s is not valid JSON: %v", sqltarget.Shown(v), err)
		}
	default:
		x = plainOf(v)
	}
	return appendTree(buf, f, x, f.name)
}

// plainOf is a scalar Value as a decoded JSON value.
func plainOf(v *singer.Value) any {
	switch v.Kind {
	case singer.Bool:
		return v.Bool
	case singer.Number:
		return json.Number(v.Bytes)
	case singer.String:
		return string(v.Bytes)
	}
	return nil
}

// appendTree writes a decoded JSON value as the field's NDJSON value.
// path names the place in errors (column.sub[2].field).
func appendTree(buf []byte, f *fieldEnc, x any, path string) ([]byte, error) {
	if f.repeated {
		arr, ok := x.([]any)
		if !ok {
			return buf, nestedErr(path, "%s is not an array (the column is REPEATED)", shownJSON(x))
		}
		elem := *f
		elem.repeated = false
		buf = append(buf, '[')
		for i, el := range arr {
			if el == nil {
				return buf, nestedErr(fmt.Sprintf("%s[%d]", path, i), "null cannot be an element of a BigQuery array (REPEATED); declare the items without null, or use object_columns json")
			}
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendTree(buf, &elem, el, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return buf, err
			}
		}
		return append(buf, ']'), nil
	}
	if f.typ == bigquery.RecordFieldType {
		obj, ok := x.(map[string]any)
		if !ok {
			return buf, nestedErr(path, "%s is not an object (the column is a RECORD)", shownJSON(x))
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = append(buf, '{')
		first := true
		for _, k := range keys {
			sf := f.subFor(k)
			if sf == nil {
				return buf, nestedErr(path+"."+k, "the RECORD has no sub-field for property %q; declare it in the stream's schema (a new sub-field is added), or use object_columns json", k)
			}
			if obj[k] == nil {
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, sf.prefix...)
			var err error
			if buf, err = appendTree(buf, sf, obj[k], path+"."+k); err != nil {
				return buf, err
			}
		}
		return append(buf, '}'), nil
	}
	v, err := scalarOf(x)
	if err != nil {
		return buf, nestedErr(path, "%v", err)
	}
	out, err := appendValue(buf, f, &v)
	switch e := err.(type) {
	case *sqltarget.ValueError:
		return buf, nestedErr(path, "%s", e.Msg)
	case *sqltarget.WidenError:
		// A nested field is not widened (BigQuery cannot change it in
		// place): the value is an error.
		return buf, nestedErr(path, "%s: it does not fit %s", e.Msg, f.typ)
	}
	return out, err
}

// scalarOf turns a decoded JSON value into a singer.Value for the scalar
// encoders; objects and arrays carry their JSON text (for JSON and STRING
// sub-fields).
func scalarOf(x any) (singer.Value, error) {
	switch t := x.(type) {
	case string:
		return singer.Value{Kind: singer.String, Bytes: []byte(t)}, nil
	case json.Number:
		s := string(t)
		v := singer.Value{Kind: singer.Number, Bytes: []byte(s), IsInt: !strings.ContainsAny(s, ".eE")}
		if v.IsInt {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				v.Int, v.IntOK = n, true
			}
		}
		return v, nil
	case bool:
		return singer.Value{Kind: singer.Bool, Bool: t}, nil
	case map[string]any:
		b, err := json.Marshal(t)
		return singer.Value{Kind: singer.Object, Bytes: b}, err
	case []any:
		b, err := json.Marshal(t)
		return singer.Value{Kind: singer.Array, Bytes: b}, err
	}
	return singer.Value{Kind: singer.Null}, nil
}

func shownJSON(x any) string {
	v, err := scalarOf(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return sqltarget.Shown(&v)
}

func nestedErr(path, format string, args ...any) error {
	return &sqltarget.ValueError{Column: strconv.Quote(path), Msg: fmt.Sprintf(format, args...)}
}

// mergeRecord returns the RECORD have with the sub-fields of want it
// lacks added (NULLABLE, recursively), and whether anything was added. A
// sub-field whose type differs is an error unless the existing one takes
// the values as they are (STRING and JSON take anything).
func mergeRecord(have, want *bigquery.FieldSchema, path string) (*bigquery.FieldSchema, bool, error) {
	out := *have
	out.Schema = append(bigquery.Schema(nil), have.Schema...)
	byName := map[string]int{}
	for i, f := range out.Schema {
		byName[strings.ToLower(f.Name)] = i
	}
	added := false
	for _, wf := range want.Schema {
		i, ok := byName[strings.ToLower(wf.Name)]
		if !ok {
			nf := *wf
			nf.Required = false
			out.Schema = append(out.Schema, &nf)
			added = true
			continue
		}
		hf := out.Schema[i]
		sub := path + "." + hf.Name
		switch {
		case hf.Type == bigquery.RecordFieldType && wf.Type == bigquery.RecordFieldType && hf.Repeated == wf.Repeated:
			m, a, err := mergeRecord(hf, wf, sub)
			if err != nil {
				return nil, false, err
			}
			if a {
				out.Schema[i], added = m, true
			}
		case hf.Repeated != wf.Repeated:
			return nil, false, fmt.Errorf("sub-field %s is %s, the stream now declares %s; BigQuery cannot change that in place: drop or rename the column, or use object_columns json", sub, fieldTypeText(hf), fieldTypeText(wf))
		case takes(hf, wf):
		default:
			return nil, false, fmt.Errorf("sub-field %s is %s, the stream now declares %s; BigQuery cannot change a nested field's type in place: drop or rename the column, or use object_columns json", sub, fieldTypeText(hf), fieldTypeText(wf))
		}
	}
	return &out, added, nil
}

// fieldTypeText is a field's type as docs/target-bigquery.md writes it: INT64, REPEATED
// STRING, RECORD.
func fieldTypeText(f *bigquery.FieldSchema) string {
	s := typeName(f)
	if f.Type == bigquery.RecordFieldType {
		s = "RECORD"
	}
	if f.Repeated {
		s = "REPEATED " + s
	}
	return s
}

// ddlType is a field's type as DDL, nested types included:
// ARRAY<STRUCT<`a` INT64, `b` ARRAY<STRING>>>.
func ddlType(f *bigquery.FieldSchema) string {
	s := typeName(f)
	if f.Type == bigquery.RecordFieldType {
		parts := make([]string, len(f.Schema))
		for i, sf := range f.Schema {
			parts[i] = quote(sf.Name) + " " + ddlType(sf)
		}
		s = "STRUCT<" + strings.Join(parts, ", ") + ">"
	}
	if f.Repeated {
		s = "ARRAY<" + s + ">"
	}
	return s
}

// takes reports whether an existing field of type have takes the values of
// a field of type want as they are.
func takes(have, want *bigquery.FieldSchema) bool {
	switch {
	case have.Type == bigquery.StringFieldType || have.Type == bigquery.JSONFieldType:
		return true
	case have.Type == want.Type:
		return true
	case have.Type == bigquery.BigNumericFieldType && (want.Type == bigquery.IntegerFieldType || want.Type == bigquery.NumericFieldType):
		return true
	case have.Type == bigquery.NumericFieldType && want.Type == bigquery.IntegerFieldType:
		return true
	case have.Type == bigquery.TimestampFieldType && want.Type == bigquery.DateFieldType:
		return true
	}
	return false
}

// nestedEvolution is the rule for an existing RECORD or REPEATED column:
//   - the stream's property maps to the same nested shape: sub-fields it
//     lacks are added NULLABLE (the returned field is the column with
//     them; nil when nothing is new);
//   - the property is an object or array that maps to JSON (object_columns
//     json, or no declared properties): the column stays, values are
//     written into it, and a value that does not fit is an error;
//   - anything else (the property became a scalar, or a nested field
//     changed type) is an error: BigQuery cannot convert a nested column
//     in place, and target-bigquery never drops one.
func nestedEvolution(have *bigquery.FieldSchema, c *sqltarget.Column, record bool, path string) (*bigquery.FieldSchema, error) {
	want := columnField(c, record)
	col := quote(have.Name)
	switch {
	case want.Type == bigquery.RecordFieldType && have.Type == bigquery.RecordFieldType && want.Repeated == have.Repeated:
		m, added, err := mergeRecord(have, want, have.Name)
		if err != nil {
			return nil, fmt.Errorf("table %s, column %s: %w", path, col, err)
		}
		if added {
			return m, nil
		}
		return nil, nil
	case want.Repeated && have.Repeated && want.Type != bigquery.RecordFieldType && takes(have, want):
		return nil, nil
	case c.Type.Kind == sqltarget.KindJSON && c.Type.SQLType == "" && !(want.Type == bigquery.RecordFieldType || want.Repeated):
		return nil, nil
	}
	return nil, fmt.Errorf("table %s has column %s of type %s, but the stream's property %q is now %s; BigQuery cannot change a nested column in place: drop or rename the column (or send the stream to another dataset)", path, col, fieldTypeText(have), c.Property, describeWant(c, want))
}

func describeWant(c *sqltarget.Column, want *bigquery.FieldSchema) string {
	if want.Type == bigquery.RecordFieldType || want.Repeated {
		return fieldTypeText(want)
	}
	return c.Type.String() + " (" + fieldTypeText(want) + ")"
}

// updateNested writes RECORD columns with new sub-fields to the table's
// schema (tables.patch: DDL cannot add a nested field).
func (s *session) updateNested(ctx context.Context, t *sqltarget.Table, path string, nested []*bigquery.FieldSchema) error {
	if len(nested) == 0 {
		return nil
	}
	tbl := s.d.client.Dataset(t.Schema).Table(t.Name)
	md, err := s.metadata(ctx, tbl)
	if err != nil {
		return fmt.Errorf("reading table %s: %w", path, err)
	}
	byName := map[string]*bigquery.FieldSchema{}
	for _, f := range nested {
		byName[strings.ToLower(f.Name)] = f
	}
	schema := make(bigquery.Schema, len(md.Schema))
	for i, f := range md.Schema {
		schema[i] = f
		if nf := byName[strings.ToLower(f.Name)]; nf != nil {
			schema[i] = nf
		}
	}
	err = s.retry(ctx, func() error {
		_, err := tbl.Update(ctx, bigquery.TableMetadataToUpdate{Schema: schema}, md.ETag)
		return err
	})
	if err != nil {
		return fmt.Errorf("adding sub-fields to RECORD columns of %s: %w", path, err)
	}
	for _, f := range nested {
		s.d.log.Infof("added sub-fields to RECORD column %s of %s: now %s", quote(f.Name), path, ddlType(f))
	}
	return nil
}
