package csvtap

import (
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/singer"
)

// column is one column of a file and how its cells are encoded.
type column struct {
	name     string
	index    int    // field index in a row
	key      []byte // the record key, encoded once: "name":
	typ      colType
	schema   []byte // the column's JSON schema in the SCHEMA
	override bool   // the type comes from schema_overrides
}

// stream is a file's columns, types and schema, ready to encode rows.
type stream struct {
	fc      *FileConfig
	columns []column // every column, in file order
	emit    []int    // the columns in each record (the selected ones), in file order
	schema  []byte   // the schema of the SCHEMA message
	// validator checks records when an override constrains values more than
	// its type and format, which the encoding alone guarantees.
	validator *singer.Schema
	row       singer.Row
	sampled   int // rows read to infer the types
}

// sampleTypes reads up to n data rows and infers each column's type.
func sampleTypes(cf *csvFile, n int) ([]inference, int, error) {
	inf := make([]inference, len(cf.columns))
	for i := range inf {
		inf[i] = newInference()
	}
	rows := 0
	for rows < n {
		row, err := cf.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		rows++
		for i, v := range row {
			inf[i].observe(v)
		}
	}
	return inf, rows, nil
}

// buildStream decides each column's type (an override, else the inferred
// one) and the schema of the selected columns. sel is nil when every column
// is selected.
func buildStream(fc *FileConfig, columns []string, inf []inference, sampled int, sel *streamSelection) (*stream, error) {
	if err := fc.columnProblems(columns); err != nil {
		return nil, err
	}
	st := &stream{fc: fc, columns: make([]column, len(columns)), sampled: sampled}
	needsCheck := false
	schema := []byte(`{"type":"object","properties":{`)
	for i, name := range columns {
		c := column{name: name, index: i}
		if o, ok := fc.overrides[name]; ok {
			c.typ = colType{types: o.types, format: o.format}
			c.schema = o.fragment
			c.override = true
		} else {
			t := inf[i].result()
			c.typ = t.typ
			c.schema = []byte(t.schema)
		}
		st.columns[i] = c
		isKey := slices.Contains(fc.KeyProperties, name)
		if sel != nil && !sel.propertySelected(name, isKey) {
			continue
		}
		if len(st.emit) > 0 {
			schema = append(schema, ',')
			st.columns[i].key = append(st.columns[i].key, ',')
		}
		st.columns[i].key = singer.AppendJSONString(st.columns[i].key, name)
		st.columns[i].key = append(st.columns[i].key, ':')
		schema = singer.AppendJSONString(schema, name)
		schema = append(schema, ':')
		schema = append(schema, c.schema...)
		st.emit = append(st.emit, i)
		if c.override && !fc.overrides[name].exact {
			needsCheck = true
		}
	}
	st.schema = append(schema, "}}"...)
	if len(fc.overrides) > 0 {
		v, err := singer.CompileSchema(st.schema, singer.SchemaOptions{})
		if err != nil {
			return nil, &config.Error{Problems: []string{fmt.Sprintf("stream %q: schema_overrides make an invalid schema: %v", fc.Stream, err)}}
		}
		if needsCheck {
			st.validator = v
		}
	}
	return st, nil
}

// appendRecord appends the JSON object of row.
func (st *stream) appendRecord(b []byte, row []string, cf *csvFile) ([]byte, error) {
	start := len(b)
	b = append(b, '{')
	for _, i := range st.emit {
		c := &st.columns[i]
		b = append(b, c.key...)
		var ok bool
		if b, ok = c.typ.appendValue(b, row[i]); !ok {
			return b, st.cellError(c, row[i], cf.line(i))
		}
	}
	b = append(b, '}')
	if st.validator != nil {
		if err := st.validator.Decode(b[start:], &st.row, true); err != nil {
			return b, &FileError{Path: st.fc.Path, Line: cf.line(0), Msg: fmt.Sprintf("the row does not match the schema that schema_overrides set for stream %q: %v", st.fc.Stream, err)}
		}
	}
	return b, nil
}

// cellError explains why value v of column c cannot be emitted.
func (st *stream) cellError(c *column, v string, line int) error {
	e := &FileError{Path: st.fc.Path, Line: line, Column: c.name}
	switch {
	case !utf8.ValidString(v):
		e.Msg = "the value is not valid UTF-8; tap-csv reads UTF-8 only (convert the file first, e.g. with iconv)"
	case c.override && v == "":
		e.Msg = `the value is empty (null), which its schema_overrides type does not allow; add "null" to the type`
	case c.override:
		e.Msg = fmt.Sprintf("value %s is not %s, as its schema_overrides entry says", quoteValue(v), c.typ.describe())
	default:
		e.Msg = fmt.Sprintf(`value %s is not %s, the type inferred from the first %d rows; to accept it, set "schema_overrides": {%s: %s} for stream %q`,
			quoteValue(v), c.typ.describe(), st.sampled, singer.AppendJSONString(nil, c.name), suggestion(c.typ, v), st.fc.Stream)
	}
	return e
}
