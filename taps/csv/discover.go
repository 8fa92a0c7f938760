package csvtap

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/singerkit/singerkit/singer"
)

// Discover writes the catalog of the configured files: one stream per file,
// its inferred schema (with schema_overrides applied) and standard
// metadata. Nothing in it is selected: that is the user's choice.
func Discover(ctx context.Context, env *singer.Env) error {
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

// catalogIn is the part of a catalog that selection needs. It is read from
// the JSON of the catalog the command line loaded, so that it works with
// any singer.Catalog that marshals to the Singer catalog format.
// TODO: use singer.Catalog's IsSelected and PropertySelected once the
// catalog lands on this branch.
type catalogIn struct {
	Streams []struct {
		TapStreamID string `json:"tap_stream_id"`
		Selected    *bool  `json:"selected"` // legacy, entry level
		Metadata    []struct {
			Breadcrumb []string `json:"breadcrumb"`
			Metadata   struct {
				Selected          *bool  `json:"selected"`
				SelectedByDefault *bool  `json:"selected-by-default"`
				Inclusion         string `json:"inclusion"`
			} `json:"metadata"`
		} `json:"metadata"`
	} `json:"streams"`
}

// streamSelection is what a catalog selects of one stream.
type streamSelection struct {
	props map[string]propertyMeta
}

type propertyMeta struct {
	selected, selectedByDefault *bool
	inclusion                   string
}

// propertySelected applies the Singer rules, first match wins: inclusion
// unsupported is never emitted, automatic always; a key property always;
// else the property's "selected", else its "selected-by-default", else it
// follows the (selected) stream.
func (s *streamSelection) propertySelected(name string, isKey bool) bool {
	p := s.props[name]
	switch {
	case p.inclusion == "unsupported":
		return false
	case p.inclusion == "automatic", isKey:
		return true
	case p.selected != nil:
		return *p.selected
	case p.selectedByDefault != nil:
		return *p.selectedByDefault
	}
	return true
}

// selectionOf returns the selected streams of a catalog by tap_stream_id,
// or nil when there is no catalog (everything is synced). A stream is
// selected by "selected": true in its metadata with the empty breadcrumb
// (else the legacy entry-level "selected").
func selectionOf(catalog *singer.Catalog) (map[string]*streamSelection, error) {
	if catalog == nil {
		return nil, nil
	}
	raw, err := json.Marshal(catalog)
	if err != nil {
		return nil, singer.Usagef("cannot use the catalog: %v", err)
	}
	return parseSelection(raw)
}

func parseSelection(raw []byte) (map[string]*streamSelection, error) {
	var cat catalogIn
	if err := json.Unmarshal(raw, &cat); err != nil {
		return nil, singer.Usagef("cannot use the catalog: %v", err)
	}
	out := make(map[string]*streamSelection)
	for _, e := range cat.Streams {
		selected := e.Selected != nil && *e.Selected
		sel := &streamSelection{props: make(map[string]propertyMeta)}
		for _, m := range e.Metadata {
			switch {
			case len(m.Breadcrumb) == 0:
				if m.Metadata.Selected != nil {
					selected = *m.Metadata.Selected
				}
			case len(m.Breadcrumb) == 2 && m.Breadcrumb[0] == "properties":
				sel.props[m.Breadcrumb[1]] = propertyMeta{
					selected:          m.Metadata.Selected,
					selectedByDefault: m.Metadata.SelectedByDefault,
					inclusion:         m.Metadata.Inclusion,
				}
			}
		}
		if selected {
			out[e.TapStreamID] = sel
		}
	}
	return out, nil
}
