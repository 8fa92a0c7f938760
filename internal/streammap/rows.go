package streammap

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/singerkit/singerkit/singer"
)

// This file maps records on the values a target decoded, for a target
// that decodes records into typed values itself (the SQL targets): the
// target decodes each input record once, with the stream's input schema
// (RowMap.In), and builds the mapped row from its values. A property the
// map passes or copies is the decoded value itself; a computed one whose
// mapped schema is a plain nullable string, integer or boolean, and whose
// value is of that type, is made a value as it is; other computed
// properties are written as JSON (RowMap.SubRecord) and decoded with
// their schemas (RowMap.Sub). Nothing is re-encoded or parsed twice, and
// what the target validates is what it validates when it reads the
// mapped records as JSON:
//
//   - a property the map passes (or copies) is checked against its schema,
//     which is the mapped property's schema too;
//   - a property the map drops, or replaces by a computed one, or only
//     reads in expressions, is not checked (In says {} for it): a mapped
//     record does not have it;
//   - a computed property is checked against the schema of the mapped
//     property (Sub), as is a copy whose source is absent (the copy is
//     null then, as in a mapped record).
//
// Maps this does not cover (flattening by the maps, whole-record
// expressions, a stream with several outputs, a copy of a flattened
// object, a schema whose top level constrains its properties beyond
// "properties" and "required") are mapped as bytes (Sink.Record).

// RowSink is a Sink that decodes records into singer.Row values and takes
// the maps' work on them.
type RowSink interface {
	Sink
	// SchemaOptions are the options the sink compiles schemas with.
	SchemaOptions() singer.SchemaOptions
	// RowSchema comes after Schema(out) for a stream whose records the
	// maps can map on values: the sink decodes each RECORD of the stream
	// with rm.In and passes it to RowRecord. It returns false to receive
	// the records as bytes (Record) instead.
	RowSchema(out *singer.Message, rm *RowMap) (bool, error)
	// RowRecord receives a RECORD (open when the decoder left it open) of a
	// stream whose RowMap the sink took: the sink decodes it with rm.In,
	// finishes it, calls rm.Map and, when it keeps the record, gets the
	// computed values with rm.DecodeSub and builds the mapped row
	// (rm.Source, rm.KeepExtra). It returns ErrNotRows, before it reads
	// the record, to have the stream's records mapped as bytes from then
	// on.
	RowRecord(msg *singer.Message, rm *RowMap) error
}

// RowMap maps the records of one input stream to one output stream on
// decoded values. It is used by the goroutine that runs its Mapper.
type RowMap struct {
	// In is the input stream's schema for decoding its records (see the
	// top of this file); Sub the schema of SubRecord.
	In, Sub *singer.Schema

	m     *Mapper
	in    *inputStream
	sm    *streamMap
	cols  map[string]int // a top-level property of In -> its column
	reads []colRef       // the properties expressions read, and their columns
	row   *singer.Row    // the record being mapped
	sub   []byte
	// Computed values whose mapped schema is a plain nullable type
	// (direct) go to the row as they are, without JSON: subCol is the
	// column of Sub of each of the map's props (-1: none).
	direct   []directKind
	subCol   []int
	values   []singer.Value // the direct values of the record
	hashed   []bool         // values[i] holds a hash made in place
	arena    []byte
	asValues bool // the record's computed values are in values (not sub)
	// sources: output property -> how it is made
	sources map[string]Source
}

// Source is how a property of the mapped stream is made.
type Source struct {
	// From is the input property whose value it is ("" for a computed
	// one): the same name for a property passed as it is, another for a
	// copy.
	From string
	// Sub: the property is in SubRecord: a computed property always, a
	// copy when its source is absent from the record.
	Sub bool
}

// Source returns how output property prop is made; ok is false for a
// property the map does not make (a metadata column of the target).
func (rm *RowMap) Source(prop string) (Source, bool) {
	s, ok := rm.sources[prop]
	return s, ok
}

// KeepExtra tells whether a top-level property of a record that its
// schema does not declare (singer.Row.Extra with no Prefix) stays in the
// mapped record.
func (rm *RowMap) KeepExtra(name []byte) bool {
	return !rm.sm.elseDrop && rm.sm.byName[string(name)] == nil
}

// Stream is the input stream's name.
func (rm *RowMap) Stream() string { return rm.in.name }

// SubRecord is the JSON object of the computed properties of the record
// Map last kept.
func (rm *RowMap) SubRecord() []byte { return rm.sub }

