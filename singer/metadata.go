package singer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Standard Singer metadata keys. Property-level keys live under a breadcrumb
// such as ["properties","id"]; stream-level keys live under the empty
// breadcrumb. "selected" is valid at both levels.
const (
	MetaInclusion               = "inclusion"
	MetaSelected                = "selected"
	MetaSelectedByDefault       = "selected-by-default"
	MetaTableKeyProperties      = "table-key-properties"
	MetaValidReplicationKeys    = "valid-replication-keys"
	MetaForcedReplicationMethod = "forced-replication-method"
	MetaReplicationMethod       = "replication-method"
	MetaReplicationKey          = "replication-key"
	MetaViewKeyProperties       = "view-key-properties"
	MetaSQLDatatype             = "sql-datatype"
	MetaSchemaName              = "schema-name"
	MetaDatabaseName            = "database-name"
	MetaIsView                  = "is-view"
	MetaRowCount                = "row-count"
)

// Replication methods a catalog can ask for.
const (
	ReplicationFullTable   = "FULL_TABLE"
	ReplicationIncremental = "INCREMENTAL"
	ReplicationLogBased    = "LOG_BASED"
)

// Inclusion says whether a tap can emit a property: always, on request, or
// never.
type Inclusion string

// The values of the "inclusion" metadata key.
const (
	// InclusionAutomatic properties are always emitted, whatever "selected" says.
	InclusionAutomatic Inclusion = "automatic"
	// InclusionAvailable properties are emitted when selected.
	InclusionAvailable Inclusion = "available"
	// InclusionUnsupported properties are never emitted.
	InclusionUnsupported Inclusion = "unsupported"
)

// Breadcrumb is the path from a stream's schema to the node a metadata entry
// describes: empty for the stream itself, ["properties","col"] for a column,
// ["properties","a","properties","b"] for a nested property. "items" steps
// into an array's element schema.
type Breadcrumb []string

// PropertyBreadcrumb returns the breadcrumb of a property given its path of
// names: PropertyBreadcrumb("a", "b") is ["properties","a","properties","b"].
// With no names it is the stream breadcrumb.
func PropertyBreadcrumb(path ...string) Breadcrumb {
	b := make(Breadcrumb, 0, 2*len(path))
	for _, name := range path {
		b = append(b, "properties", name)
	}
	return b
}

// IsStream reports whether b is the stream breadcrumb (empty).
func (b Breadcrumb) IsStream() bool { return len(b) == 0 }

// Equal reports whether b and o are the same path. Nil and empty are equal.
func (b Breadcrumb) Equal(o Breadcrumb) bool {
	if len(b) != len(o) {
		return false
	}
	for i := range b {
		if b[i] != o[i] {
			return false
		}
	}
	return true
}

// Parent returns the breadcrumb one node up: the object holding a property,
// or the array holding an "items" schema. The stream breadcrumb has no parent.
func (b Breadcrumb) Parent() (Breadcrumb, bool) {
	if len(b) == 0 {
		return nil, false
	}
	// Walk from the front: a property may itself be named "properties" or
	// "items", so the last step cannot be read from the end.
	last := len(b) - 1
	for i := 0; i < len(b); i++ {
		last = i
		if b[i] == "properties" && i+1 < len(b) {
			i++
		}
	}
	return b[:last:last], true
}

// String returns b as JSON, the way it appears in a catalog.
func (b Breadcrumb) String() string {
	if b == nil {
		b = Breadcrumb{}
	}
	out, _ := json.Marshal([]string(b)) // a []string always marshals
	return string(out)
}

// metaBreadcrumbProblem says what is wrong with b, or "" when it is a valid
// path of ("properties", name) pairs and "items" steps.
func metaBreadcrumbProblem(b Breadcrumb) string {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case "properties":
			if i+1 >= len(b) || b[i+1] == "" {
				return `"properties" must be followed by a property name`
			}
			i++
		case "items":
		default:
			return fmt.Sprintf(`unexpected %q, want "properties" or "items"`, b[i])
		}
	}
	return ""
}

// MetadataEntry is one element of a catalog entry's "metadata" list. Values
// are kept as raw JSON so that unknown keys and exact numbers survive a
// read-write round trip. Keys of the element itself other than "breadcrumb"
// and "metadata" are not kept (the spec defines none).
type MetadataEntry struct {
	Breadcrumb Breadcrumb                 `json:"breadcrumb"`
	Metadata   map[string]json.RawMessage `json:"metadata"`
}

