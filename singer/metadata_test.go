package singer

import (
	"encoding/json"
	"slices"
	"testing"
)

// metaTestParse decodes a metadata list written as JSON.
func metaTestParse(t *testing.T, js string) Metadata {
	t.Helper()
	var md Metadata
	if err := json.Unmarshal([]byte(js), &md); err != nil {
		t.Fatalf("parsing metadata %s: %v", js, err)
	}
	return md
}

// metaTestJSON encodes md compactly, for exact comparison.
func metaTestJSON(t *testing.T, md Metadata) string {
	t.Helper()
	raw, err := metaMarshal(md)
	if err != nil {
		t.Fatalf("marshaling metadata: %v", err)
	}
	return string(raw)
}

func TestPropertyBreadcrumb(t *testing.T) {
	tests := []struct {
		name string
		path []string
		want string
	}{
		{name: "stream", path: nil, want: `[]`},
		{name: "column", path: []string{"id"}, want: `["properties","id"]`},
		{name: "nested", path: []string{"a", "b"}, want: `["properties","a","properties","b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PropertyBreadcrumb(tt.path...)
			if got.String() != tt.want {
				t.Errorf("PropertyBreadcrumb(%q) = %s, want %s", tt.path, got, tt.want)
			}
			if got.IsStream() != (len(tt.path) == 0) {
				t.Errorf("IsStream() = %v for %s", got.IsStream(), got)
			}
		})
	}
}

func TestBreadcrumbParent(t *testing.T) {
	tests := []struct {
		name   string
		b      Breadcrumb
		want   string
		wantOK bool
	}{
		{name: "stream has no parent", b: Breadcrumb{}, want: `[]`, wantOK: false},
		{name: "column", b: PropertyBreadcrumb("id"), want: `[]`, wantOK: true},
		{name: "nested", b: PropertyBreadcrumb("a", "b"), want: `["properties","a"]`, wantOK: true},
		{name: "array items", b: Breadcrumb{"properties", "tags", "items"}, want: `["properties","tags"]`, wantOK: true},
		{name: "property of array items", b: Breadcrumb{"properties", "tags", "items", "properties", "id"}, want: `["properties","tags","items"]`, wantOK: true},
		{name: "property named properties", b: PropertyBreadcrumb("a", "properties"), want: `["properties","a"]`, wantOK: true},
		{name: "property named properties holding items", b: Breadcrumb{"properties", "properties", "items"}, want: `["properties","properties"]`, wantOK: true},
		{name: "property named items", b: PropertyBreadcrumb("items"), want: `[]`, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.b.Parent()
			if got.String() != tt.want || ok != tt.wantOK {
				t.Errorf("%s.Parent() = %s, %v; want %s, %v", tt.b, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMetaBreadcrumbProblem(t *testing.T) {
	tests := []struct {
		name string
		b    Breadcrumb
		want string
	}{
		{name: "stream", b: Breadcrumb{}, want: ""},
		{name: "column", b: PropertyBreadcrumb("id"), want: ""},
		{name: "nested through items", b: Breadcrumb{"properties", "a", "items", "properties", "b"}, want: ""},
		{name: "dangling properties", b: Breadcrumb{"properties"}, want: `"properties" must be followed by a property name`},
		{name: "empty name", b: Breadcrumb{"properties", ""}, want: `"properties" must be followed by a property name`},
		{name: "bare name", b: Breadcrumb{"id"}, want: `unexpected "id", want "properties" or "items"`},
		{name: "odd tail", b: Breadcrumb{"properties", "a", "b"}, want: `unexpected "b", want "properties" or "items"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metaBreadcrumbProblem(tt.b); got != tt.want {
				t.Errorf("metaBreadcrumbProblem(%s) = %q, want %q", tt.b, got, tt.want)
			}
		})
	}
}