// Map evaluates the map's filter and computed properties on a record
// decoded with In. It returns false for a record the filter drops.
// Errors name the input line, the stream, the property and the
// expression, as for records mapped as bytes.
func (rm *RowMap) Map(msg *singer.Message, row *singer.Row) (bool, error) {
	m, sm := rm.m, rm.sm
	m.row, rm.row = rm, row
	defer func() { m.row, rm.row = nil, nil }()
	envReady := false
	if sm.filter != nil {
		v, err := m.eval(sm, rm.in.name, sm.filter, "", &envReady)
		if err != nil {
			return false, m.runError(msg, rm.in, sm, opFilter, sm.filter, err)
		}
		if keep, _ := v.(bool); !keep {
			return false, nil
		}
	}
	// Every expression sees the record as it came: all are evaluated
	// before anything is written (as in record).
	if cap(m.values) < len(sm.props) {
		m.values = make([]any, len(sm.props))
	}
	values := m.values[:len(sm.props)]
	rm.arena = rm.arena[:0]
	for i, pm := range sm.props {
		values[i] = nil
		rm.hashed[i] = false
		if pm.prog == nil {
			continue
		}
		if pm.prog.hashAppend != nil && rm.direct[i] == directString {
			// A hash of a string property: its digits go to the row
			// from where they are written.
			if s, kind := m.lookupString(pm.prog.hashProp); kind == valueString {
				start := len(rm.arena)
				rm.arena = pm.prog.hashAppend(rm.arena, s)
				rm.values[i] = singer.Value{Kind: singer.String, Bytes: rm.arena[start:len(rm.arena):len(rm.arena)]}
				rm.hashed[i] = true
				continue
			}
		}
		v, err := m.eval(sm, rm.in.name, pm.prog, pm.name, &envReady)
		if err != nil {
			return false, m.runError(msg, rm.in, sm, pm.name, pm.prog, err)
		}
		values[i] = v
	}
	// Plain values go to the row as they are, when every one is.
	rm.asValues = true
	for i, pm := range sm.props {
		switch {
		case pm.drop, rm.hashed[i]:
		case pm.copyFrom != "":
			if v := rm.value(pm.copyFrom); v == nil || v.Kind == singer.Absent {
				rm.asValues = false // a null copy, checked by its schema
			}
		case rm.direct[i] == notDirect || !rm.toDirect(rm.direct[i], values[i], &rm.values[i]):
			rm.asValues = false
		}
		if !rm.asValues {
			break
		}
	}
	if rm.asValues {
		return true, nil
	}
	b := append(rm.sub[:0], '{')
	n := 0
	for i, pm := range sm.props {
		switch {
		case pm.drop:
			continue
		case pm.copyFrom != "":
			if v := rm.value(pm.copyFrom); v != nil && v.Kind != singer.Absent {
				continue
			}
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, pm.lit...)
		b = append(b, ':')
		if rm.hashed[i] {
			b = append(b, '"')
			b = append(b, rm.values[i].Bytes...) // hex digits
			b = append(b, '"')
			continue
		}
		var err error
		if b, err = appendValue(b, values[i]); err != nil {
			rm.sub = b
			return false, m.runError(msg, rm.in, sm, pm.name, pm.prog, err)
		}
	}
	rm.sub = append(b, '}')
	return true, nil
}

// colRef is a property and its column in In (-1: none).
type colRef struct {
	name string
	col  int
}

// directKind is the plain nullable type of a computed property's mapped
// schema, whose values need no JSON to be checked.
type directKind uint8

const (
	notDirect directKind = iota
	directString
	directInteger
	directBoolean
)

var directSchemas = map[string]directKind{
	`{"type":["string","null"]}`:  directString,
	`{"type":["integer","null"]}`: directInteger,
	`{"type":["boolean","null"]}`: directBoolean,
}

// value returns the decoded value of a top-level property of In, or nil
// when In has no such column.
func (rm *RowMap) value(prop string) *singer.Value {
	for _, r := range rm.reads {
		if r.name == prop {
			if r.col < 0 {
				return nil
			}
			return &rm.row.Values[r.col]
		}
	}
	if i, ok := rm.cols[prop]; ok && i < len(rm.row.Values) {
		return &rm.row.Values[i]
	}
	return nil
}

