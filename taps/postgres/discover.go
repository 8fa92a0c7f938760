package postgres

import (
	"context"
	"fmt"

	"github.com/singerkit/singerkit/taps/sqltap"
)

// pgType is a row of pg_type.
type pgType struct {
	name     string
	typtype  byte // b base, d domain, e enum, r range, c composite, p pseudo, m multirange
	base     uint32
	basemod  int32
	elem     uint32
	category byte
	delim    byte
}

// column is a discovered column with its encoder.
type column struct {
	enc valueEncoder
}

// tableInfo is the driver's side of a discovered table.
type tableInfo struct {
	ns, name string
	relkind  byte
	cols     []column
}

const typesQuery = `SELECT t.oid, t.typname, t.typtype, t.typbasetype, t.typtypmod, t.typelem, t.typcategory, t.typdelim FROM pg_type t`

const columnsQuery = `
SELECT c.oid, n.nspname, c.relname, c.relkind,
       -- reltuples is -1 until the table is first vacuumed or analyzed:
       -- then the statistics' live-row count (the partitions' sum for a
       -- partitioned table) is the estimate.
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8
            WHEN c.relkind = 'p' THEN (
              SELECT sum(CASE WHEN pc.reltuples >= 0 THEN pc.reltuples::float8 ELSE coalesce(ps.n_live_tup, 0)::float8 END)
              FROM pg_partition_tree(c.oid) pt
              JOIN pg_class pc ON pc.oid = pt.relid
              LEFT JOIN pg_stat_user_tables ps ON ps.relid = pt.relid
              WHERE pt.isleaf)
            ELSE coalesce((SELECT st.n_live_tup FROM pg_stat_user_tables st WHERE st.relid = c.oid), -1)::float8
       END,
       a.attname, a.atttypid, a.atttypmod, a.attnotnull, format_type(a.atttypid, a.atttypmod), a.attndims
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND has_table_privilege(c.oid, 'SELECT')
  AND (cardinality($1::text[]) = 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
       OR n.nspname = ANY($1::text[]))
ORDER BY n.nspname, c.relname, a.attnum`

const keysQuery = `
SELECT i.indrelid, a.attname
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indisprimary
ORDER BY i.indrelid, k.ord`

// Discover lists the tables, views, materialized views and foreign tables
// of the configured schemas that the user may read.
func (d *Driver) Discover(ctx context.Context) ([]*sqltap.Table, error) {
	types := make(map[uint32]pgType)
	rows, err := d.conn.Query(ctx, typesQuery)
	if err != nil {
		return nil, fmt.Errorf("discovery: reading pg_type: %w", err)
	}
	for rows.Next() {
		var oid uint32
		var t pgType
		var typtype, category, delim string
		if err := rows.Scan(&oid, &t.name, &typtype, &t.base, &t.basemod, &t.elem, &category, &delim); err != nil {
			return nil, fmt.Errorf("discovery: reading pg_type: %w", err)
		}
		t.typtype, t.category, t.delim = typtype[0], category[0], delim[0]
		types[oid] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("discovery: reading pg_type: %w", err)
	}

	var dbName string
	if err := d.conn.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}

	keys := make(map[uint32][]string)
	rows, err = d.conn.Query(ctx, keysQuery)
	if err != nil {
		return nil, fmt.Errorf("discovery: reading primary keys: %w", err)
	}
	for rows.Next() {
		var rel uint32
		var name string
		if err := rows.Scan(&rel, &name); err != nil {
			return nil, fmt.Errorf("discovery: reading primary keys: %w", err)
		}
		keys[rel] = append(keys[rel], name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("discovery: reading primary keys: %w", err)
	}

	schemas := d.cfg.FilterSchemas
	if schemas == nil {
		schemas = []string{}
	}
	rows, err = d.conn.Query(ctx, columnsQuery, schemas)
	if err != nil {
		return nil, fmt.Errorf("discovery: reading columns: %w", err)
	}
	defer rows.Close()
	var tables []*sqltap.Table
	d.tables = make(map[*sqltap.Table]*tableInfo)
	var cur *sqltap.Table
	var curInfo *tableInfo
	var curOID uint32
	for rows.Next() {
		var (
			oid              uint32
			ns, rel, relkind string
			tuples           *float64
			attname, sqlType string
			atttypid         uint32
			atttypmod        int32
			notNull          bool
			dims             int32
		)
		if err := rows.Scan(&oid, &ns, &rel, &relkind, &tuples, &attname, &atttypid, &atttypmod, &notNull, &sqlType, &dims); err != nil {
			return nil, fmt.Errorf("discovery: reading columns: %w", err)
		}
		if cur == nil || oid != curOID {
			curOID = oid
			id := ns + "-" + rel
			cur = &sqltap.Table{
				TapStreamID: id, Stream: id, Namespace: ns, Name: rel, Database: dbName,
				IsView: relkind == "v" || relkind == "m",
				Keys:   keys[oid],
			}
			if tuples != nil && *tuples >= 0 && relkind != "v" {
				n := int64(*tuples)
				cur.RowCount = &n
			}
			curInfo = &tableInfo{ns: ns, name: rel, relkind: relkind[0]}
			d.tables[cur] = curInfo
			tables = append(tables, cur)
		}
		ti, delim := resolveType(types, atttypid, atttypmod)
		ti.dims = int(dims)
		cs, ok := specFor(ti, !notNull)
		col := sqltap.Column{Name: attname, SQLType: sqlType, Unsupported: !ok}
		if ok {
			col.Schema = []byte(cs.schema)
			col.Orderable = cs.spec.orderable
		}
		cur.Columns = append(cur.Columns, col)
		curInfo.cols = append(curInfo.cols, column{enc: valueEncoder{enc: cs.spec.enc, array: cs.array, delim: delim}})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("discovery: reading columns: %w", err)
	}
	return tables, nil
}

// resolveType follows domains to their base type and arrays to their
// element, and returns the array delimiter.
func resolveType(types map[uint32]pgType, oid uint32, typmod int32) (pgTypeInfo, byte) {
	var ti pgTypeInfo
	delim := byte(',')
	for depth := 0; depth < 32; depth++ {
		t, ok := types[oid]
		if !ok {
			ti.pseudo = true
			return ti, delim
		}
		switch {
		case t.typtype == 'd':
			if typmod < 0 {
				typmod = t.basemod
			}
			oid = t.base
			continue
		case t.category == 'A' && t.elem != 0 && !ti.isArray:
			ti.isArray = true
			oid = t.elem
			if et, ok := types[t.elem]; ok {
				delim = et.delim
			}
			continue
		}
		ti.name = t.name
		ti.typmod = typmod
		ti.isEnum = t.typtype == 'e'
		ti.pseudo = t.typtype == 'p'
		return ti, delim
	}
	ti.pseudo = true
	return ti, delim
}
