package singer

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// A Plan is a stream's schema compiled for the hot path: it walks a RECORD's
// bytes once, checks each value against the keywords it implements, and
// yields one typed Value per column. Its verdict is one-sided: "valid" is
// final, anything else ("I cannot vouch for this record") sends the record to
// the judge (jsonschema/v5). The plan never rejects a record by itself, so it
// can only make validation faster, never stricter or looser.
type Plan struct {
	Columns []Column
	root    *node
}

// Column is one value a plan yields per record: a top-level property, or a
// nested property when objects are flattened.
type Column struct {
	Name   string         // the property name; flattened names are joined by the separator
	Path   []string       // the property path from the record's root
	Schema map[string]any // the property's schema, numbers as json.Number
	Raw    []byte         // the property's schema as written
}

// ValueKind is the JSON kind of a Value.
type ValueKind uint8

// Value kinds. Absent means the property was not in the record.
const (
	Absent ValueKind = iota
	Null
	Bool
	Number
	String
	Object
	Array
)

// Value is a property's value in a record.
type Value struct {
	Kind    ValueKind
	IsInt   bool // Number without fraction or exponent
	IntOK   bool // Int holds the number (it fits an int64)
	Bool    bool
	HasTime bool // Time holds a parsed date-time or date
	Int     int64
	// Bytes is the number's exact text, the string's unescaped content, or an
	// object's or array's raw JSON. It points into the input line or the
	// row's arena: valid until the next decode into the same Row.
	Bytes []byte
	Time  time.Time
}

// Row receives a record's values. Reuse one Row per stream.
type Row struct {
	Values []Value
	// Extra holds the record's properties that the schema does not
	// declare (at the top level, or inside an object flattened into
	// columns), in record order: a target keeps them by its own rule.
	Extra  []ExtraProperty
	Judged bool // the plan could not decide and the judge was asked
	arena  []byte
	// bits: the present-property bits of the objects being walked that
	// declare more than 64 properties (a stack: see walkObject).
	bits []uint64
}

// ExtraProperty is a property of a record that its schema does not
// declare. Name and Raw are valid until the next decode into the same Row.
type ExtraProperty struct {
	Prefix string // the flattened name of the enclosing object and the separator; "" at the top level
	Name   []byte // the property name, unescaped
	Raw    []byte // the value's JSON text as in the record
}

type typeMask uint8

const (
	tNull typeMask = 1 << iota
	tBool
	tInteger
	tNumber
	tString
	tObject
	tArray
)

var typeByName = map[string]typeMask{
	"null": tNull, "boolean": tBool, "integer": tInteger, "number": tNumber,
	"string": tString, "object": tObject, "array": tArray,
}

type formatKind uint8

const (
	fmtNone formatKind = iota
	fmtDateTime
	fmtDate
	fmtTime
	fmtDecimal
	fmtDefer // a format the judge checks and the plan does not
)

// deferredKeywords are assertions the plan does not implement: a value under
// a schema with any of them goes to the judge.
var deferredKeywords = map[string]bool{
	"$ref": true, "$recursiveRef": true, "$dynamicRef": true, "not": true, "oneOf": true,
	"if": true, "then": true, "else": true, "const": true, "pattern": true,
	"patternProperties": true, "dependencies": true, "dependentRequired": true,
	"dependentSchemas": true, "propertyNames": true, "minProperties": true,
	"maxProperties": true, "uniqueItems": true, "contains": true, "minContains": true,
	"maxContains": true, "unevaluatedProperties": true, "unevaluatedItems": true,
	"prefixItems": true, "contentEncoding": true, "contentMediaType": true,
	"contentSchema": true, "$recursiveAnchor": true, "$dynamicAnchor": true,
}