// Metadata is a catalog entry's metadata list, looked up by breadcrumb. Its
// order is kept as read; new breadcrumbs are appended. When a breadcrumb
// occurs twice the first entry is used (Catalog.Validate reports it).
type Metadata []MetadataEntry

// entry returns the index of the entry for b, or -1.
func (m Metadata) entry(b Breadcrumb) int {
	for i := range m {
		if m[i].Breadcrumb.Equal(b) {
			return i
		}
	}
	return -1
}

// Get returns the raw JSON value of key at breadcrumb b.
func (m Metadata) Get(b Breadcrumb, key string) (json.RawMessage, bool) {
	i := m.entry(b)
	if i < 0 {
		return nil, false
	}
	v, ok := m[i].Metadata[key]
	return v, ok
}

// Set stores value, marshaled to JSON, as key at breadcrumb b, adding the
// entry when b has none. A json.RawMessage value is stored as given (after
// checking it is valid JSON).
func (m *Metadata) Set(b Breadcrumb, key string, value any) error {
	raw, err := metaMarshal(value)
	if err != nil {
		return fmt.Errorf("setting metadata %s %q: %w", b, key, err)
	}
	m.setRaw(b, key, raw)
	return nil
}

// setRaw stores raw JSON without checking it.
func (m *Metadata) setRaw(b Breadcrumb, key string, raw json.RawMessage) {
	i := m.entry(b)
	if i < 0 {
		// Copy so the caller's slice is not aliased, and so the stream
		// breadcrumb is written as [] rather than null.
		nb := append(Breadcrumb{}, b...)
		*m = append(*m, MetadataEntry{Breadcrumb: nb})
		i = len(*m) - 1
	}
	if (*m)[i].Metadata == nil {
		(*m)[i].Metadata = make(map[string]json.RawMessage)
	}
	(*m)[i].Metadata[key] = raw
}

// Delete removes key at breadcrumb b. The entry itself stays, even if empty.
func (m Metadata) Delete(b Breadcrumb, key string) {
	if i := m.entry(b); i >= 0 {
		delete(m[i].Metadata, key)
	}
}

// SetSelected sets "selected" at b: the user's choice of a stream (empty
// breadcrumb) or a property.
func (m *Metadata) SetSelected(b Breadcrumb, selected bool) {
	m.setRaw(b, MetaSelected, json.RawMessage(strconv.FormatBool(selected)))
}

// SetInclusion sets "inclusion" at b.
func (m *Metadata) SetInclusion(b Breadcrumb, inc Inclusion) {
	m.setRaw(b, MetaInclusion, metaMustMarshal(string(inc)))
}

// SetReplicationMethod sets the stream's "replication-method".
func (m *Metadata) SetReplicationMethod(method string) {
	m.setRaw(nil, MetaReplicationMethod, metaMustMarshal(method))
}

// SetReplicationKey sets the stream's "replication-key".
func (m *Metadata) SetReplicationKey(key string) {
	m.setRaw(nil, MetaReplicationKey, metaMustMarshal(key))
}

// Inclusion returns "inclusion" at b, or "" when absent or not a string.
func (m Metadata) Inclusion(b Breadcrumb) Inclusion {
	s, _ := m.str(b, MetaInclusion)
	return Inclusion(s)
}

// Selected returns "selected" at b; ok is false when absent or not a boolean.
func (m Metadata) Selected(b Breadcrumb) (selected, ok bool) {
	return m.boolean(b, MetaSelected)
}

// SelectedByDefault returns "selected-by-default" at b; ok is false when
// absent or not a boolean.
func (m Metadata) SelectedByDefault(b Breadcrumb) (selected, ok bool) {
	return m.boolean(b, MetaSelectedByDefault)
}

// SQLDatatype returns "sql-datatype" at b, the column's type in the source.
func (m Metadata) SQLDatatype(b Breadcrumb) string {
	s, _ := m.str(b, MetaSQLDatatype)
	return s
}