func TestMetadataGetSetDelete(t *testing.T) {
	var md Metadata
	md.SetSelected(nil, true)
	md.SetReplicationMethod(ReplicationIncremental)
	md.SetReplicationKey("updated_at")
	md.SetInclusion(PropertyBreadcrumb("id"), InclusionAutomatic)
	if err := md.Set(PropertyBreadcrumb("id"), "x-precision", json.RawMessage(`38.000`)); err != nil {
		t.Fatal(err)
	}
	if err := md.Set(PropertyBreadcrumb("note"), "description", "<b>bold</b>"); err != nil {
		t.Fatal(err)
	}
	md.SetSelected(PropertyBreadcrumb("note"), false)
	md.SetSelected(PropertyBreadcrumb("note"), true) // overwrites, does not add an entry

	want := `[{"breadcrumb":[],"metadata":{"replication-key":"updated_at","replication-method":"INCREMENTAL","selected":true}},` +
		`{"breadcrumb":["properties","id"],"metadata":{"inclusion":"automatic","x-precision":38.000}},` +
		`{"breadcrumb":["properties","note"],"metadata":{"description":"<b>bold</b>","selected":true}}]`
	if got := metaTestJSON(t, md); got != want {
		t.Fatalf("after Set:\n got %s\nwant %s", got, want)
	}

	raw, ok := md.Get(PropertyBreadcrumb("id"), "x-precision")
	if !ok || string(raw) != "38.000" {
		t.Errorf(`Get(id, x-precision) = %s, %v; want 38.000, true`, raw, ok)
	}
	if raw, ok := md.Get(PropertyBreadcrumb("missing"), MetaSelected); ok {
		t.Errorf("Get on a missing breadcrumb = %s, true", raw)
	}

	md.Delete(nil, MetaReplicationKey)
	md.Delete(PropertyBreadcrumb("note"), "description")
	md.Delete(PropertyBreadcrumb("missing"), MetaSelected) // no entry: no-op
	want = `[{"breadcrumb":[],"metadata":{"replication-method":"INCREMENTAL","selected":true}},` +
		`{"breadcrumb":["properties","id"],"metadata":{"inclusion":"automatic","x-precision":38.000}},` +
		`{"breadcrumb":["properties","note"],"metadata":{"selected":true}}]`
	if got := metaTestJSON(t, md); got != want {
		t.Fatalf("after Delete:\n got %s\nwant %s", got, want)
	}

	if err := md.Set(nil, "bad", json.RawMessage(`{`)); err == nil {
		t.Error("Set with invalid raw JSON: no error")
	}
	if err := md.Set(nil, "bad", func() {}); err == nil {
		t.Error("Set with a func: no error")
	}
}