type node struct {
	deferAll bool // the plan decides nothing here
	anything bool // every value is valid (true, {})
	types    typeMask
	format   formatKind

	hasEnum  bool
	enumNull bool
	enumStr  [][]byte

	minLen, maxLen int

	min, max       []byte
	exclMin        bool
	exclMax        bool
	exclMinN       []byte // draft 6+ numeric forms
	exclMaxN       []byte
	multScale      int // multipleOf 10^-k: k; -1 when absent
	multDeferFlags bool
	bounds         []bound // min, max, exclMinN, exclMaxN, parsed once
	intBounds      bool    // every bound is an int64: integers compare as int64

	props    map[string]*prop
	propList []*prop
	// extraPrefix names the undeclared properties of an object flattened
	// into columns (Row.Extra).
	extraPrefix string
	reqMask     uint64
	addFalse    bool
	addNode     *node

	items              *node
	minItems, maxItems int

	anyOf, allOf []*node
}

// bound is a numeric limit: the value must compare above (lower) or below
// it, strictly when excl.
type bound struct {
	d     decView
	i     int64
	iok   bool
	lower bool
	excl  bool
}

func (b *bound) okDec(v *decView) bool {
	c := cmpDec(v, &b.d)
	if b.lower {
		return c > 0 || (c == 0 && !b.excl)
	}
	return c < 0 || (c == 0 && !b.excl)
}

func (b *bound) okInt(v int64) bool {
	if b.lower {
		return v > b.i || (v == b.i && !b.excl)
	}
	return v < b.i || (v == b.i && !b.excl)
}

type prop struct {
	name    string
	plain   string // name when plainKey(name), else ""
	idx     int
	node    *node
	reqBit  uint64
	col     int  // column index, -1 when none
	flatten bool // an object whose properties are columns of their own
	timeFmt formatKind
	raw     []byte
}

// compilePlanRaw compiles a plan from the schema's bytes (property order
// comes from them).
func compilePlanRaw(raw []byte, flattenDepth int, sep string) *Plan {
	p := &Plan{root: compileNode(raw)}
	p.assignColumns(p.root, nil, flattenDepth, sep)
	return p
}

func (p *Plan) assignColumns(n *node, path []string, depthLeft int, sep string) {
	for _, pr := range n.propList {
		full := append(append([]string(nil), path...), pr.name)
		if depthLeft > 0 && flattenable(pr.node) {
			pr.flatten = true
			pr.node.extraPrefix = strings.Join(full, sep) + sep
			p.assignColumns(pr.node, full, depthLeft-1, sep)
			continue
		}
		pr.col = len(p.Columns)
		doc, _ := decodeJSONDoc(pr.raw)
		m, _ := doc.(map[string]any)
		name := full[0]
		for _, s := range full[1:] {
			name += sep + s
		}
		p.Columns = append(p.Columns, Column{Name: name, Path: full, Schema: m, Raw: pr.raw})
		pr.timeFmt = timeFormatOf(pr.node)
	}
}

// flattenable: an object with properties and no combinators, so that its
// properties can stand as columns of their own.
func flattenable(n *node) bool {
	return n != nil && !n.deferAll && len(n.propList) > 0 && n.types&tObject != 0 &&
		n.types&^(tObject|tNull) == 0 && len(n.anyOf) == 0 && len(n.allOf) == 0
}

// timeFormatOf finds the date-time or date format of a property, looking
// through anyOf branches (the usual nullable-timestamp pattern).
func timeFormatOf(n *node) formatKind {
	if n == nil {
		return fmtNone
	}
	if n.format == fmtDateTime || n.format == fmtDate {
		return n.format
	}
	for _, b := range n.anyOf {
		if f := timeFormatOf(b); f != fmtNone {
			return f
		}
	}
	return fmtNone
}

func rawString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	return string(unquoteRaw(raw)), true
}

func rawInt(raw []byte) (int, bool) {
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		// 5.0 is an integer for the judge, and rare: leave it to the judge.
		return 0, false
	}
	return n, n >= 0
}