// TableKeyProperties returns the stream's "table-key-properties"; ok is false
// when absent or not a list of strings. An empty list is present.
func (m Metadata) TableKeyProperties() ([]string, bool) {
	return m.strs(nil, MetaTableKeyProperties)
}

// ViewKeyProperties returns the stream's "view-key-properties".
func (m Metadata) ViewKeyProperties() ([]string, bool) {
	return m.strs(nil, MetaViewKeyProperties)
}

// ValidReplicationKeys returns the stream's "valid-replication-keys".
func (m Metadata) ValidReplicationKeys() ([]string, bool) {
	return m.strs(nil, MetaValidReplicationKeys)
}

// ForcedReplicationMethod returns the stream's "forced-replication-method",
// or "".
func (m Metadata) ForcedReplicationMethod() string {
	s, _ := m.str(nil, MetaForcedReplicationMethod)
	return s
}

// ReplicationMethod returns the stream's "replication-method", or "".
func (m Metadata) ReplicationMethod() string {
	s, _ := m.str(nil, MetaReplicationMethod)
	return s
}

// ReplicationKey returns the stream's "replication-key", or "".
func (m Metadata) ReplicationKey() string {
	s, _ := m.str(nil, MetaReplicationKey)
	return s
}

// SchemaName returns the stream's "schema-name", or "".
func (m Metadata) SchemaName() string {
	s, _ := m.str(nil, MetaSchemaName)
	return s
}

// DatabaseName returns the stream's "database-name", or "".
func (m Metadata) DatabaseName() string {
	s, _ := m.str(nil, MetaDatabaseName)
	return s
}

// IsView returns the stream's "is-view"; ok is false when absent or not a
// boolean.
func (m Metadata) IsView() (isView, ok bool) {
	return m.boolean(nil, MetaIsView)
}

