package singer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
)

// Catalog is a Singer catalog: the streams a tap can emit, their schemas and
// metadata, and (once a user has edited it) which of them to sync and how.
//
// Reading and writing keep what this package does not model: unknown keys
// at the top level, on each stream and inside each metadata map are written
// back as read, and numbers keep their exact text.
type Catalog struct {
	Streams []CatalogEntry
	// Extra holds unknown top-level keys, written back in key order.
	Extra map[string]json.RawMessage
}

// CatalogEntry is one stream of a catalog.
//
// The Legacy fields are the entry-level settings older taps and catalogs
// use; metadata wins when both are present. Use the methods (IsSelected,
// KeyProperties, ReplicationMethod, ReplicationKey) rather than reading
// either source directly. Fields that are empty (or nil) are not written;
// a known field whose value is JSON null is read as absent.
type CatalogEntry struct {
	TapStreamID string // tap_stream_id
	Stream      string // stream
	TableName   string // table_name
	// Schema is the stream's JSON schema exactly as read.
	Schema   json.RawMessage // schema
	Metadata Metadata        // metadata

	LegacyKeyProperties     []string // key_properties
	LegacyReplicationMethod string   // replication_method
	LegacyReplicationKey    string   // replication_key
	LegacySelected          *bool    // selected

	DatabaseName string // database_name
	IsView       *bool  // is_view
	RowCount     *int64 // row_count
	StreamAlias  string // stream_alias

	// Extra holds unknown keys, written back in key order.
	Extra map[string]json.RawMessage
}

// CatalogError is one problem with one stream of a catalog, as reported by
// Catalog.Validate.
type CatalogError struct {
	// Index is the stream's position in Catalog.Streams.
	Index int
	// TapStreamID and Stream identify the stream (either may be empty when
	// that is the problem).
	TapStreamID string
	Stream      string
	// Breadcrumb is the metadata entry at fault, or nil when the problem is
	// not in metadata.
	Breadcrumb Breadcrumb
	// Problem says what is wrong.
	Problem string
}

// Error names the stream (by tap_stream_id when it has one, else by index and
// stream name), the metadata breadcrumb if any, and the problem.
func (e *CatalogError) Error() string {
	var name string
	switch {
	case e.TapStreamID != "":
		name = fmt.Sprintf("catalog stream %q", e.TapStreamID)
	case e.Stream != "":
		name = fmt.Sprintf("catalog streams[%d] (stream %q)", e.Index, e.Stream)
	default:
		name = fmt.Sprintf("catalog streams[%d]", e.Index)
	}
	if e.Breadcrumb != nil {
		name += " metadata " + e.Breadcrumb.String()
	}
	return name + ": " + e.Problem
}

// ReadCatalog reads one catalog JSON object from r. It checks the JSON
// shape only; call Validate for the catalog's meaning.
func ReadCatalog(r io.Reader) (*Catalog, error) {
	c, err := catalogRead(r)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	return c, nil
}

// LoadCatalogFile reads the catalog at path.
func LoadCatalogFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	defer f.Close()
	c, err := catalogRead(f)
	if err != nil {
		return nil, fmt.Errorf("reading catalog %s: %w", path, err)
	}
	return c, nil
}

func catalogRead(r io.Reader) (*Catalog, error) {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty input, want a JSON object")
		}
		return nil, err
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the catalog object")
	}
	var c Catalog
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// UnmarshalJSON reads a catalog object, keeping unknown keys in Extra.
func (c *Catalog) UnmarshalJSON(data []byte) error {
	if err := catalogWantObject(data, "catalog"); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	*c = Catalog{}
	if raw, ok := fields["streams"]; ok && !catalogIsNull(raw) {
		var entries []json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil {
			return fmt.Errorf("streams: %w", err)
		}
		c.Streams = make([]CatalogEntry, len(entries))
		for i, e := range entries {
			if err := json.Unmarshal(e, &c.Streams[i]); err != nil {
				return fmt.Errorf("streams[%d]: %w", i, err)
			}
		}
	}
	delete(fields, "streams")
	if len(fields) > 0 {
		c.Extra = fields
	}
	return nil
}