// toDirect makes a computed value a Value of its column without JSON;
// false when it is not of the column's plain type.
func (rm *RowMap) toDirect(k directKind, v any, dst *singer.Value) bool {
	switch v := v.(type) {
	case nil:
		*dst = singer.Value{Kind: singer.Null}
		return true
	case string:
		if k != directString || !utf8.ValidString(v) {
			return false
		}
		*dst = singer.Value{Kind: singer.String, Bytes: unsafe.Slice(unsafe.StringData(v), len(v))}
		return true
	case int:
		if k != directInteger {
			return false
		}
		start := len(rm.arena)
		rm.arena = strconv.AppendInt(rm.arena, int64(v), 10)
		*dst = singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: int64(v), Bytes: rm.arena[start:len(rm.arena):len(rm.arena)]}
		return true
	case bool:
		if k != directBoolean {
			return false
		}
		*dst = singer.Value{Kind: singer.Bool, Bool: v}
		return true
	}
	return false
}

// DecodeSub gives the values of the computed properties of the record
// Map last kept, in Sub's columns: as they are when their types are
// plain, else decoded from SubRecord (and validated when validate is
// set).
func (rm *RowMap) DecodeSub(row *singer.Row, validate bool) error {
	if !rm.asValues {
		return rm.Sub.Decode(rm.sub, row, validate)
	}
	n := len(rm.Sub.Plan.Columns)
	if cap(row.Values) < n {
		row.Values = make([]singer.Value, n)
	}
	row.Values = row.Values[:n]
	clear(row.Values)
	row.Extra = row.Extra[:0]
	row.Judged = false
	for i, c := range rm.subCol {
		if c >= 0 && rm.direct[i] != notDirect {
			row.Values[c] = rm.values[i]
		}
	}
	return nil
}

// extra returns the raw JSON of a top-level property the schema does not
// declare, or nil.
func (rm *RowMap) extra(prop string) []byte {
	for _, x := range rm.row.Extra {
		if x.Prefix == "" && string(x.Name) == prop {
			return x.Raw
		}
	}
	return nil
}

// lookup is Mapper.lookup on the row: what decodeValue gives for the
// property's JSON text.
func (rm *RowMap) lookup(prop string) (any, error) {
	v := rm.value(prop)
	if v == nil {
		if r := rm.extra(prop); r != nil {
			return decodeValue(r)
		}
		return nil, nil
	}
	switch v.Kind {
	case singer.String:
		return unsafeString(v.Bytes), nil
	case singer.Number:
		if v.IsInt && v.IntOK && v.Int >= math.MinInt && v.Int <= math.MaxInt {
			return int(v.Int), nil
		}
		return parseNumber(v.Bytes), nil
	case singer.Bool:
		return v.Bool, nil
	case singer.Object, singer.Array:
		return decodeValue(v.Bytes)
	}
	return nil, nil // null or absent
}

// rawValue is Mapper.rawValue on the row.
func (rm *RowMap) rawValue(prop string) (any, error) {
	if v := rm.value(prop); v != nil {
		if v.Kind == singer.Number {
			return rawNumber(v.Bytes), nil
		}
	} else if r := rm.extra(prop); r != nil && (r[0] == '-' || r[0] >= '0' && r[0] <= '9') {
		return rawNumber(r), nil
	}
	return rm.lookup(prop)
}

// rowTopLevel are the members a schema's top level may have for its
// records to be mapped on values: none of them constrains a record's
// properties beyond "properties" and "required".
var rowTopLevel = map[string]bool{
	"type": true, "properties": true, "required": true, "$schema": true, "$id": true,
	"title": true, "description": true, "definitions": true, "$defs": true, "$comment": true,
}

