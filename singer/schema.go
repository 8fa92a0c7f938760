package singer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Schema is a stream's compiled JSON schema: jsonschema/v5 as the judge of
// validity and a Plan that decodes and validates records in one pass over
// their bytes, asking the judge only about what it cannot decide.
type Schema struct {
	Raw  []byte         // the schema as received
	Doc  map[string]any // decoded with json.Number for numbers
	Plan *Plan

	judge *jsonschema.Schema
}

// SchemaOptions shape the plan compiled from a schema.
type SchemaOptions struct {
	// FlattenDepth is how many levels of nested objects become columns of
	// their own (a__b). 0 keeps objects whole.
	FlattenDepth int
	// Separator joins flattened names; "__" when empty.
	Separator string
}

// SchemaError is a schema that cannot be compiled.
type SchemaError struct {
	Msg string
}

func (e *SchemaError) Error() string { return e.Msg }

// multipleOfKeyword replaces "multipleOf" before the judge compiles a schema,
// so that the toolkit's float-noise tolerant rule applies (see
// multipleOfTolerant).
const multipleOfKeyword = "x-singerkit-multipleOf"

// CompileSchema compiles a stream's schema. A schema without "$schema" is
// read as draft 4, as Singer taps write them.
func CompileSchema(raw []byte, opts SchemaOptions) (*Schema, error) {
	// The plan keeps slices of the schema (bounds, enums, column schemas);
	// callers pass the decoder's buffer, which the next line overwrites.
	raw = bytes.Clone(raw)
	doc, err := decodeJSONDoc(raw)
	if err != nil {
		return nil, &SchemaError{Msg: fmt.Sprintf("schema is not valid JSON: %v", err)}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, &SchemaError{Msg: "schema must be a JSON object"}
	}
	judged := renameMultipleOf(m)
	judgedRaw, err := json.Marshal(judged)
	if err != nil {
		return nil, &SchemaError{Msg: fmt.Sprintf("schema cannot be encoded: %v", err)}
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft4
	c.AssertFormat = true
	c.Formats["time"] = isTimeFormat
	c.Formats["singer.decimal"] = isDecimalFormat
	c.Formats["x-singer.decimal"] = isDecimalFormat
	c.RegisterExtension("singerkit-multipleOf", multipleOfMeta, multipleOfCompiler{})
	// The judge must never load anything from the network or disk.
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema references %q: external $ref is not supported", s)
	}
	if err := c.AddResource("stream.json", bytes.NewReader(judgedRaw)); err != nil {
		return nil, &SchemaError{Msg: fmt.Sprintf("invalid schema: %v", err)}
	}
	judge, err := c.Compile("stream.json")
	if err != nil {
		return nil, &SchemaError{Msg: "invalid schema: " + schemaCompileMessage(err)}
	}
	sep := opts.Separator
	if sep == "" {
		sep = "__"
	}
	plan := compilePlanRaw(raw, opts.FlattenDepth, sep)
	return &Schema{Raw: raw, Doc: m, Plan: plan, judge: judge}, nil
}