// MarshalJSON writes "streams" (always, [] when empty) and then Extra.
func (c Catalog) MarshalJSON() ([]byte, error) {
	streams := c.Streams
	if streams == nil {
		streams = []CatalogEntry{}
	}
	fields := []catalogField{{"streams", streams}}
	return catalogWriteObject(fields, c.Extra, nil)
}

// WriteJSON writes c to w as indented JSON followed by a newline.
func (c *Catalog) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing catalog: %w", err)
	}
	return nil
}

// Stream returns the entry whose tap_stream_id is tapStreamID, or nil. The
// pointer is into c.Streams, so changes to it change c.
func (c *Catalog) Stream(tapStreamID string) *CatalogEntry {
	for i := range c.Streams {
		if c.Streams[i].TapStreamID == tapStreamID {
			return &c.Streams[i]
		}
	}
	return nil
}

// SelectedStreams returns the selected entries in catalog order, as pointers
// into c.Streams.
func (c *Catalog) SelectedStreams() []*CatalogEntry {
	var out []*CatalogEntry
	for i := range c.Streams {
		if c.Streams[i].IsSelected() {
			out = append(out, &c.Streams[i])
		}
	}
	return out
}

// Validate returns every problem in the catalog at once, joined with
// errors.Join; each is a *CatalogError naming its stream. It reports missing
// tap_stream_id or stream, duplicate tap_stream_id, a schema that is missing
// or not an object, malformed or repeated metadata breadcrumbs, standard
// metadata keys with a value of the wrong type, and a selected stream whose
// replication key is not a property of its schema.
func (c *Catalog) Validate() error {
	var errs []error
	firstIndex := make(map[string]int)
	for i := range c.Streams {
		e := &c.Streams[i]
		add := func(b Breadcrumb, format string, args ...any) {
			errs = append(errs, &CatalogError{
				Index:       i,
				TapStreamID: e.TapStreamID,
				Stream:      e.Stream,
				Breadcrumb:  b,
				Problem:     fmt.Sprintf(format, args...),
			})
		}

		if e.TapStreamID == "" {
			add(nil, "missing tap_stream_id")
		} else if first, dup := firstIndex[e.TapStreamID]; dup {
			add(nil, "duplicate tap_stream_id: streams[%d] and streams[%d]", first, i)
		} else {
			firstIndex[e.TapStreamID] = i
		}
		if e.Stream == "" {
			add(nil, "missing stream")
		}
		names, schemaErr := e.PropertyNames()
		if schemaErr != nil {
			add(nil, "%v", schemaErr)
		}

		firstCrumb := make(map[string]int)
		for j, me := range e.Metadata {
			if me.Breadcrumb == nil {
				add(nil, "metadata[%d] has no breadcrumb", j)
				continue
			}
			if p := metaBreadcrumbProblem(me.Breadcrumb); p != "" {
				add(me.Breadcrumb, "malformed breadcrumb: %s", p)
				continue
			}
			key := me.Breadcrumb.String()
			if first, dup := firstCrumb[key]; dup {
				add(me.Breadcrumb, "duplicate breadcrumb: metadata[%d] and metadata[%d]", first, j)
				continue
			}
			firstCrumb[key] = j
			if me.Metadata == nil {
				add(me.Breadcrumb, "missing metadata object")
				continue
			}
			keys := make([]string, 0, len(me.Metadata))
			for k := range me.Metadata {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if p := metaValueProblem(k, me.Metadata[k]); p != "" {
					add(me.Breadcrumb, "%s", p)
				}
			}
		}

		if schemaErr == nil && e.IsSelected() {
			if rk := e.ReplicationKey(); rk != "" && !slices.Contains(names, rk) {
				add(nil, "replication key %q is not a property of the schema", rk)
			}
		}
	}
	return errors.Join(errs...)
}

// catalogEntryKeys are the entry keys CatalogEntry models, in write order.
var catalogEntryKeys = []string{
	"tap_stream_id", "stream", "table_name", "schema", "metadata",
	"key_properties", "replication_method", "replication_key", "selected",
	"database_name", "is_view", "row_count", "stream_alias",
}

