package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/singerkit/singerkit/taps/sqltap"
)

// systemDBs are never discovered unless named in filter_dbs.
var systemDBs = []string{"information_schema", "mysql", "performance_schema", "sys"}

// column is a discovered column with its encoder.
type column struct {
	name string
	spec typeSpec
	ct   colType
	enc  valueEncoder
}

// tableInfo is the driver's side of a discovered table.
type tableInfo struct {
	db, name string
	cols     []column
}

// dbFilter is the WHERE condition on a schema column and its arguments.
func dbFilter(col string, dbs []string) (string, []any) {
	list := dbs
	op := "IN"
	if len(list) == 0 {
		list, op = systemDBs, "NOT IN"
	}
	args := make([]any, len(list))
	for i, d := range list {
		args[i] = d
	}
	return fmt.Sprintf("%s %s (%s)", col, op, strings.TrimSuffix(strings.Repeat("?,", len(list)), ",")), args
}

// Discover lists the tables and views of the configured databases.
func (d *Driver) Discover(ctx context.Context) ([]*sqltap.Table, error) {
	conn, err := d.session(ctx)
	if err != nil {
		return nil, err
	}
	dbs := d.cfg.databases()
	type key struct{ db, name string }
	var tables []*sqltap.Table
	byKey := make(map[key]*sqltap.Table)
	infos := make(map[*sqltap.Table]*tableInfo)

	where, args := dbFilter("TABLE_SCHEMA", dbs)
	rows, err := conn.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES WHERE `+where+` ORDER BY TABLE_SCHEMA, TABLE_NAME`, args...)
	if err != nil {
		return nil, fmt.Errorf("discovery: reading information_schema.TABLES: %w", err)
	}
	for rows.Next() {
		var db, name, typ string
		var n sql.NullInt64
		if err := rows.Scan(&db, &name, &typ, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("discovery: reading information_schema.TABLES: %w", err)
		}
		id := db + "-" + name
		t := &sqltap.Table{TapStreamID: id, Stream: id, Namespace: db, Name: name, Database: db, IsView: typ == "VIEW"}
		if n.Valid && !t.IsView {
			v := n.Int64
			t.RowCount = &v
		}
		tables = append(tables, t)
		byKey[key{db, name}] = t
		infos[t] = &tableInfo{db: db, name: name}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("discovery: reading information_schema.TABLES: %w", err)
	}

	// MariaDB's json is longtext with a json_valid check.
	jsonCols := make(map[string]bool)
	where, args = dbFilter("CONSTRAINT_SCHEMA", dbs)
	if rows, err := conn.QueryContext(ctx, `SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CHECK_CLAUSE LIKE 'json_valid(%' AND `+where, args...); err == nil {
		for rows.Next() {
			var db, name, clause string
			if rows.Scan(&db, &name, &clause) == nil {
				col := strings.Trim(strings.TrimSuffix(strings.TrimPrefix(clause, "json_valid("), ")"), "`")
				jsonCols[db+"\x00"+name+"\x00"+col] = true
			}
		}
		rows.Close()
	} // MySQL 5.7 has no CHECK_CONSTRAINTS (and a real json type).

	where, args = dbFilter("TABLE_SCHEMA", dbs)
	rows, err = conn.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
	       CHARACTER_MAXIMUM_LENGTH, COALESCE(NUMERIC_PRECISION, -1), COALESCE(NUMERIC_SCALE, -1)
	FROM information_schema.COLUMNS WHERE `+where+` ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`, args...)
	if err != nil {
		return nil, fmt.Errorf("discovery: reading information_schema.COLUMNS: %w", err)
	}
	for rows.Next() {
		var db, tname, cname, nullable string
		var ct colType
		var maxLen sql.NullInt64
		if err := rows.Scan(&db, &tname, &cname, &ct.dataType, &ct.columnType, &nullable, &maxLen, &ct.precision, &ct.scale); err != nil {
			rows.Close()
			return nil, fmt.Errorf("discovery: reading information_schema.COLUMNS: %w", err)
		}
		t := byKey[key{db, tname}]
		if t == nil {
			continue
		}
		ct.dataType = strings.ToLower(ct.dataType)
		// COLUMN_TYPE keeps the case of enum and set values.
		ct.maxLength = -1
		if maxLen.Valid {
			ct.maxLength = maxLen.Int64
		}
		ct.isJSON = jsonCols[db+"\x00"+tname+"\x00"+cname]
		sqlType := ct.columnType
		if ct.isJSON {
			sqlType = "json"
		}
		cs, ok := specFor(ct, nullable == "YES")
		col := sqltap.Column{Name: cname, SQLType: sqlType, Unsupported: !ok, Orderable: ok && cs.spec.orderable}
		if ok {
			col.Schema = json.RawMessage(cs.schema)
		}
		t.Columns = append(t.Columns, col)
		info := infos[t]
		info.cols = append(info.cols, column{name: cname, spec: cs.spec, ct: ct, enc: valueEncoder{enc: cs.spec.enc, boolean: cs.spec.jsonType == "boolean"}})
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("discovery: reading information_schema.COLUMNS: %w", err)
	}

	where, args = dbFilter("TABLE_SCHEMA", dbs)
	rows, err = conn.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
	WHERE CONSTRAINT_NAME = 'PRIMARY' AND `+where+` ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`, args...)
	if err != nil {
		return nil, fmt.Errorf("discovery: reading primary keys: %w", err)
	}
	for rows.Next() {
		var db, tname, cname string
		if err := rows.Scan(&db, &tname, &cname); err != nil {
			rows.Close()
			return nil, fmt.Errorf("discovery: reading primary keys: %w", err)
		}
		if t := byKey[key{db, tname}]; t != nil {
			t.Keys = append(t.Keys, cname)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("discovery: reading primary keys: %w", err)
	}
	for _, t := range tables {
		if t.Keys == nil {
			t.Keys = []string{}
		}
	}
	d.tables = infos
	return tables, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
