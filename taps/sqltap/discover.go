package sqltap

import (
	"context"
	"encoding/json"

	"github.com/singerkit/singerkit/singer"
)

// Discover lists the driver's tables as a catalog with full metadata.
func (e *Engine) Discover(ctx context.Context) (*singer.Catalog, error) {
	tables, err := e.Driver.Discover(ctx)
	if err != nil {
		return nil, err
	}
	cat := &singer.Catalog{Streams: make([]singer.CatalogEntry, 0, len(tables))}
	for _, t := range tables {
		cat.Streams = append(cat.Streams, CatalogEntry(t))
	}
	return cat, nil
}

// CatalogEntry is the catalog entry discovery writes for t.
func CatalogEntry(t *Table) singer.CatalogEntry {
	opts := singer.StreamMetadataOptions{
		KeyProperties:        t.Keys,
		ValidReplicationKeys: []string{},
		SchemaName:           t.Namespace,
		DatabaseName:         t.Database,
		IsView:               t.IsView,
		RowCount:             t.RowCount,
	}
	if t.IsView {
		// A view has no key to chunk on or to resume from.
		opts.ForcedReplicationMethod = singer.ReplicationFullTable
	}
	props := make([]singer.PropertyMetadata, 0, len(t.Columns))
	for _, c := range t.Columns {
		p := singer.PropertyMetadata{Name: c.Name, SQLDatatype: c.SQLType}
		if c.Unsupported {
			p.Inclusion = singer.InclusionUnsupported
		} else if c.Orderable {
			opts.ValidReplicationKeys = append(opts.ValidReplicationKeys, c.Name)
		}
		props = append(props, p)
	}
	return singer.CatalogEntry{
		TapStreamID: t.TapStreamID,
		Stream:      t.Stream,
		TableName:   t.Name,
		Schema:      tableSchema(t, nil),
		Metadata:    singer.NewStreamMetadata(opts, props...),
	}
}

// tableSchema is the stream's JSON schema: the columns cols (all when nil)
// in table order.
func tableSchema(t *Table, cols []int) json.RawMessage {
	if cols == nil {
		cols = make([]int, len(t.Columns))
		for i := range cols {
			cols[i] = i
		}
	}
	b := []byte(`{"type":"object","properties":{`)
	for n, i := range cols {
		if n > 0 {
			b = append(b, ',')
		}
		c := &t.Columns[i]
		b = singer.AppendJSONString(b, c.Name)
		b = append(b, ':')
		if len(c.Schema) == 0 {
			b = append(b, `{}`...)
		} else {
			b = append(b, c.Schema...)
		}
	}
	return append(b, `}}`...)
}