// catalogEntryTargets returns where each known key of e is decoded to, in
// the order of catalogEntryKeys.
func (e *CatalogEntry) catalogEntryTargets() []any {
	return []any{
		&e.TapStreamID, &e.Stream, &e.TableName, &e.Schema, &e.Metadata,
		&e.LegacyKeyProperties, &e.LegacyReplicationMethod, &e.LegacyReplicationKey, &e.LegacySelected,
		&e.DatabaseName, &e.IsView, &e.RowCount, &e.StreamAlias,
	}
}

// UnmarshalJSON reads a stream object, keeping unknown keys in Extra.
func (e *CatalogEntry) UnmarshalJSON(data []byte) error {
	if err := catalogWantObject(data, "stream entry"); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	*e = CatalogEntry{}
	for i, dst := range e.catalogEntryTargets() {
		key := catalogEntryKeys[i]
		raw, ok := fields[key]
		if !ok {
			continue
		}
		delete(fields, key)
		if catalogIsNull(raw) {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	if len(fields) > 0 {
		e.Extra = fields
	}
	return nil
}

// MarshalJSON writes the known fields in a fixed order, then Extra.
func (e CatalogEntry) MarshalJSON() ([]byte, error) {
	fields := []catalogField{
		{"tap_stream_id", e.TapStreamID},
		{"stream", e.Stream},
	}
	addString := func(key, v string) {
		if v != "" {
			fields = append(fields, catalogField{key, v})
		}
	}
	addString("table_name", e.TableName)
	if e.Schema != nil {
		fields = append(fields, catalogField{"schema", e.Schema})
	}
	if e.Metadata != nil {
		fields = append(fields, catalogField{"metadata", e.Metadata})
	}
	if e.LegacyKeyProperties != nil {
		fields = append(fields, catalogField{"key_properties", e.LegacyKeyProperties})
	}
	addString("replication_method", e.LegacyReplicationMethod)
	addString("replication_key", e.LegacyReplicationKey)
	if e.LegacySelected != nil {
		fields = append(fields, catalogField{"selected", *e.LegacySelected})
	}
	addString("database_name", e.DatabaseName)
	if e.IsView != nil {
		fields = append(fields, catalogField{"is_view", *e.IsView})
	}
	if e.RowCount != nil {
		fields = append(fields, catalogField{"row_count", *e.RowCount})
	}
	addString("stream_alias", e.StreamAlias)
	return catalogWriteObject(fields, e.Extra, catalogEntryKeys)
}

// PropertyNames returns the names of the schema's top-level "properties",
// in the order the schema lists them. A schema without "properties" has
// none.
func (e *CatalogEntry) PropertyNames() ([]string, error) {
	if len(bytes.TrimSpace(e.Schema)) == 0 {
		return nil, errors.New("missing schema")
	}
	dec := json.NewDecoder(bytes.NewReader(e.Schema))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("schema is not a JSON object")
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		var skip json.RawMessage
		if tok != "properties" {
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("schema: %w", err)
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return nil, errors.New(`schema "properties" is not a JSON object`)
		}
		names = []string{}
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("schema properties: %w", err)
			}
			names = append(names, name.(string)) // object keys are strings
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("schema property %q: %w", name, err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("schema properties: %w", err)
		}
	}
	return names, nil
}

// IsSelected reports whether the user selected the stream: "selected" in
// the stream's metadata (breadcrumb []) when present, else the legacy
// entry-level "selected", else false.
func (e *CatalogEntry) IsSelected() bool {
	if sel, ok := e.Metadata.Selected(nil); ok {
		return sel
	}
	if e.LegacySelected != nil {
		return *e.LegacySelected
	}
	return false
}

// PropertySelected reports whether the property at breadcrumb b is to be
// emitted, by the Singer rules, first match wins:
//
//   - the stream breadcrumb is selected when the stream is (IsSelected);
//   - "inclusion": "unsupported" is never selected;
//   - "inclusion": "automatic" is always selected, even with "selected": false;
//   - a top-level key property or the replication key is always selected;
//   - a property nested in an object or array that is not selected is not
//     selected;
//   - its own "selected", else its own "selected-by-default";
//   - else it follows its parent (for a top-level property, the stream).
//
// PropertySelected does not check that the stream is selected; a property
// with no setting of its own simply inherits the stream's selection.
func (e *CatalogEntry) PropertySelected(b Breadcrumb) bool {
	return e.propertySelected(b, e.catalogAlwaysSelected())
}