// RowCount returns the stream's "row-count"; ok is false when absent or not
// an integer.
func (m Metadata) RowCount() (int64, bool) {
	raw, ok := m.Get(nil, MetaRowCount)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func (m Metadata) str(b Breadcrumb, key string) (string, bool) {
	raw, ok := m.Get(b, key)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func (m Metadata) boolean(b Breadcrumb, key string) (value, ok bool) {
	raw, ok := m.Get(b, key)
	if !ok {
		return false, false
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func (m Metadata) strs(b Breadcrumb, key string) ([]string, bool) {
	raw, ok := m.Get(b, key)
	if !ok {
		return nil, false
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, false
	}
	var s []string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	if s == nil {
		s = []string{}
	}
	return s, true
}

// StreamMetadataOptions is what a tap's discovery knows about a stream, for
// NewStreamMetadata.
type StreamMetadataOptions struct {
	// KeyProperties become "table-key-properties" (always written, [] when
	// none), or "view-key-properties" when IsView is set.
	KeyProperties []string
	// ValidReplicationKeys, when not nil, become "valid-replication-keys".
	ValidReplicationKeys []string
	// ForcedReplicationMethod, when set, becomes "forced-replication-method".
	ForcedReplicationMethod string
	// SchemaName and DatabaseName, when set, become "schema-name" and
	// "database-name".
	SchemaName   string
	DatabaseName string
	// IsView is written as "is-view" (always).
	IsView bool
	// RowCount, when not nil, becomes "row-count" (usually an estimate).
	RowCount *int64
}

// PropertyMetadata describes one top-level property for NewStreamMetadata.
type PropertyMetadata struct {
	Name string
	// Inclusion defaults to automatic for key properties and available for
	// the rest.
	Inclusion Inclusion
	// SQLDatatype, when set, becomes "sql-datatype".
	SQLDatatype string
}

// NewStreamMetadata builds the standard metadata list discovery writes for a
// stream: the stream entry first, then one entry per property in the order
// given, each with "inclusion" and "selected-by-default" (true unless the
// property is unsupported). Nothing is selected: that is the user's choice.
func NewStreamMetadata(opts StreamMetadataOptions, properties ...PropertyMetadata) Metadata {
	md := make(Metadata, 0, 1+len(properties))
	root := Breadcrumb{}
	keys := opts.KeyProperties
	if keys == nil {
		keys = []string{}
	}
	if opts.IsView {
		md.setRaw(root, MetaViewKeyProperties, metaMustMarshal(keys))
	} else {
		md.setRaw(root, MetaTableKeyProperties, metaMustMarshal(keys))
	}
	if opts.ValidReplicationKeys != nil {
		md.setRaw(root, MetaValidReplicationKeys, metaMustMarshal(opts.ValidReplicationKeys))
	}
	if opts.ForcedReplicationMethod != "" {
		md.setRaw(root, MetaForcedReplicationMethod, metaMustMarshal(opts.ForcedReplicationMethod))
	}
	if opts.SchemaName != "" {
		md.setRaw(root, MetaSchemaName, metaMustMarshal(opts.SchemaName))
	}
	if opts.DatabaseName != "" {
		md.setRaw(root, MetaDatabaseName, metaMustMarshal(opts.DatabaseName))
	}
	md.setRaw(root, MetaIsView, json.RawMessage(strconv.FormatBool(opts.IsView)))
	if opts.RowCount != nil {
		md.setRaw(root, MetaRowCount, json.RawMessage(strconv.FormatInt(*opts.RowCount, 10)))
	}

	isKey := make(map[string]bool, len(keys))
	for _, k := range keys {
		isKey[k] = true
	}
	for _, p := range properties {
		b := PropertyBreadcrumb(p.Name)
		inc := p.Inclusion
		if inc == "" {
			inc = InclusionAvailable
			if isKey[p.Name] {
				inc = InclusionAutomatic
			}
		}
		md.setRaw(b, MetaInclusion, metaMustMarshal(string(inc)))
		md.setRaw(b, MetaSelectedByDefault, json.RawMessage(strconv.FormatBool(inc != InclusionUnsupported)))
		if p.SQLDatatype != "" {
			md.setRaw(b, MetaSQLDatatype, metaMustMarshal(p.SQLDatatype))
		}
	}
	return md
}

// metaKind is the JSON type a standard metadata key must have.
type metaKind int

const (
	metaKindString metaKind = iota
	metaKindBool
	metaKindStrings
	metaKindInteger
	metaKindInclusion
)

// metaStandardKinds lists the standard keys whose type Catalog.Validate checks.
var metaStandardKinds = map[string]metaKind{
	MetaInclusion:               metaKindInclusion,
	MetaSelected:                metaKindBool,
	MetaSelectedByDefault:       metaKindBool,
	MetaTableKeyProperties:      metaKindStrings,
	MetaValidReplicationKeys:    metaKindStrings,
	MetaForcedReplicationMethod: metaKindString,
	MetaReplicationMethod:       metaKindString,
	MetaReplicationKey:          metaKindString,
	MetaViewKeyProperties:       metaKindStrings,
	MetaSQLDatatype:             metaKindString,
	MetaSchemaName:              metaKindString,
	MetaDatabaseName:            metaKindString,
	MetaIsView:                  metaKindBool,
	MetaRowCount:                metaKindInteger,
}

// metaValueProblem says what is wrong with the value of a standard key, or "".
func metaValueProblem(key string, raw json.RawMessage) string {
	kind, ok := metaStandardKinds[key]
	if !ok {
		return ""
	}
	var m Metadata
	m.setRaw(nil, key, raw)
	var good bool
	want := ""
	switch kind {
	case metaKindString:
		_, good = m.str(nil, key)
		want = "a string"
	case metaKindBool:
		_, good = m.boolean(nil, key)
		want = "true or false"
	case metaKindStrings:
		_, good = m.strs(nil, key)
		want = "a list of strings"
	case metaKindInteger:
		_, good = m.RowCount()
		want = "an integer"
	case metaKindInclusion:
		switch m.Inclusion(nil) {
		case InclusionAutomatic, InclusionAvailable, InclusionUnsupported:
			good = true
		}
		want = `"automatic", "available" or "unsupported"`
	}
	if good {
		return ""
	}
	return fmt.Sprintf("%q is %s, want %s", key, metaShorten(raw), want)
}

// metaShorten returns raw JSON compacted and cut to a readable length for
// an error message.
func metaShorten(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	s := b.String()
	if len(s) > 40 {
		cut := 37
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// metaMarshal marshals v without HTML escaping, so that values such as "<"
// are written as they were read.
func metaMarshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// metaMustMarshal marshals strings and string lists, which cannot fail.
func metaMustMarshal(v any) json.RawMessage {
	raw, _ := metaMarshal(v)
	return raw
}