func isNumberRaw(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

func compileNode(raw []byte) *node {
	n := &node{minLen: -1, maxLen: -1, multScale: -1, minItems: -1, maxItems: -1}
	switch {
	case string(raw) == "true":
		n.anything = true
		return n
	case len(raw) == 0 || raw[0] != '{':
		n.deferAll = true
		return n
	}
	var it objectIter
	it.start(raw, 0)
	var required [][]byte
	for {
		key, esc, _, ok := it.next()
		if !ok {
			break
		}
		if esc {
			key = appendUnescaped(nil, key)
		}
		v := it.skip()
		k := string(key)
		switch {
		case deferredKeywords[k]:
			n.deferAll = true
		case k == "type":
			if s, ok := rawString(v); ok {
				t, known := typeByName[s]
				n.types |= t
				n.deferAll = n.deferAll || !known
			} else if v[0] == '[' {
				var names []string
				names, _ = appendStringArray(names, v)
				for _, s := range names {
					t, known := typeByName[s]
					n.types |= t
					n.deferAll = n.deferAll || !known
				}
				if len(names) == 0 {
					n.deferAll = true
				}
			} else {
				n.deferAll = true
			}
		case k == "format":
			s, _ := rawString(v)
			switch s {
			case "date-time":
				n.format = fmtDateTime
			case "date":
				n.format = fmtDate
			case "time":
				n.format = fmtTime
			case "singer.decimal", "x-singer.decimal":
				n.format = fmtDecimal
			default:
				if _, checked := jsonschema.Formats[s]; checked {
					n.format = fmtDefer
				}
			}
		case k == "enum":
			n.hasEnum = true
			if v[0] != '[' {
				n.deferAll = true
				break
			}
			i := skipWS(v, 1)
			for i < len(v) && v[i] != ']' {
				end, _ := skipValue(v, i)
				item := v[i:end]
				switch {
				case isNull(item):
					n.enumNull = true
				case item[0] == '"':
					n.enumStr = append(n.enumStr, unquoteRaw(item))
				default:
					n.deferAll = true
				}
				i = skipWS(v, end)
				if i < len(v) && v[i] == ',' {
					i = skipWS(v, i+1)
				}
			}
		case k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems":
			x, ok := rawInt(v)
			if !ok {
				n.deferAll = true
			}
			switch k {
			case "minLength":
				n.minLen = x
			case "maxLength":
				n.maxLen = x
			case "minItems":
				n.minItems = x
			case "maxItems":
				n.maxItems = x
			}
		case k == "minimum" || k == "maximum":
			if !isNumberRaw(v) {
				n.deferAll = true
			} else if k == "minimum" {
				n.min = v
			} else {
				n.max = v
			}
		case k == "exclusiveMinimum" || k == "exclusiveMaximum":
			switch {
			case string(v) == "true" || string(v) == "false":
				if k == "exclusiveMinimum" {
					n.exclMin = string(v) == "true"
				} else {
					n.exclMax = string(v) == "true"
				}
			case isNumberRaw(v):
				if k == "exclusiveMinimum" {
					n.exclMinN = v
				} else {
					n.exclMaxN = v
				}
			default:
				n.deferAll = true
			}
		case k == "multipleOf":
			d, ok := parseDecView(v)
			if ok && !d.zero && !d.neg && d.last-d.first == 1 && d.digitAt(d.first) == '1' && d.point <= 1 {
				n.multScale = 1 - d.point
			} else {
				n.multDeferFlags = true
			}
		case k == "properties":
			if v[0] != '{' {
				n.deferAll = true
				break
			}
			n.props = make(map[string]*prop)
			var pi objectIter
			pi.start(v, 0)
			for {
				pk, pesc, _, ok := pi.next()
				if !ok {
					break
				}
				if pesc {
					pk = appendUnescaped(nil, pk)
				}
				pv := pi.skip()
				name := string(pk)
				if old, dup := n.props[name]; dup {
					old.node, old.raw = compileNode(pv), pv
					continue
				}
				pr := &prop{name: name, idx: len(n.propList), node: compileNode(pv), col: -1, raw: pv}
				if plainKey(name) {
					pr.plain = name
				}
				n.props[name] = pr
				n.propList = append(n.propList, pr)
			}
		case k == "required":
			if v[0] != '[' {
				n.deferAll = true
				break
			}
			var names []string
			names, _ = appendStringArray(names, v)
			for _, s := range names {
				required = append(required, []byte(s))
			}
		case k == "additionalProperties":
			switch {
			case string(v) == "false":
				n.addFalse = true
			case string(v) == "true":
			default:
				n.addNode = compileNode(v)
			}
		case k == "items":
			if v[0] == '[' {
				n.deferAll = true // tuple validation
			} else {
				n.items = compileNode(v)
			}
		case k == "anyOf" || k == "allOf":
			if v[0] != '[' {
				n.deferAll = true
				break
			}
			var list []*node
			i := skipWS(v, 1)
			for i < len(v) && v[i] != ']' {
				end, _ := skipValue(v, i)
				list = append(list, compileNode(v[i:end]))
				i = skipWS(v, end)
				if i < len(v) && v[i] == ',' {
					i = skipWS(v, i+1)
				}
			}
			if len(list) == 0 {
				n.deferAll = true
			}
			if k == "anyOf" {
				n.anyOf = list
			} else {
				n.allOf = list
			}
		}
	}
	if it.err != nil {
		n.deferAll = true
	}
	n.intBounds = true
	for _, b := range []struct {
		raw         []byte
		lower, excl bool
	}{{n.min, true, n.exclMin}, {n.max, false, n.exclMax}, {n.exclMinN, true, true}, {n.exclMaxN, false, true}} {
		if b.raw == nil {
			continue
		}
		d, ok := parseDecView(b.raw)
		if !ok {
			n.deferAll = true
			continue
		}
		bd := bound{d: d, lower: b.lower, excl: b.excl}
		if i, err := strconv.ParseInt(string(b.raw), 10, 64); err == nil {
			bd.i, bd.iok = i, true
		} else {
			n.intBounds = false
		}
		n.bounds = append(n.bounds, bd)
	}
	// Required properties get a bit each; more than 64 is left to the judge.
	for _, r := range required {
		name := string(r)
		pr, ok := n.props[name]
		if !ok {
			if n.props == nil {
				n.props = make(map[string]*prop)
			}
			pr = &prop{name: name, idx: len(n.propList), node: &node{anything: true}, col: -1, raw: []byte("{}")}
			n.props[name] = pr
			n.propList = append(n.propList, pr)
		}
		if pr.reqBit == 0 {
			bit := uint64(1) << uint(popcount(n.reqMask))
			if popcount(n.reqMask) >= 64 {
				n.deferAll = true
				break
			}
			pr.reqBit = bit
			n.reqMask |= bit
		}
	}
	return n
}

func popcount(x uint64) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

// Decode parses the record object into row and reports whether the plan
// vouches for its validity. err is a JSON syntax error.
func (p *Plan) Decode(rec []byte, row *Row) (valid bool, err error) {
	end, valid, err := p.decodePrefix(rec, row)
	if err != nil {
		return false, err
	}
	if rest := skipWS(rec, end); rest != len(rec) {
		return false, syntaxErr(rest, "unexpected data after the record")
	}
	return valid, nil
}

// decodePrefix decodes the object at the start of rec and returns its end.
func (p *Plan) decodePrefix(rec []byte, row *Row) (end int, valid bool, err error) {
	if cap(row.Values) < len(p.Columns) {
		row.Values = make([]Value, len(p.Columns))
	}
	row.Values = row.Values[:len(p.Columns)]
	clear(row.Values)
	row.Extra = row.Extra[:0]
	row.arena = row.arena[:0]
	row.bits = row.bits[:0]
	row.Judged = false
	i := skipWS(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return 0, false, syntaxErr(i, "a record must be a JSON object")
	}
	end, valid, err = p.walkObject(p.root, rec, i, row, true, 0)
	if err != nil {
		return 0, false, err
	}
	if valid {
		valid = p.combinatorsValid(p.root, rec, i, row, 0)
	}
	return end, valid, nil
}

func (p *Plan) combinatorsValid(n *node, b []byte, i int, row *Row, depth int) bool {
	for _, br := range n.allOf {
		if _, ok, err := p.check(br, b, i, row, depth+1); err != nil || !ok {
			return false
		}
	}
	if len(n.anyOf) == 0 {
		return true
	}
	for _, br := range n.anyOf {
		if _, ok, err := p.check(br, b, i, row, depth+1); err == nil && ok {
			return true
		}
	}
	return false
}

// walkObject checks an object value against n, and with extract set, fills
// the row's columns for n's properties.
func (p *Plan) walkObject(n *node, b []byte, i int, row *Row, extract bool, depth int) (end int, valid bool, err error) {
	if depth >= maxNesting {
		return 0, false, syntaxErr(i, "nesting deeper than %d", maxNesting)
	}
	valid = !n.deferAll && (n.types == 0 || n.types&tObject != 0) && !n.hasEnum
	var it objectIter
	it.start(b, i)
	// present has a bit per property (the first 64) met in this object;
	// other keys go to others. A key met twice is an error.
	var seen, present uint64
	var others keySet
	// more: a bit per property from the 65th on, on row.bits' stack (an
	// object of a wide schema checks its keys for repeats without a map).
	var more []uint64
	if len(n.propList) > 64 {
		mark := len(row.bits)
		row.bits = append(row.bits, make([]uint64, (len(n.propList)-1)/64)...)
		more = row.bits[mark:]
		defer func() { row.bits = row.bits[:mark] }()
	}
	hint := 0
	for {
		it.expect = ""
		if hint < len(n.propList) {
			it.expect = n.propList[hint].plain
		}
		key, esc, off, ok := it.next()
		if !ok {
			break
		}
		var pr *prop
		if hint < len(n.propList) && !esc && string(key) == n.propList[hint].name {
			pr = n.propList[hint]
		} else if n.props != nil {
			if esc {
				mark := len(row.arena)
				row.arena = appendUnescaped(row.arena, key)
				pr = n.props[string(row.arena[mark:])]
				row.arena = row.arena[:mark]
			} else {
				pr = n.props[string(key)]
			}
		}
		switch {
		case pr == nil || pr.idx >= 64 && more == nil:
			if others.add(b, it.keyOff, it.keyOff+len(key)+2, esc) {
				return 0, false, duplicateKey(b, it.keyOff, it.keyOff+len(key)+2, esc)
			}
		case pr.idx < 64:
			bit := uint64(1) << uint(pr.idx)
			if present&bit != 0 {
				return 0, false, duplicateKey(b, it.keyOff, it.keyOff+len(key)+2, esc)
			}
			present |= bit
		default:
			w, bit := (pr.idx-64)/64, uint64(1)<<uint((pr.idx-64)%64)
			if more[w]&bit != 0 {
				return 0, false, duplicateKey(b, it.keyOff, it.keyOff+len(key)+2, esc)
			}
			more[w] |= bit
		}
		if pr == nil {
			var v bool
			switch {
			case n.addFalse:
				end, err = skipValue(b, off)
			case n.addNode != nil:
				end, v, err = p.check(n.addNode, b, off, row, depth+1)
				valid = valid && v
			default:
				end, err = skipValue(b, off)
			}
			if err != nil {
				return 0, false, err
			}
			if n.addFalse {
				valid = false
			}
			if extract {
				name := key
				if esc {
					mark := len(row.arena)
					row.arena = appendUnescaped(row.arena, key)
					name = row.arena[mark:len(row.arena):len(row.arena)]
				}
				row.Extra = append(row.Extra, ExtraProperty{Prefix: n.extraPrefix, Name: name, Raw: b[off:end]})
			}
			it.i = end
			continue
		}
		hint = pr.idx + 1
		seen |= pr.reqBit
		var v bool
		if extract && pr.flatten && b[off] == '{' {
			end, v, err = p.walkObject(pr.node, b, off, row, true, depth+1)
			if err == nil && v {
				v = p.combinatorsValid(pr.node, b, off, row, depth+1)
			}
		} else if extract && pr.col >= 0 && b[off] == '"' && pr.node.simple() {
			end, v, err = p.stringColumn(pr.node, b, off, &row.Values[pr.col], row)
		} else if extract && pr.col >= 0 && (b[off] == '-' || (b[off] >= '0' && b[off] <= '9')) && pr.node.simple() {
			end, v, err = numberColumn(pr.node, b, off, &row.Values[pr.col])
		} else {
			end, v, err = p.check(pr.node, b, off, row, depth+1)
			if err == nil && extract && pr.col >= 0 {
				p.extract(&row.Values[pr.col], b[off:end], pr.timeFmt, row)
			}
		}
		if err != nil {
			return 0, false, err
		}
		valid = valid && v
		it.i = end
	}
	if it.err != nil {
		return 0, false, it.err
	}
	if seen&n.reqMask != n.reqMask {
		valid = false
	}
	return it.i, valid, nil
}

// check checks the value at b[i] against n without extracting anything.
func (p *Plan) check(n *node, b []byte, i int, row *Row, depth int) (end int, valid bool, err error) {
	if n.anything {
		end, err = skipValue(b, i)
		return end, err == nil, err
	}
	if n.deferAll {
		end, err = skipValue(b, i)
		return end, false, err
	}
	if i >= len(b) {
		return 0, false, syntaxErr(i, "unexpected end of input")
	}
	var t typeMask
	switch c := b[i]; {
	case c == '{':
		t = tObject
		end, valid, err = p.walkObject(n, b, i, row, false, depth)
	case c == '[':
		t = tArray
		end, valid, err = p.checkArray(n, b, i, row, depth)
	case c == '"':
		t = tString
		end, valid, err = p.checkString(n, b, i, row)
	case c == 't':
		t = tBool
		end, err = scanLiteral(b, i, "true")
		valid = !n.hasEnum
	case c == 'f':
		t = tBool
		end, err = scanLiteral(b, i, "false")
		valid = !n.hasEnum
	case c == 'n':
		t = tNull
		end, err = scanLiteral(b, i, "null")
		valid = !n.hasEnum || n.enumNull
	default:
		t = tNumber
		var isInt bool
		end, isInt, err = scanNumber(b, i)
		if err == nil {
			if isInt {
				t = tInteger
			} else if n.types&tInteger != 0 && n.types&tNumber == 0 {
				// 1.0 and 1e2 are integers for JSON Schema.
				if d, ok := parseDecView(b[i:end]); ok && d.fractionDigits() == 0 {
					t = tInteger
				}
			}
			valid = !n.hasEnum && n.numberValid(b[i:end], isInt)
		}
	}
	if err != nil {
		return 0, false, err
	}
	if n.types != 0 {
		ok := n.types&t != 0
		if t == tInteger && n.types&(tInteger|tNumber) != 0 {
			ok = true
		}
		valid = valid && ok
	}
	if valid && (len(n.anyOf) > 0 || len(n.allOf) > 0) {
		valid = p.combinatorsValid(n, b, i, row, depth)
	}
	return end, valid, nil
}

func (n *node) numberValid(num []byte, isInt bool) bool {
	if n.multDeferFlags {
		return false
	}
	if len(n.bounds) == 0 && n.multScale < 0 {
		return true
	}
	if isInt && n.intBounds && len(num) <= 19 {
		// Integers within int64 against int64 bounds: no decimal compare.
		v, ok := parseInt64(num)
		if ok {
			for i := range n.bounds {
				if !n.bounds[i].okInt(v) {
					return false
				}
			}
			return true // an integer is a multiple of any 10^-k
		}
	}
	v, ok := parseDecView(num)
	if !ok {
		return false
	}
	for i := range n.bounds {
		if !n.bounds[i].okDec(&v) {
			return false
		}
	}
	if n.multScale >= 0 && v.fractionDigits() > n.multScale {
		return false
	}
	return true
}

func (p *Plan) checkString(n *node, b []byte, i int, row *Row) (end int, valid bool, err error) {
	end, esc, err := scanString(b, i)
	if err != nil {
		return 0, false, err
	}
	if n.format == fmtNone && !n.hasEnum && n.minLen < 0 && n.maxLen < 0 {
		return end, true, nil
	}
	s := b[i+1 : end-1]
	mark := len(row.arena)
	if esc {
		row.arena = appendUnescaped(row.arena, s)
		s = row.arena[mark:]
	}
	valid = stringValid(n, s)
	row.arena = row.arena[:mark]
	return end, valid, nil
}

// simpleString: a schema whose string values stringColumn can check and
// extract in one pass.
func (n *node) simple() bool {
	return !n.deferAll && !n.anything && len(n.anyOf) == 0 && len(n.allOf) == 0
}

// stringColumn scans, checks and extracts a string column value at once:
// one scan, one unescape, one date-time parse.
func (p *Plan) stringColumn(n *node, b []byte, i int, dst *Value, row *Row) (end int, valid bool, err error) {
	end, esc, err := scanString(b, i)
	if err != nil {
		return 0, false, err
	}
	body := b[i+1 : end-1]
	if esc {
		mark := len(row.arena)
		row.arena = appendUnescaped(row.arena, body)
		body = row.arena[mark:len(row.arena):len(row.arena)]
	}
	*dst = Value{Kind: String, Bytes: body}
	valid = n.types == 0 || n.types&tString != 0
	switch n.format {
	case fmtDateTime:
		dst.Time, dst.HasTime = parseDateTime(body)
		valid = valid && dst.HasTime
	case fmtDate:
		dst.Time, dst.HasTime = parseDateOnly(body)
		valid = valid && dst.HasTime
	default:
		valid = valid && stringValid(n, body)
		return end, valid, nil
	}
	if n.hasEnum || n.minLen >= 0 || n.maxLen >= 0 {
		valid = valid && stringRulesValid(n, body)
	}
	return end, valid, nil
}

// numberColumn scans, checks and extracts a number column value at once.
func numberColumn(n *node, b []byte, i int, dst *Value) (end int, valid bool, err error) {
	end, isInt, err := scanNumber(b, i)
	if err != nil {
		return 0, false, err
	}
	num := b[i:end]
	*dst = Value{Kind: Number, Bytes: num, IsInt: isInt}
	if isInt {
		dst.Int, dst.IntOK = parseInt64(num)
	}
	switch {
	case n.hasEnum:
		valid = false
	case n.types == 0 || n.types&tNumber != 0:
		valid = true
	case n.types&tInteger != 0:
		valid = isInt
		if !isInt {
			// 1.0 and 1e2 are integers for JSON Schema.
			d, ok := parseDecView(num)
			valid = ok && d.fractionDigits() == 0
		}
	}
	return end, valid && n.numberValid(num, isInt), nil
}

func stringValid(n *node, s []byte) bool {
	switch n.format {
	case fmtDateTime:
		if _, ok := parseDateTime(s); !ok {
			return false
		}
	case fmtDate:
		if _, _, _, ok := parseDate(s); !ok {
			return false
		}
	case fmtTime:
		if !parsePartialTime(s) {
			return false
		}
	case fmtDecimal:
		if !IsDecimalText(s) {
			return false
		}
	case fmtDefer:
		return false
	}
	return stringRulesValid(n, s)
}

// stringRulesValid checks enum and lengths.
func stringRulesValid(n *node, s []byte) bool {
	if n.hasEnum {
		found := false
		for _, e := range n.enumStr {
			if bytes.Equal(e, s) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if (n.minLen >= 0 && len(s) < n.minLen*utf8.UTFMax) || (n.maxLen >= 0 && len(s) > n.maxLen) {
		// Bytes bound runes: count only when the byte length cannot tell.
		l := utf8.RuneCount(s)
		if (n.minLen >= 0 && l < n.minLen) || (n.maxLen >= 0 && l > n.maxLen) {
			return false
		}
	}
	return true
}

func (p *Plan) checkArray(n *node, b []byte, i int, row *Row, depth int) (end int, valid bool, err error) {
	if depth >= maxNesting {
		return 0, false, syntaxErr(i, "nesting deeper than %d", maxNesting)
	}
	valid = !n.hasEnum
	count := 0
	j := skipWS(b, i+1)
	if j < len(b) && b[j] == ']' {
		end = j + 1
	} else {
		for {
			var v bool
			if n.items != nil {
				j, v, err = p.check(n.items, b, j, row, depth+1)
			} else {
				j, err = skipValue(b, j)
				v = true
			}
			if err != nil {
				return 0, false, err
			}
			valid = valid && v
			count++
			j = skipWS(b, j)
			if j >= len(b) {
				return 0, false, syntaxErr(j, "unexpected end of input in an array (truncated line?)")
			}
			if b[j] == ']' {
				end = j + 1
				break
			}
			if b[j] != ',' {
				return 0, false, syntaxErr(j, "invalid character %q after an array element", b[j])
			}
			j = skipWS(b, j+1)
		}
	}
	if (n.minItems >= 0 && count < n.minItems) || (n.maxItems >= 0 && count > n.maxItems) {
		valid = false
	}
	return end, valid, nil
}

// extract stores the raw value v (checked already) in dst.
func (p *Plan) extract(dst *Value, v []byte, timeFmt formatKind, row *Row) {
	switch c := v[0]; {
	case c == '"':
		body := v[1 : len(v)-1]
		if bytes.IndexByte(body, '\\') >= 0 {
			mark := len(row.arena)
			row.arena = appendUnescaped(row.arena, body)
			body = row.arena[mark:len(row.arena):len(row.arena)]
		}
		*dst = Value{Kind: String, Bytes: body}
		switch timeFmt {
		case fmtDateTime:
			dst.Time, dst.HasTime = parseDateTime(body)
		case fmtDate:
			dst.Time, dst.HasTime = parseDateOnly(body)
		}
	case c == '{':
		*dst = Value{Kind: Object, Bytes: v}
	case c == '[':
		*dst = Value{Kind: Array, Bytes: v}
	case c == 't':
		*dst = Value{Kind: Bool, Bool: true}
	case c == 'f':
		*dst = Value{Kind: Bool}
	case c == 'n':
		*dst = Value{Kind: Null}
	default:
		*dst = Value{Kind: Number, Bytes: v, IsInt: true}
		for _, c := range v {
			if c == '.' || c == 'e' || c == 'E' {
				dst.IsInt = false
				break
			}
		}
		if dst.IsInt {
			dst.Int, dst.IntOK = parseInt64(v)
		}
	}
}

// parseInt64 parses an integer literal; ok is false when it overflows.
func parseInt64(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 18 {
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			if neg && string(b) == "9223372036854775808" {
				return -1 << 63, true
			}
			return 0, false
		}
		if neg {
			v = -v
		}
		return v, true
	}
	var v int64
	for _, c := range b {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