func schemaCompileMessage(err error) string {
	var se *jsonschema.SchemaError
	if errors.As(err, &se) {
		var ve *jsonschema.ValidationError
		if errors.As(se.Err, &ve) {
			return leafMessages(ve, "")
		}
		return strings.ReplaceAll(se.Err.Error(), "\n", "; ")
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func decodeJSONDoc(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the schema")
	}
	return v, nil
}

// isTimeFormat accepts RFC 3339 full-time (what jsonschema/v5 checks) and
// partial-time without a zone offset ("12:30:00"), which taps write for SQL
// time columns.
func isTimeFormat(v any) bool {
	s, ok := v.(string)
	if !ok {
		return true
	}
	return jsonschema.Formats["time"](s) || parsePartialTime([]byte(s))
}

func isDecimalFormat(v any) bool {
	s, ok := v.(string)
	if !ok {
		return true
	}
	return IsDecimalText([]byte(s))
}

// schemaValuedKeys are keywords whose value is a schema, a list of schemas or
// a map of schemas: where renameMultipleOf must descend.
var (
	schemaValued     = []string{"additionalProperties", "items", "additionalItems", "not", "contains", "propertyNames", "if", "then", "else", "unevaluatedProperties", "unevaluatedItems", "contentSchema"}
	schemaListValued = []string{"allOf", "anyOf", "oneOf", "items", "prefixItems"}
	schemaMapValued  = []string{"properties", "patternProperties", "definitions", "$defs", "dependencies", "dependentSchemas"}
)

// renameMultipleOf returns a copy of a schema with every multipleOf keyword
// renamed for the tolerant extension. Only schema positions are touched: a
// property called "multipleOf" keeps its name.
func renameMultipleOf(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	if v, ok := out["multipleOf"]; ok {
		delete(out, "multipleOf")
		out[multipleOfKeyword] = v
	}
	for _, k := range schemaValued {
		if v, ok := out[k]; ok {
			if _, isList := v.([]any); !isList {
				out[k] = renameMultipleOf(v)
			}
		}
	}
	for _, k := range schemaListValued {
		if l, ok := out[k].([]any); ok {
			nl := make([]any, len(l))
			for i, v := range l {
				nl[i] = renameMultipleOf(v)
			}
			out[k] = nl
		}
	}
	for _, k := range schemaMapValued {
		if mm, ok := out[k].(map[string]any); ok {
			nm := make(map[string]any, len(mm))
			for name, v := range mm {
				nm[name] = renameMultipleOf(v)
			}
			out[k] = nm
		}
	}
	return out
}

var multipleOfMeta = jsonschema.MustCompileString("singerkit-multipleOf.json", `{
	"properties": {"`+multipleOfKeyword+`": {"type": "number", "exclusiveMinimum": 0}}
}`)

type multipleOfCompiler struct{}

func (multipleOfCompiler) Compile(_ jsonschema.CompilerContext, m map[string]any) (jsonschema.ExtSchema, error) {
	v, ok := m[multipleOfKeyword]
	if !ok {
		return nil, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("multipleOf must be a number")
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || r.Sign() <= 0 {
		return nil, fmt.Errorf("multipleOf must be a number greater than 0")
	}
	return multipleOfSchema{r: r, text: string(n)}, nil
}

type multipleOfSchema struct {
	r    *big.Rat
	text string
}

func (s multipleOfSchema) Validate(ctx jsonschema.ValidationContext, v any) error {
	n, ok := v.(json.Number)
	if !ok {
		return nil
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || multipleOfTolerant(r, s.r) {
		return nil
	}
	return ctx.Error("multipleOf", "%s is not a multiple of %s", n, s.text)
}

// ValidationError is a record that does not match its schema.
type ValidationError struct {
	Msg string // one line: "/path: message; /other: message"
}

func (e *ValidationError) Error() string { return e.Msg }

// leafMessages renders the innermost causes of a v5 error on one line.
func leafMessages(ve *jsonschema.ValidationError, _ string) string {
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := e.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			parts = append(parts, loc+": "+e.Message)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	const maxParts = 5
	if len(parts) > maxParts {
		parts = append(parts[:maxParts], fmt.Sprintf("and %d more", len(parts)-maxParts))
	}
	return strings.Join(parts, "; ")
}

// Judge validates an already decoded record (numbers as json.Number) with
// jsonschema/v5.
func (s *Schema) Judge(doc any) error {
	if err := s.judge.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return &ValidationError{Msg: leafMessages(ve, "")}
		}
		return &ValidationError{Msg: err.Error()}
	}
	return nil
}

// JudgeRaw decodes a record and validates it with jsonschema/v5 alone.
func (s *Schema) JudgeRaw(record []byte) error {
	doc, err := decodeJSONDoc(record)
	if err != nil {
		return &ValidationError{Msg: "record is not valid JSON: " + err.Error()}
	}
	return s.Judge(doc)
}

// DecodePrefix is Decode for a record object at the start of b, followed
// by anything (the rest of an envelope left open by Decoder.OpenRecords).
// It returns the length of the object. On a JSON syntax error n is 0.
func (s *Schema) DecodePrefix(b []byte, row *Row, validate bool) (n int, err error) {
	n, ok, err := s.Plan.decodePrefix(b, row)
	if err != nil {
		return 0, &ValidationError{Msg: "record is not valid JSON: " + err.Error()}
	}
	if ok || !validate {
		return n, nil
	}
	row.Judged = true
	return n, s.JudgeRaw(b[:n])
}

// DecodePrefixPlan is DecodePrefix without the judge: valid is the plan's
// verdict, and a record the plan cannot vouch for (valid false) is
// judged later, if at all, by JudgeRaw(b[:n]). For a consumer that
// decides first whether it keeps the record (a stream map's filter).
func (s *Schema) DecodePrefixPlan(b []byte, row *Row) (n int, valid bool, err error) {
	n, valid, err = s.Plan.decodePrefix(b, row)
	if err != nil {
		return 0, false, &ValidationError{Msg: "record is not valid JSON: " + err.Error()}
	}
	return n, valid, nil
}

// Decode parses a RECORD's JSON object into row (one Value per plan column)
// and validates it: the plan decides what it can; everything else, and every
// rejection, goes to the judge, whose verdict stands. With validate false
// only the values are extracted.
func (s *Schema) Decode(record []byte, row *Row, validate bool) error {
	ok, err := s.Plan.Decode(record, row)
	if err != nil {
		return &ValidationError{Msg: "record is not valid JSON: " + err.Error()}
	}
	if ok || !validate {
		return nil
	}
	row.Judged = true
	return s.JudgeRaw(record)
}

// KeyColumns returns the plan columns of a stream's key properties, in
// their order. A key that is not a top-level property of the schema (or
// lies inside a flattened object) is an error.
func (s *Schema) KeyColumns(keys []string) ([]int, error) {
	cols := make([]int, len(keys))
	for i, k := range keys {
		cols[i] = -1
		for j, c := range s.Plan.Columns {
			if len(c.Path) == 1 && c.Name == k {
				cols[i] = j
				break
			}
		}
		if cols[i] < 0 {
			return nil, fmt.Errorf("key property %q is not a property of the schema (or is inside a flattened object)", k)
		}
	}
	return cols, nil
}

// MissingKey checks a decoded record's key values: every key property
// must be present and not null, since a key identifies the row a record
// updates. It returns the message every binary gives for the first key
// that is not ("" when all are): the SQL targets and target-jsonl refuse
// such a record, and singer check flags it.
func (s *Schema) MissingKey(cols []int, row *Row) string {
	for _, c := range cols {
		if row.Values[c].Kind <= Null {
			return MissingKeyMessage(s.Plan.Columns[c].Name)
		}
	}
	return ""
}

// MissingKeyMessage is the one text for a record without a value for the
// key property prop.
func MissingKeyMessage(prop string) string {
	return fmt.Sprintf("key property %q is missing or null", prop)
}