// rowMap makes the RowMap of an input stream whose SCHEMA (msg) was just
// mapped to out, or returns nil when its maps are not for values.
func (m *Mapper) rowMap(msg *singer.Message, out *singer.Message, opts singer.SchemaOptions) *RowMap {
	in := m.streams[msg.Stream]
	if in == nil || len(in.outputs) != 1 || m.flatten != 0 || out == nil {
		return nil
	}
	o := in.outputs[0]
	sm := o.sm
	if sm == nil || o.identity || o.flat != nil || sm.record {
		return nil
	}
	props, top, err := schemaProperties(msg.Schema)
	if err != nil || !hasMember(top, "properties") {
		return nil
	}
	for _, t := range top {
		if !rowTopLevel[t.key] && !(t.key == "additionalProperties" && (string(t.raw) == "true" || string(t.raw) == "{}")) {
			return nil
		}
	}
	outProps, _, err := schemaProperties(out.Schema)
	if err != nil {
		return nil
	}
	rm := &RowMap{m: m, in: in, sm: sm, sources: map[string]Source{}}
	inProp := map[string]bool{}
	for _, p := range props {
		inProp[p.key] = true
	}
	copied := map[string]bool{}
	var subProps []member
	for _, p := range outProps {
		pm := sm.byName[p.key]
		switch {
		case pm == nil:
			if !inProp[p.key] {
				return nil
			}
			rm.sources[p.key] = Source{From: p.key}
		case pm.copyFrom != "":
			if !inProp[pm.copyFrom] {
				return nil // a copy of a property the schema lacks
			}
			copied[pm.copyFrom] = true
			rm.sources[p.key] = Source{From: pm.copyFrom, Sub: true}
			subProps = append(subProps, p)
		default:
			rm.sources[p.key] = Source{Sub: true}
			subProps = append(subProps, p)
		}
	}
	// The input schema for decoding: the schemas of the properties passed
	// or copied, {} for the others; required for those passed.
	relaxed := make([]member, 0, len(props))
	for _, p := range props {
		s, passed := rm.sources[p.key]
		if (passed && s.From == p.key && !s.Sub) || copied[p.key] {
			relaxed = append(relaxed, p)
			continue
		}
		relaxed = append(relaxed, member{key: p.key, raw: []byte("{}")})
	}
	inTop := make([]member, 0, len(top))
	subTop := []member{{key: "type", raw: []byte(`"object"`)}, {key: "properties", raw: appendObject(nil, subProps)}}
	for _, t := range top {
		switch t.key {
		case "properties":
			inTop = append(inTop, member{key: t.key, raw: appendObject(nil, relaxed)})
		case "required":
			var req []string
			if json.Unmarshal(t.raw, &req) != nil {
				return nil
			}
			kept := []string{}
			for _, r := range req {
				if s, ok := rm.sources[r]; ok && s.From == r && !s.Sub {
					kept = append(kept, r)
				}
			}
			b, _ := json.Marshal(kept)
			inTop = append(inTop, member{key: t.key, raw: b})
		case "definitions", "$defs", "$schema":
			inTop = append(inTop, t)
			subTop = append(subTop, t)
		default:
			inTop = append(inTop, t)
		}
	}
	if rm.In, err = singer.CompileSchema(appendObject(nil, inTop), opts); err != nil {
		return nil
	}
	if rm.Sub, err = singer.CompileSchema(appendObject(nil, subTop), opts); err != nil {
		return nil
	}
	rm.cols = map[string]int{}
	for i, c := range rm.In.Plan.Columns {
		if len(c.Path) == 1 {
			rm.cols[c.Path[0]] = i
		}
	}
	// The properties read, found by a comparison of strings that are
	// mostly the same strings (the programs' own).
	read := func(name string) {
		for _, r := range rm.reads {
			if r.name == name {
				return
			}
		}
		col, ok := rm.cols[name]
		if !ok {
			col = -1
		}
		rm.reads = append(rm.reads, colRef{name: name, col: col})
	}
	for _, v := range sm.vars {
		read(v)
	}
	for _, v := range sm.raws {
		read(v)
	}
	rm.direct = make([]directKind, len(sm.props))
	rm.subCol = make([]int, len(sm.props))
	rm.values = make([]singer.Value, len(sm.props))
	rm.hashed = make([]bool, len(sm.props))
	subCols := map[string]int{}
	for i, c := range rm.Sub.Plan.Columns {
		if len(c.Path) == 1 {
			subCols[c.Path[0]] = i
		}
	}
	subSchema := map[string]string{}
	for _, p := range subProps {
		subSchema[p.key] = string(p.raw)
	}
	for i, pm := range sm.props {
		if pm.copyFrom != "" {
			read(pm.copyFrom)
		} else if pm.prog != nil && pm.prog.usesSelf {
			read(pm.name)
		}
		rm.subCol[i] = -1
		if c, ok := subCols[pm.name]; ok {
			rm.subCol[i] = c
			if pm.prog != nil {
				rm.direct[i] = directSchemas[subSchema[pm.name]]
			}
		}
	}
	// A copy's source must be one column: its absence is the copy's null.
	for p := range copied {
		if _, ok := rm.cols[p]; !ok {
			return nil
		}
	}
	return rm
}

// String describes a RowMap for errors.
func (rm *RowMap) String() string {
	return fmt.Sprintf("stream_maps.%s on stream %q", rm.sm.key, rm.in.name)
}
