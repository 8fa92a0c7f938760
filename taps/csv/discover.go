package csvtap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// Discover writes the catalog of the configured files: one stream per file,
// its inferred schema (with schema_overrides applied) and standard
// metadata. Nothing in it is selected: that is the user's choice.
func Discover(ctx context.Context, env *cli.Env) error {
	cfg, err := parseConfig(env.Config)
	if err != nil {
		return err
	}
	cat := catalogOut{Streams: make([]catalogStreamOut, 0, len(cfg.Files))}
	for i := range cfg.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		fc := &cfg.Files[i]
		st, err := planFile(fc, cfg.SampleRows, nil)
		if err != nil {
			return err
		}
		cat.Streams = append(cat.Streams, st.catalogEntry())
	}
	b, err := json.MarshalIndent(cat, "", "  ")
	if err != nil {
		return fmt.Errorf("writing the catalog: %w", err)
	}
	_, err = env.Stdout.Write(append(b, '\n'))
	return err
}

// planFile opens fc's file, infers its types from the first sampleRows rows
// and closes it.
func planFile(fc *FileConfig, sampleRows int, sel *streamSelection) (*stream, error) {
	cf, err := openCSV(fc)
	if err != nil {
		return nil, err
	}
	defer cf.close()
	inf, n, err := sampleTypes(cf, sampleRows)
	if err != nil {
		return nil, err
	}
	return buildStream(fc, cf.columns, inf, n, sel)
}

// catalogOut is the catalog discovery writes. (The shared singer.Catalog
// can replace it once it lands on this branch.)
type catalogOut struct {
	Streams []catalogStreamOut `json:"streams"`
}

type catalogStreamOut struct {
	TapStreamID string          `json:"tap_stream_id"`
	Stream      string          `json:"stream"`
	Schema      json.RawMessage `json:"schema"`
	Metadata    []metadataOut   `json:"metadata"`
}

type metadataOut struct {
	Breadcrumb []string       `json:"breadcrumb"`
	Metadata   map[string]any `json:"metadata"`
}

func (st *stream) catalogEntry() catalogStreamOut {
	md := []metadataOut{{
		Breadcrumb: []string{},
		Metadata: map[string]any{
			"table-key-properties":      st.fc.KeyProperties,
			"forced-replication-method": "FULL_TABLE",
		},
	}}
	for _, c := range st.columns {
		inclusion := "available"
		if slices.Contains(st.fc.KeyProperties, c.name) {
			inclusion = "automatic"
		}
		md = append(md, metadataOut{
			Breadcrumb: []string{"properties", c.name},
			Metadata:   map[string]any{"inclusion": inclusion, "selected-by-default": true},
		})
	}
	return catalogStreamOut{
		TapStreamID: st.fc.Stream,
		Stream:      st.fc.Stream,
		Schema:      st.schema,
		Metadata:    md,
	}
}

// streamSelection is what a catalog selects of one stream.
type streamSelection struct {
	entry *singer.CatalogEntry
}

// propertySelected applies the Singer rules (singer.CatalogEntry): inclusion
// unsupported is never emitted, automatic always, a key property always;
// else the property's "selected", else its "selected-by-default", else it
// follows the (selected) stream.
func (s *streamSelection) propertySelected(name string, isKey bool) bool {
	return isKey || s.entry.PropertySelected(singer.PropertyBreadcrumb(name))
}

// selectionOf returns the selected streams of a catalog by tap_stream_id,
// or nil when there is no catalog (everything is synced).
func selectionOf(catalog *singer.Catalog) (map[string]*streamSelection, error) {
	if catalog == nil {
		return nil, nil
	}
	out := make(map[string]*streamSelection)
	for _, e := range catalog.SelectedStreams() {
		out[e.TapStreamID] = &streamSelection{entry: e}
	}
	return out, nil
}

// parseSelection reads a catalog's JSON and returns its selection.
func parseSelection(raw []byte) (map[string]*streamSelection, error) {
	cat, err := singer.ReadCatalog(bytes.NewReader(raw))
	if err != nil {
		return nil, cli.Usagef("cannot use the catalog: %v", err)
	}
	return selectionOf(cat)
}