func TestMetadataAccessors(t *testing.T) {
	md := metaTestParse(t, `[
		{"breadcrumb": [], "metadata": {
			"table-key-properties": ["id", "region"],
			"view-key-properties": [],
			"valid-replication-keys": ["updated_at", "id"],
			"forced-replication-method": "FULL_TABLE",
			"replication-method": "INCREMENTAL",
			"replication-key": "updated_at",
			"schema-name": "public",
			"database-name": "shop",
			"is-view": false,
			"row-count": 9007199254740993,
			"selected": true
		}},
		{"breadcrumb": ["properties", "id"], "metadata": {
			"inclusion": "automatic", "selected-by-default": true, "sql-datatype": "bigint", "selected": false
		}},
		{"breadcrumb": ["properties", "bad"], "metadata": {
			"inclusion": 3, "selected": "yes", "selected-by-default": null, "sql-datatype": ["x"]
		}}
	]`)
	bad := Metadata{{Breadcrumb: Breadcrumb{}, Metadata: map[string]json.RawMessage{
		MetaTableKeyProperties:   json.RawMessage(`"id"`),
		MetaViewKeyProperties:    json.RawMessage(`null`),
		MetaValidReplicationKeys: json.RawMessage(`[1]`),
		MetaReplicationMethod:    json.RawMessage(`1`),
		MetaIsView:               json.RawMessage(`"false"`),
		MetaRowCount:             json.RawMessage(`1.5`),
	}}}
	id := PropertyBreadcrumb("id")
	badCrumb := PropertyBreadcrumb("bad")

	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "table-key-properties", got: catalogTestPair(md.TableKeyProperties()), want: "[id region] true"},
		{name: "view-key-properties empty list is present", got: catalogTestPair(md.ViewKeyProperties()), want: "[] true"},
		{name: "valid-replication-keys", got: catalogTestPair(md.ValidReplicationKeys()), want: "[updated_at id] true"},
		{name: "forced-replication-method", got: md.ForcedReplicationMethod(), want: ReplicationFullTable},
		{name: "replication-method", got: md.ReplicationMethod(), want: ReplicationIncremental},
		{name: "replication-key", got: md.ReplicationKey(), want: "updated_at"},
		{name: "schema-name", got: md.SchemaName(), want: "public"},
		{name: "database-name", got: md.DatabaseName(), want: "shop"},
		{name: "is-view", got: catalogTestPair(md.IsView()), want: "false true"},
		{name: "row-count beyond float64 precision", got: catalogTestPair(md.RowCount()), want: "9007199254740993 true"},
		{name: "stream selected", got: catalogTestPair(md.Selected(nil)), want: "true true"},
		{name: "inclusion", got: md.Inclusion(id), want: InclusionAutomatic},
		{name: "property selected", got: catalogTestPair(md.Selected(id)), want: "false true"},
		{name: "selected-by-default", got: catalogTestPair(md.SelectedByDefault(id)), want: "true true"},
		{name: "sql-datatype", got: md.SQLDatatype(id), want: "bigint"},
		{name: "absent breadcrumb", got: catalogTestPair(md.Selected(PropertyBreadcrumb("nope"))), want: "false false"},
		{name: "absent key", got: catalogTestPair(md.SelectedByDefault(nil)), want: "false false"},
		{name: "inclusion wrong type", got: md.Inclusion(badCrumb), want: Inclusion("")},
		{name: "selected wrong type", got: catalogTestPair(md.Selected(badCrumb)), want: "false false"},
		{name: "selected-by-default null", got: catalogTestPair(md.SelectedByDefault(badCrumb)), want: "false false"},
		{name: "sql-datatype wrong type", got: md.SQLDatatype(badCrumb), want: ""},
		{name: "table-key-properties wrong type", got: catalogTestPair(bad.TableKeyProperties()), want: "[] false"},
		{name: "view-key-properties null", got: catalogTestPair(bad.ViewKeyProperties()), want: "[] false"},
		{name: "valid-replication-keys wrong element type", got: catalogTestPair(bad.ValidReplicationKeys()), want: "[] false"},
		{name: "replication-method wrong type", got: bad.ReplicationMethod(), want: ""},
		{name: "is-view wrong type", got: catalogTestPair(bad.IsView()), want: "false false"},
		{name: "row-count not an integer", got: catalogTestPair(bad.RowCount()), want: "0 false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestMetaValueProblem(t *testing.T) {
	tests := []struct {
		name string
		key  string
		raw  string
		want string
	}{
		{name: "unknown key is free", key: "x-anything", raw: `{"a":1}`, want: ""},
		{name: "good inclusion", key: MetaInclusion, raw: `"available"`, want: ""},
		{name: "bad inclusion", key: MetaInclusion, raw: `"sometimes"`, want: `"inclusion" is "sometimes", want "automatic", "available" or "unsupported"`},
		{name: "bad bool", key: MetaSelected, raw: `"true"`, want: `"selected" is "true", want true or false`},
		{name: "bad list", key: MetaTableKeyProperties, raw: `"id"`, want: `"table-key-properties" is "id", want a list of strings`},
		{name: "bad string", key: MetaReplicationKey, raw: `["a"]`, want: `"replication-key" is ["a"], want a string`},
		{name: "bad integer", key: MetaRowCount, raw: `1e3`, want: `"row-count" is 1e3, want an integer`},
		{name: "long value is cut", key: MetaSchemaName, raw: `{"aaaaaaaaaa":"bbbbbbbbbb","cccccccccc":"dddddddddd"}`, want: `"schema-name" is {"aaaaaaaaaa":"bbbbbbbbbb","ccccccccc..., want a string`},
		{name: "cut keeps whole runes", key: MetaSchemaName, raw: `["ééééééééééééééééééé"]`, want: `"schema-name" is ["ééééééééééééééééé..., want a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metaValueProblem(tt.key, json.RawMessage(tt.raw)); got != tt.want {
				t.Errorf("metaValueProblem(%q, %s) =\n %q\nwant\n %q", tt.key, tt.raw, got, tt.want)
			}
		})
	}
}

func TestNewStreamMetadata(t *testing.T) {
	rows := int64(1234)
	tests := []struct {
		name  string
		opts  StreamMetadataOptions
		props []PropertyMetadata
		want  string
	}{
		{
			name: "table with key and replication keys",
			opts: StreamMetadataOptions{
				KeyProperties:           []string{"id"},
				ValidReplicationKeys:    []string{"updated_at"},
				ForcedReplicationMethod: ReplicationIncremental,
				SchemaName:              "public",
				DatabaseName:            "shop",
				RowCount:                &rows,
			},
			props: []PropertyMetadata{
				{Name: "id", SQLDatatype: "integer"},
				{Name: "updated_at", SQLDatatype: "timestamp with time zone"},
				{Name: "geom", SQLDatatype: "geometry", Inclusion: InclusionUnsupported},
			},
			want: `[{"breadcrumb":[],"metadata":{"database-name":"shop","forced-replication-method":"INCREMENTAL","is-view":false,"row-count":1234,"schema-name":"public","table-key-properties":["id"],"valid-replication-keys":["updated_at"]}},` +
				`{"breadcrumb":["properties","id"],"metadata":{"inclusion":"automatic","selected-by-default":true,"sql-datatype":"integer"}},` +
				`{"breadcrumb":["properties","updated_at"],"metadata":{"inclusion":"available","selected-by-default":true,"sql-datatype":"timestamp with time zone"}},` +
				`{"breadcrumb":["properties","geom"],"metadata":{"inclusion":"unsupported","selected-by-default":false,"sql-datatype":"geometry"}}]`,
		},
		{
			name:  "table without keys writes an empty key list",
			opts:  StreamMetadataOptions{},
			props: []PropertyMetadata{{Name: "line"}},
			want: `[{"breadcrumb":[],"metadata":{"is-view":false,"table-key-properties":[]}},` +
				`{"breadcrumb":["properties","line"],"metadata":{"inclusion":"available","selected-by-default":true}}]`,
		},
		{
			name:  "view keys go to view-key-properties",
			opts:  StreamMetadataOptions{KeyProperties: []string{"code"}, IsView: true},
			props: []PropertyMetadata{{Name: "code"}, {Name: "label", Inclusion: InclusionAutomatic}},
			want: `[{"breadcrumb":[],"metadata":{"is-view":true,"view-key-properties":["code"]}},` +
				`{"breadcrumb":["properties","code"],"metadata":{"inclusion":"automatic","selected-by-default":true}},` +
				`{"breadcrumb":["properties","label"],"metadata":{"inclusion":"automatic","selected-by-default":true}}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := NewStreamMetadata(tt.opts, tt.props...)
			if got := metaTestJSON(t, md); got != tt.want {
				t.Errorf("NewStreamMetadata:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestNewStreamMetadataIsNotSelected(t *testing.T) {
	e := CatalogEntry{
		TapStreamID: "public-t",
		Stream:      "t",
		Schema:      json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}}`),
		Metadata: NewStreamMetadata(StreamMetadataOptions{KeyProperties: []string{"id"}},
			PropertyMetadata{Name: "id"}, PropertyMetadata{Name: "v"}),
	}
	if e.IsSelected() {
		t.Error("a freshly discovered stream is selected")
	}
	e.Metadata.SetSelected(nil, true)
	if got, want := e.SelectedProperties(), []string{"id", "v"}; !slices.Equal(got, want) {
		t.Errorf("SelectedProperties() = %q, want %q", got, want)
	}
	if got := e.KeyProperties(); !slices.Equal(got, []string{"id"}) {
		t.Errorf("KeyProperties() = %q, want [id]", got)
	}
}