// SelectedProperties returns the names of the selected top-level properties
// in schema order. It returns nil when the schema has no readable
// "properties" (Validate says why).
func (e *CatalogEntry) SelectedProperties() []string {
	names, err := e.PropertyNames()
	if err != nil {
		return nil
	}
	always := e.catalogAlwaysSelected()
	out := make([]string, 0, len(names))
	for _, name := range names {
		if e.propertySelected(PropertyBreadcrumb(name), always) {
			out = append(out, name)
		}
	}
	return out
}

// catalogAlwaysSelected returns the top-level properties that cannot be
// deselected: the key properties and the replication key.
func (e *CatalogEntry) catalogAlwaysSelected() map[string]bool {
	keys := e.KeyProperties()
	always := make(map[string]bool, len(keys)+1)
	for _, k := range keys {
		always[k] = true
	}
	if rk := e.ReplicationKey(); rk != "" {
		always[rk] = true
	}
	return always
}

func (e *CatalogEntry) propertySelected(b Breadcrumb, always map[string]bool) bool {
	if b.IsStream() {
		return e.IsSelected()
	}
	switch e.Metadata.Inclusion(b) {
	case InclusionUnsupported:
		return false
	case InclusionAutomatic:
		return true
	}
	if len(b) == 2 && b[0] == "properties" && always[b[1]] {
		return true
	}
	parent, _ := b.Parent()
	if !parent.IsStream() && !e.propertySelected(parent, always) {
		return false
	}
	if sel, ok := e.Metadata.Selected(b); ok {
		return sel
	}
	if sel, ok := e.Metadata.SelectedByDefault(b); ok {
		return sel
	}
	if parent.IsStream() {
		return e.IsSelected()
	}
	return true // the parent is selected, checked above
}

// ReplicationMethod returns the stream's replication method: metadata
// "replication-method", else "forced-replication-method", else the legacy
// "replication_method", else "" (the caller picks its default).
func (e *CatalogEntry) ReplicationMethod() string {
	if m := e.Metadata.ReplicationMethod(); m != "" {
		return m
	}
	if m := e.Metadata.ForcedReplicationMethod(); m != "" {
		return m
	}
	return e.LegacyReplicationMethod
}

// ReplicationKey returns the stream's replication key: metadata
// "replication-key", else the legacy "replication_key", else "".
func (e *CatalogEntry) ReplicationKey() string {
	if k := e.Metadata.ReplicationKey(); k != "" {
		return k
	}
	return e.LegacyReplicationKey
}

// KeyProperties returns the stream's key properties: metadata
// "table-key-properties", else "view-key-properties", else the legacy
// "key_properties". A present empty list counts (the stream has no keys).
// The result is a copy.
func (e *CatalogEntry) KeyProperties() []string {
	if k, ok := e.Metadata.TableKeyProperties(); ok {
		return k
	}
	if k, ok := e.Metadata.ViewKeyProperties(); ok {
		return k
	}
	return slices.Clone(e.LegacyKeyProperties)
}

// catalogField is one key and value of an object written in order.
type catalogField struct {
	key   string
	value any
}

// catalogWriteObject writes fields in order, then the extra keys in key
// order, leaving out extra keys that are written or reserved as known fields
// (a known field left empty must stay unwritten).
func catalogWriteObject(fields []catalogField, extra map[string]json.RawMessage, reserved []string) ([]byte, error) {
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.key] = true
	}
	extraKeys := make([]string, 0, len(extra))
	for k := range extra {
		if !known[k] && !slices.Contains(reserved, k) {
			extraKeys = append(extraKeys, k)
		}
	}
	sort.Strings(extraKeys)
	for _, k := range extraKeys {
		fields = append(fields, catalogField{k, extra[k]})
	}

	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(metaMustMarshal(f.key))
		b.WriteByte(':')
		v, err := metaMarshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// catalogWantObject checks that data is a JSON object, not null or another
// value, before it is decoded into a map (which would accept null).
func catalogWantObject(data []byte, what string) error {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return fmt.Errorf("%s is %s, want a JSON object", what, metaShorten(d))
	}
	return nil
}

func catalogIsNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
