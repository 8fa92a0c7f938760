package singer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const catalogTestFixture = "../testdata/catalog/unknown_keys.json"

// catalogTestPair formats a (value, ok) result for comparison in tables.
func catalogTestPair[T any](v T, ok bool) string {
	return fmt.Sprintf("%v %v", v, ok)
}

// catalogTestEntry decodes one catalog entry written as JSON.
func catalogTestEntry(t *testing.T, js string) *CatalogEntry {
	t.Helper()
	var e CatalogEntry
	if err := json.Unmarshal([]byte(js), &e); err != nil {
		t.Fatalf("parsing entry %s: %v", js, err)
	}
	return &e
}

// catalogTestSemantic decodes JSON with exact numbers, for semantic equality.
func catalogTestSemantic(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

func TestCatalogRoundTripKeepsUnknownKeys(t *testing.T) {
	in, err := os.ReadFile(catalogTestFixture)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadCatalog(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}

	// What was read.
	if len(c.Streams) != 2 {
		t.Fatalf("read %d streams, want 2", len(c.Streams))
	}
	orders := c.Stream("shop-public-orders")
	if orders == nil {
		t.Fatal(`Stream("shop-public-orders") = nil`)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{name: "stream", got: orders.Stream, want: "orders"},
		{name: "table_name", got: orders.TableName, want: "orders"},
		{name: "legacy key_properties is an empty list", got: fmt.Sprintf("%q %v", orders.LegacyKeyProperties, orders.LegacyKeyProperties != nil), want: "[] true"},
		{name: "legacy replication_method", got: orders.LegacyReplicationMethod, want: ReplicationFullTable},
		{name: "legacy selected", got: *orders.LegacySelected, want: false},
		{name: "database_name", got: orders.DatabaseName, want: "shop"},
		{name: "is_view", got: *orders.IsView, want: false},
		{name: "row_count", got: *orders.RowCount, want: int64(42)},
		{name: "stream_alias", got: orders.StreamAlias, want: "orders_alias"},
		{name: "entry extras", got: strings.Join(slices.Sorted(maps.Keys(orders.Extra)), ","), want: "partition_count,x-entry-extra"},
		{name: "exact big number in extras", got: string(orders.Extra["partition_count"]), want: "18446744073709551616"},
		{name: "catalog extras", got: strings.Join(slices.Sorted(maps.Keys(c.Extra)), ","), want: "generated_by,x-catalog-version"},
		{name: "metadata extras", got: string(catalogTestMust(orders.Metadata.Get(nil, "x-huge"))), want: "123456789012345678901234567890.000"},
		{name: "metadata wins over legacy selected", got: orders.IsSelected(), want: true},
		{name: "metadata wins over legacy method", got: orders.ReplicationMethod(), want: ReplicationIncremental},
		{name: "metadata wins over legacy keys", got: fmt.Sprint(orders.KeyProperties()), want: "[id]"},
		{name: "selected properties", got: fmt.Sprint(orders.SelectedProperties()), want: "[id total updated_at]"},
	}
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}

	var out bytes.Buffer
	if err := c.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if got, want := catalogTestSemantic(t, out.Bytes()), catalogTestSemantic(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the catalog:\n got %s\nwant %s", out.Bytes(), in)
	}
	// Number text and HTML characters are kept byte for byte, not only as
	// equal values.
	for _, s := range []string{
		`123456789012345678901234567890.000`, `18446744073709551616`, `9223372036854775807`,
		`"ratio": 1.10`, `"a": 2.50`, `2.000`, `free text, may hold <b> & </b>`, `"x-null": null`,
	} {
		if !bytes.Contains(out.Bytes(), []byte(s)) {
			t.Errorf("written catalog lacks %s", s)
		}
	}

	// Writing is stable: a second round trip gives the same bytes.
	again, err := ReadCatalog(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var out2 bytes.Buffer
	if err := again.WriteJSON(&out2); err != nil {
		t.Fatal(err)
	}
	if out.String() != out2.String() {
		t.Errorf("second write differs:\n%s\n---\n%s", out.String(), out2.String())
	}
}

func catalogTestMust(raw json.RawMessage, ok bool) json.RawMessage {
	if !ok {
		return json.RawMessage("<absent>")
	}
	return raw
}

func TestCatalogWriteJSON(t *testing.T) {
	selected, view := true, false
	rows := int64(7)
	c := &Catalog{Streams: []CatalogEntry{{
		TapStreamID:          "public-users",
		Stream:               "users",
		Schema:               json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"bio":{"type":"string","description":"<html> & co"}}}`),
		Metadata:             NewStreamMetadata(StreamMetadataOptions{KeyProperties: []string{"id"}}, PropertyMetadata{Name: "id"}),
		LegacyKeyProperties:  []string{"id"},
		LegacySelected:       &selected,
		IsView:               &view,
		RowCount:             &rows,
		LegacyReplicationKey: "",
		Extra: map[string]json.RawMessage{
			"z-extra":       json.RawMessage(`1.50`),
			"a-extra":       json.RawMessage(`"x"`),
			"table_name":    json.RawMessage(`"shadowed"`), // known key: never written from Extra
			"tap_stream_id": json.RawMessage(`"shadowed"`),
		},
	}}}
	want := `{
  "streams": [
    {
      "tap_stream_id": "public-users",
      "stream": "users",
      "schema": {
        "type": "object",
        "properties": {
          "id": {
            "type": "integer"
          },
          "bio": {
            "type": "string",
            "description": "<html> & co"
          }
        }
      },
      "metadata": [
        {
          "breadcrumb": [],
          "metadata": {
            "is-view": false,
            "table-key-properties": [
              "id"
            ]
          }
        },
        {
          "breadcrumb": [
            "properties",
            "id"
          ],
          "metadata": {
            "inclusion": "automatic",
            "selected-by-default": true
          }
        }
      ],
      "key_properties": [
        "id"
      ],
      "selected": true,
      "is_view": false,
      "row_count": 7,
      "a-extra": "x",
      "z-extra": 1.50
    }
  ]
}
`
	var out bytes.Buffer
	if err := c.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("WriteJSON:\n%s\nwant\n%s", out.String(), want)
	}

	var empty bytes.Buffer
	if err := (&Catalog{}).WriteJSON(&empty); err != nil {
		t.Fatal(err)
	}
	if got, want := empty.String(), "{\n  \"streams\": []\n}\n"; got != want {
		t.Errorf("empty catalog = %q, want %q", got, want)
	}

	bad := &Catalog{Streams: []CatalogEntry{{TapStreamID: "a", Stream: "a", Schema: json.RawMessage(`{`)}}}
	err := bad.WriteJSON(&bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "writing catalog: ") || !strings.Contains(err.Error(), "schema: ") {
		t.Errorf("WriteJSON with a broken schema: err = %v, want it to name the schema", err)
	}
}

func TestReadCatalogErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string
	}{
		{name: "empty input", input: "", wantErr: "reading catalog: empty input, want a JSON object"},
		{name: "array", input: "[]", wantErr: "reading catalog: catalog is [], want a JSON object"},
		{name: "null", input: "null", wantErr: "reading catalog: catalog is null, want a JSON object"},
		{name: "truncated", input: `{"streams": [`, wantErr: "reading catalog: unexpected EOF"},
		{name: "trailing data", input: `{"streams": []} {}`, wantErr: "reading catalog: unexpected data after the catalog object"},
		{name: "streams not a list", input: `{"streams": {}}`, wantErr: "reading catalog: streams: json: cannot unmarshal object into Go value of type []json.RawMessage"},
		{name: "entry not an object", input: `{"streams": [{}, 1]}`, wantErr: "reading catalog: streams[1]: stream entry is 1, want a JSON object"},
		{name: "entry null", input: `{"streams": [null]}`, wantErr: "reading catalog: streams[0]: stream entry is null, want a JSON object"},
		{name: "legacy field of wrong type", input: `{"streams": [{"tap_stream_id": "a", "key_properties": "id"}]}`, wantErr: "reading catalog: streams[0]: key_properties: json: cannot unmarshal string into Go value of type []string"},
		{name: "row_count not an integer", input: `{"streams": [{"row_count": 1.5}]}`, wantErr: "reading catalog: streams[0]: row_count: json: cannot unmarshal number 1.5 into Go value of type int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadCatalog(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ReadCatalog(%q) = %+v, want error %q", tt.input, c, tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("ReadCatalog(%q) error =\n %q\nwant\n %q", tt.input, err, tt.wantErr)
			}
		})
	}
}

func TestReadCatalogNullsAreAbsent(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(`{"streams": [{"tap_stream_id": "a", "stream": "a", "selected": null, "key_properties": null, "metadata": null}], "x": null}`))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Streams[0]
	if e.LegacySelected != nil || e.LegacyKeyProperties != nil || e.Metadata != nil {
		t.Errorf("null fields read as %v, %v, %v; want nil", e.LegacySelected, e.LegacyKeyProperties, e.Metadata)
	}
	if got := string(c.Extra["x"]); got != "null" {
		t.Errorf(`unknown null key read as %q, want "null"`, got)
	}
}

func TestLoadCatalogFile(t *testing.T) {
	c, err := LoadCatalogFile(catalogTestFixture)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{c.Streams[0].TapStreamID, c.Streams[1].TapStreamID}; !slices.Equal(got, []string{"shop-public-orders", "shop-public-tags"}) {
		t.Errorf("streams = %q", got)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"streams": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "missing file", path: missing, wantErr: "reading catalog: open " + missing + ": no such file or directory"},
		{name: "bad content names the file", path: bad, wantErr: "reading catalog " + bad + ": streams: json: cannot unmarshal string into Go value of type []json.RawMessage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCatalogFile(tt.path)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("LoadCatalogFile error =\n %v\nwant\n %s", err, tt.wantErr)
			}
		})
	}
}

func TestCatalogEntryIsSelected(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  bool
	}{
		{name: "metadata selected", entry: `{"metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}`, want: true},
		{name: "metadata deselected", entry: `{"metadata": [{"breadcrumb": [], "metadata": {"selected": false}}]}`, want: false},
		{name: "legacy selected", entry: `{"selected": true}`, want: true},
		{name: "legacy deselected", entry: `{"selected": false}`, want: false},
		{name: "metadata false wins over legacy true", entry: `{"selected": true, "metadata": [{"breadcrumb": [], "metadata": {"selected": false}}]}`, want: false},
		{name: "metadata true wins over legacy false", entry: `{"selected": false, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}`, want: true},
		{name: "metadata without selected falls back to legacy", entry: `{"selected": true, "metadata": [{"breadcrumb": [], "metadata": {"inclusion": "available"}}]}`, want: true},
		{name: "malformed metadata value falls back to legacy", entry: `{"selected": true, "metadata": [{"breadcrumb": [], "metadata": {"selected": "no"}}]}`, want: true},
		{name: "nothing set", entry: `{}`, want: false},
		{name: "selected-by-default does not select a stream", entry: `{"metadata": [{"breadcrumb": [], "metadata": {"selected-by-default": true}}]}`, want: false},
		{name: "a selected property does not select the stream", entry: `{"metadata": [{"breadcrumb": ["properties", "id"], "metadata": {"selected": true}}]}`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := catalogTestEntry(t, tt.entry).IsSelected(); got != tt.want {
				t.Errorf("IsSelected() = %v, want %v", got, tt.want)
			}
		})
	}
}

// catalogTestSchema has top-level, nested-object and array properties.
const catalogTestSchema = `{"type": "object", "properties": {
	"id": {"type": "integer"},
	"name": {"type": "string"},
	"updated_at": {"type": "string"},
	"address": {"type": "object", "properties": {
		"id": {"type": "string"},
		"city": {"type": "string"},
		"geo": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}}
	}},
	"tags": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}}}}
}}`

// catalogTestSelectionEntry builds an entry over catalogTestSchema with the
// given metadata list and extra entry-level fields (JSON members, or "").
func catalogTestSelectionEntry(t *testing.T, metadata, fields string) *CatalogEntry {
	t.Helper()
	js := `{"tap_stream_id": "s", "stream": "s", "schema": ` + catalogTestSchema + `, "metadata": ` + metadata
	if fields != "" {
		js += ", " + fields
	}
	return catalogTestEntry(t, js+"}")
}

func TestCatalogEntryPropertySelected(t *testing.T) {
	const selectedStream = `{"breadcrumb": [], "metadata": {"selected": true}}`
	tests := []struct {
		name       string
		metadata   string // the metadata list
		fields     string // extra entry-level members
		breadcrumb Breadcrumb
		want       bool
	}{
		{
			name:       "stream breadcrumb is the stream's selection",
			metadata:   `[` + selectedStream + `]`,
			breadcrumb: Breadcrumb{},
			want:       true,
		},
		{
			name:       "automatic overrides selected false",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "automatic", "selected": false}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "automatic in a stream that is not selected",
			metadata:   `[{"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "automatic"}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "unsupported is never selected, even when selected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "unsupported", "selected": true, "selected-by-default": true}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       false,
		},
		{
			name:       "unsupported wins over being a key",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "table-key-properties": ["id"]}}, {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "unsupported"}}]`,
			breadcrumb: PropertyBreadcrumb("id"),
			want:       false,
		},
		{
			name:       "available and selected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available", "selected": true}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "selected false wins over selected-by-default true",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available", "selected": false, "selected-by-default": true}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       false,
		},
		{
			name:       "selected true wins over selected-by-default false",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"selected": true, "selected-by-default": false}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "selected-by-default true when not selected explicitly",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available", "selected-by-default": true}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "selected-by-default false when not selected explicitly",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available", "selected-by-default": false}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       false,
		},
		{
			name:       "no setting inherits a selected stream",
			metadata:   `[` + selectedStream + `]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "no setting inherits a stream that is not selected",
			metadata:   `[]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       false,
		},
		{
			name:       "no setting inherits a legacy selected stream",
			metadata:   `[]`,
			fields:     `"selected": true`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       true,
		},
		{
			name:       "malformed selected value is ignored",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "name"], "metadata": {"selected": "false", "selected-by-default": false}}]`,
			breadcrumb: PropertyBreadcrumb("name"),
			want:       false,
		},
		{
			name:       "nested property without setting follows its selected parent",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address"], "metadata": {"selected": true}}]`,
			breadcrumb: PropertyBreadcrumb("address", "city"),
			want:       true,
		},
		{
			name:       "nested property without metadata follows a parent selected by inheritance",
			metadata:   `[` + selectedStream + `]`,
			breadcrumb: PropertyBreadcrumb("address", "geo", "lat"),
			want:       true,
		},
		{
			name:       "nested property with its own selected false under a selected parent",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address"], "metadata": {"selected": true}}, {"breadcrumb": ["properties", "address", "properties", "city"], "metadata": {"selected": false}}]`,
			breadcrumb: PropertyBreadcrumb("address", "city"),
			want:       false,
		},
		{
			name:       "nested property selected under a deselected parent is deselected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address"], "metadata": {"selected": false}}, {"breadcrumb": ["properties", "address", "properties", "city"], "metadata": {"selected": true}}]`,
			breadcrumb: PropertyBreadcrumb("address", "city"),
			want:       false,
		},
		{
			name:       "nested property under a parent deselected by default is deselected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address"], "metadata": {"selected-by-default": false}}, {"breadcrumb": ["properties", "address", "properties", "city"], "metadata": {"selected-by-default": true}}]`,
			breadcrumb: PropertyBreadcrumb("address", "city"),
			want:       false,
		},
		{
			name:       "grandchild under a deselected grandparent is deselected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address"], "metadata": {"selected": false}}, {"breadcrumb": ["properties", "address", "properties", "geo", "properties", "lat"], "metadata": {"selected": true}}]`,
			breadcrumb: PropertyBreadcrumb("address", "geo", "lat"),
			want:       false,
		},
		{
			name:       "grandchild under an unsupported parent is deselected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address", "properties", "geo"], "metadata": {"inclusion": "unsupported"}}]`,
			breadcrumb: PropertyBreadcrumb("address", "geo", "lon"),
			want:       false,
		},
		{
			name:       "automatic nested property stays selected under a deselected parent",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "address"], "metadata": {"selected": false}}, {"breadcrumb": ["properties", "address", "properties", "city"], "metadata": {"inclusion": "automatic"}}]`,
			breadcrumb: PropertyBreadcrumb("address", "city"),
			want:       true,
		},
		{
			name:       "property of array items follows the array",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "tags"], "metadata": {"selected": false}}]`,
			breadcrumb: Breadcrumb{"properties", "tags", "items", "properties", "label"},
			want:       false,
		},
		{
			name:       "property of array items under a selected array",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "tags"], "metadata": {"selected": true}}]`,
			breadcrumb: Breadcrumb{"properties", "tags", "items", "properties", "label"},
			want:       true,
		},
		{
			name:       "table-key-properties cannot be deselected",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "table-key-properties": ["id"]}}, {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "available", "selected": false, "selected-by-default": false}}]`,
			breadcrumb: PropertyBreadcrumb("id"),
			want:       true,
		},
		{
			name:       "view-key-properties cannot be deselected",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "view-key-properties": ["id"]}}, {"breadcrumb": ["properties", "id"], "metadata": {"selected": false}}]`,
			breadcrumb: PropertyBreadcrumb("id"),
			want:       true,
		},
		{
			name:       "legacy key_properties cannot be deselected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "id"], "metadata": {"selected": false}}]`,
			fields:     `"key_properties": ["id"]`,
			breadcrumb: PropertyBreadcrumb("id"),
			want:       true,
		},
		{
			name:       "legacy key_properties do not count when metadata lists the keys",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "table-key-properties": []}}, {"breadcrumb": ["properties", "id"], "metadata": {"selected": false}}]`,
			fields:     `"key_properties": ["id"]`,
			breadcrumb: PropertyBreadcrumb("id"),
			want:       false,
		},
		{
			name:       "replication-key cannot be deselected",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "replication-key": "updated_at"}}, {"breadcrumb": ["properties", "updated_at"], "metadata": {"selected": false}}]`,
			breadcrumb: PropertyBreadcrumb("updated_at"),
			want:       true,
		},
		{
			name:       "legacy replication_key cannot be deselected",
			metadata:   `[` + selectedStream + `, {"breadcrumb": ["properties", "updated_at"], "metadata": {"selected-by-default": false}}]`,
			fields:     `"replication_key": "updated_at"`,
			breadcrumb: PropertyBreadcrumb("updated_at"),
			want:       true,
		},
		{
			name:       "a valid replication key that was not chosen can be deselected",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "valid-replication-keys": ["updated_at"]}}, {"breadcrumb": ["properties", "updated_at"], "metadata": {"selected": false}}]`,
			breadcrumb: PropertyBreadcrumb("updated_at"),
			want:       false,
		},
		{
			name:       "a nested property named like a key can be deselected",
			metadata:   `[{"breadcrumb": [], "metadata": {"selected": true, "table-key-properties": ["id"]}}, {"breadcrumb": ["properties", "address", "properties", "id"], "metadata": {"selected": false}}]`,
			breadcrumb: PropertyBreadcrumb("address", "id"),
			want:       false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := catalogTestSelectionEntry(t, tt.metadata, tt.fields)
			if got := e.PropertySelected(tt.breadcrumb); got != tt.want {
				t.Errorf("PropertySelected(%s) = %v, want %v", tt.breadcrumb, got, tt.want)
			}
		})
	}
}

func TestCatalogEntrySelectedProperties(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  []string
	}{
		{
			name: "schema order, keys and automatic kept, deselected dropped",
			entry: `{"schema": {"type": "object", "properties": {"z": {}, "a": {}, "m": {}, "k": {}, "u": {}, "d": {}}},
				"metadata": [
					{"breadcrumb": [], "metadata": {"selected": true, "table-key-properties": ["k"], "replication-key": "d"}},
					{"breadcrumb": ["properties", "z"], "metadata": {"inclusion": "available", "selected-by-default": true}},
					{"breadcrumb": ["properties", "a"], "metadata": {"inclusion": "available", "selected": false}},
					{"breadcrumb": ["properties", "m"], "metadata": {"inclusion": "automatic", "selected": false}},
					{"breadcrumb": ["properties", "k"], "metadata": {"inclusion": "available", "selected": false}},
					{"breadcrumb": ["properties", "u"], "metadata": {"inclusion": "unsupported", "selected-by-default": true}},
					{"breadcrumb": ["properties", "d"], "metadata": {"selected": false}}
				]}`,
			want: []string{"z", "m", "k", "d"},
		},
		{
			name: "stream not selected: only explicit, automatic and keys",
			entry: `{"schema": {"properties": {"a": {}, "b": {}, "c": {}, "id": {}}},
				"key_properties": ["id"],
				"metadata": [
					{"breadcrumb": ["properties", "a"], "metadata": {"selected": true}},
					{"breadcrumb": ["properties", "c"], "metadata": {"inclusion": "automatic"}}
				]}`,
			want: []string{"a", "c", "id"},
		},
		{
			name:  "legacy selected stream without metadata selects everything",
			entry: `{"schema": {"properties": {"b": {}, "a": {}}}, "selected": true}`,
			want:  []string{"b", "a"},
		},
		{
			name:  "schema without properties",
			entry: `{"schema": {"type": "object"}, "selected": true}`,
			want:  []string{},
		},
		{
			name:  "schema that is not an object",
			entry: `{"schema": "object", "selected": true}`,
			want:  nil,
		},
		{
			name:  "no schema",
			entry: `{"selected": true}`,
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := catalogTestEntry(t, tt.entry).SelectedProperties()
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("SelectedProperties() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCatalogEntryPropertyNames(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		want    []string
		wantErr string
	}{
		{name: "schema order", schema: `{"properties": {"b": {"properties": {"x": {}}}, "a": {}}, "type": "object"}`, want: []string{"b", "a"}},
		{name: "properties after other keys", schema: `{"type": "object", "definitions": {"properties": {"no": {}}}, "properties": {"c": {}}}`, want: []string{"c"}},
		{name: "no properties", schema: `{"type": "object"}`, want: nil},
		{name: "empty properties", schema: `{"properties": {}}`, want: []string{}},
		{name: "missing", schema: ``, wantErr: "missing schema"},
		{name: "not an object", schema: `["object"]`, wantErr: "schema is not a JSON object"},
		{name: "properties not an object", schema: `{"properties": ["a"]}`, wantErr: `schema "properties" is not a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &CatalogEntry{}
			if tt.schema != "" {
				e.Schema = json.RawMessage(tt.schema)
			}
			got, err := e.PropertyNames()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("PropertyNames() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("PropertyNames() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCatalogEntryReplicationSettings(t *testing.T) {
	tests := []struct {
		name       string
		entry      string
		wantMethod string
		wantKey    string
		wantKeys   []string
	}{
		{
			name:       "nothing set",
			entry:      `{}`,
			wantMethod: "", wantKey: "", wantKeys: nil,
		},
		{
			name:       "legacy fields only",
			entry:      `{"replication_method": "INCREMENTAL", "replication_key": "updated_at", "key_properties": ["id"]}`,
			wantMethod: ReplicationIncremental, wantKey: "updated_at", wantKeys: []string{"id"},
		},
		{
			name:       "metadata wins over legacy",
			entry:      `{"replication_method": "FULL_TABLE", "replication_key": "old", "key_properties": ["old_id"], "metadata": [{"breadcrumb": [], "metadata": {"replication-method": "LOG_BASED", "replication-key": "lsn", "table-key-properties": ["id", "region"]}}]}`,
			wantMethod: ReplicationLogBased, wantKey: "lsn", wantKeys: []string{"id", "region"},
		},
		{
			name:       "replication-method wins over forced-replication-method",
			entry:      `{"metadata": [{"breadcrumb": [], "metadata": {"replication-method": "FULL_TABLE", "forced-replication-method": "INCREMENTAL"}}]}`,
			wantMethod: ReplicationFullTable,
		},
		{
			name:       "forced-replication-method wins over legacy",
			entry:      `{"replication_method": "FULL_TABLE", "metadata": [{"breadcrumb": [], "metadata": {"forced-replication-method": "INCREMENTAL"}}]}`,
			wantMethod: ReplicationIncremental,
		},
		{
			name:     "view-key-properties when there are no table keys",
			entry:    `{"key_properties": ["legacy"], "metadata": [{"breadcrumb": [], "metadata": {"view-key-properties": ["code"]}}]}`,
			wantKeys: []string{"code"},
		},
		{
			name:     "table-key-properties win over view-key-properties",
			entry:    `{"metadata": [{"breadcrumb": [], "metadata": {"table-key-properties": ["id"], "view-key-properties": ["code"]}}]}`,
			wantKeys: []string{"id"},
		},
		{
			name:     "an empty table-key-properties list means no keys",
			entry:    `{"key_properties": ["legacy"], "metadata": [{"breadcrumb": [], "metadata": {"table-key-properties": []}}]}`,
			wantKeys: []string{},
		},
		{
			name:     "keys under a property breadcrumb are not stream keys",
			entry:    `{"key_properties": ["legacy"], "metadata": [{"breadcrumb": ["properties", "id"], "metadata": {"table-key-properties": ["id"], "replication-key": "id"}}]}`,
			wantKeys: []string{"legacy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := catalogTestEntry(t, tt.entry)
			if got := e.ReplicationMethod(); got != tt.wantMethod {
				t.Errorf("ReplicationMethod() = %q, want %q", got, tt.wantMethod)
			}
			if got := e.ReplicationKey(); got != tt.wantKey {
				t.Errorf("ReplicationKey() = %q, want %q", got, tt.wantKey)
			}
			if got := e.KeyProperties(); !slices.Equal(got, tt.wantKeys) || (got == nil) != (tt.wantKeys == nil) {
				t.Errorf("KeyProperties() = %#v, want %#v", got, tt.wantKeys)
			}
		})
	}
}

func TestCatalogEntryKeyPropertiesIsACopy(t *testing.T) {
	e := catalogTestEntry(t, `{"key_properties": ["id"], "metadata": []}`)
	e.KeyProperties()[0] = "changed"
	if e.LegacyKeyProperties[0] != "id" {
		t.Errorf("KeyProperties() aliases the entry: key_properties is now %q", e.LegacyKeyProperties)
	}
	e = catalogTestEntry(t, `{"metadata": [{"breadcrumb": [], "metadata": {"table-key-properties": ["id"]}}]}`)
	e.KeyProperties()[0] = "changed"
	if got := e.KeyProperties(); got[0] != "id" {
		t.Errorf("KeyProperties() aliases the metadata: now %q", got)
	}
}

func TestCatalogStreamAndSelectedStreams(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(`{"streams": [
		{"tap_stream_id": "a", "stream": "a", "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]},
		{"tap_stream_id": "b", "stream": "b"},
		{"tap_stream_id": "c", "stream": "c", "selected": true},
		{"tap_stream_id": "d", "stream": "d", "selected": true, "metadata": [{"breadcrumb": [], "metadata": {"selected": false}}]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range c.SelectedStreams() {
		ids = append(ids, e.TapStreamID)
	}
	if want := []string{"a", "c"}; !slices.Equal(ids, want) {
		t.Errorf("SelectedStreams() = %q, want %q", ids, want)
	}

	tests := []struct {
		name string
		id   string
		want string // stream name, or "" for nil
	}{
		{name: "first", id: "a", want: "a"},
		{name: "last", id: "d", want: "d"},
		{name: "missing", id: "zz", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Stream(tt.id)
			if (got == nil) != (tt.want == "") || (got != nil && got.Stream != tt.want) {
				t.Errorf("Stream(%q) = %+v, want stream %q", tt.id, got, tt.want)
			}
		})
	}

	// Stream returns a pointer into the catalog, so selecting through it
	// changes the catalog.
	c.Stream("b").Metadata.SetSelected(nil, true)
	if !c.Streams[1].IsSelected() {
		t.Error("selecting through Stream() did not change the catalog")
	}
}

func TestCatalogValidate(t *testing.T) {
	tests := []struct {
		name    string
		catalog string
		wantErr []string // one line per problem, in order; nil for valid
	}{
		{
			name:    "fixture is valid",
			catalog: "",
			wantErr: nil,
		},
		{
			name:    "empty catalog is valid",
			catalog: `{"streams": []}`,
			wantErr: nil,
		},
		{
			name: "every problem at once",
			catalog: `{"streams": [
				{"tap_stream_id": "a", "stream": "a", "schema": {"properties": {}}},
				{"tap_stream_id": "a", "stream": "a2", "schema": {"properties": {}}},
				{"stream": "orders", "schema": "object"},
				{"metadata": []},
				{"tap_stream_id": "b", "stream": "b", "schema": {"properties": {"id": {}}},
				 "metadata": [
					{"breadcrumb": [], "metadata": {"selected": true, "replication-key": "updated"}},
					{"breadcrumb": ["properties"], "metadata": {}},
					{"breadcrumb": ["columns", "id"], "metadata": {}},
					{"metadata": {"selected": true}},
					{"breadcrumb": ["properties", "id"], "metadata": {"selected": "yes", "inclusion": "always", "x-custom": "anything"}},
					{"breadcrumb": ["properties", "id"], "metadata": {}},
					{"breadcrumb": ["properties", "name"]}
				 ]},
				{"tap_stream_id": "c", "stream": "c", "selected": true, "replication_key": "gone", "schema": {"properties": []}},
				{"tap_stream_id": "d", "stream": "d", "selected": true, "replication_key": "gone", "schema": {"properties": {"x": {}}}},
				{"tap_stream_id": "e", "stream": "e", "replication_key": "gone", "schema": {"properties": {"x": {}}}}
			]}`,
			wantErr: []string{
				`catalog stream "a": duplicate tap_stream_id: streams[0] and streams[1]`,
				`catalog streams[2] (stream "orders"): missing tap_stream_id`,
				`catalog streams[2] (stream "orders"): schema is not a JSON object`,
				`catalog streams[3]: missing tap_stream_id`,
				`catalog streams[3]: missing stream`,
				`catalog streams[3]: missing schema`,
				`catalog stream "b" metadata ["properties"]: malformed breadcrumb: "properties" must be followed by a property name`,
				`catalog stream "b" metadata ["columns","id"]: malformed breadcrumb: unexpected "columns", want "properties" or "items"`,
				`catalog stream "b": metadata[3] has no breadcrumb`,
				`catalog stream "b" metadata ["properties","id"]: "inclusion" is "always", want "automatic", "available" or "unsupported"`,
				`catalog stream "b" metadata ["properties","id"]: "selected" is "yes", want true or false`,
				`catalog stream "b" metadata ["properties","id"]: duplicate breadcrumb: metadata[4] and metadata[5]`,
				`catalog stream "b" metadata ["properties","name"]: missing metadata object`,
				`catalog stream "b": replication key "updated" is not a property of the schema`,
				`catalog stream "c": schema "properties" is not a JSON object`,
				`catalog stream "d": replication key "gone" is not a property of the schema`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *Catalog
			var err error
			if tt.catalog == "" {
				c, err = LoadCatalogFile(catalogTestFixture)
			} else {
				c, err = ReadCatalog(strings.NewReader(tt.catalog))
			}
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %d problems", len(tt.wantErr))
			}
			if got, want := err.Error(), strings.Join(tt.wantErr, "\n"); got != want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCatalogValidateTypedErrors(t *testing.T) {
	c, err := ReadCatalog(strings.NewReader(`{"streams": [
		{"tap_stream_id": "ok", "stream": "ok", "schema": {}},
		{"tap_stream_id": "bad", "stream": "s", "schema": {}, "metadata": [{"breadcrumb": ["x"], "metadata": {}}]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	var ce *CatalogError
	if !errors.As(err, &ce) {
		t.Fatalf("Validate() = %v, want a *CatalogError", err)
	}
	got := fmt.Sprintf("%d %s %s %s %s", ce.Index, ce.TapStreamID, ce.Stream, ce.Breadcrumb, ce.Problem)
	want := `1 bad s ["x"] malformed breadcrumb: unexpected "x", want "properties" or "items"`
	if got != want {
		t.Errorf("CatalogError fields = %s, want %s", got, want)
	}
}
