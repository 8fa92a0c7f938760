package mysql

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/internal/mysqlconn"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// sqlMode is the session's sql_mode: strict (a bad value is an error, not a
// warning and a changed value), no zero dates, and backslash escapes on
// (the LOAD DATA statement spells its escape character with one).
const sqlMode = "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

// rowColumn is the stage's record position: the last record of a key wins.
const rowColumn = "_singerkit_row"

// readerSeq names the in-memory LOAD DATA sources uniquely in the process.
var readerSeq atomic.Int64

// session is one pinned connection: it prepares tables and loads batches.
type session struct {
	conn      *sql.Conn
	db        *sql.DB // the session's own pool (one connector, one connection)
	netMu     sync.Mutex
	netConn   *liveconn.Conn      // the network connection under conn
	driverLog mysqlconn.DriverLog // the cause behind the driver's "invalid connection"
	d         *Dialect
	log       *singer.Log
	dbs       map[string]bool
	noLocal   bool   // LOAD DATA LOCAL refused or disabled: multi-row INSERTs
	collation string // binary, no-pad collation for new databases and tables
	nstage    int
	stages    map[string]string // table -> stage of the current plan
	// conflicts marks tables where a batch met existing keys: their
	// upserts go through the stage from then on.
	conflicts map[string]bool
}

func (s *session) Close() error {
	if s.conn != nil {
		s.conn.Close()
	}
	return s.db.Close()
}

func (s *session) init(ctx context.Context) error {
	stmts := []string{"SET time_zone = '+00:00'", "SET sql_mode = '" + sqlMode + "'"}
	for _, q := range stmts {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("setting up the session (%s): %w", q, err)
		}
	}
	if st := s.d.cfg.Timeouts().Statement; st > 0 {
		// MariaDB limits every statement; MySQL has max_execution_time,
		// which limits SELECTs only.
		_, err := s.conn.ExecContext(ctx, fmt.Sprintf("SET SESSION max_statement_time = %.3f", st.Seconds()))
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1193 {
			_, err = s.conn.ExecContext(ctx, fmt.Sprintf("SET SESSION max_execution_time = %d", st.Milliseconds()))
		}
		if err != nil {
			return fmt.Errorf("setting statement_timeout_seconds: %w", err)
		}
	}
	for i, q := range s.d.cfg.SessionSQLs {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("session_sqls[%d]: %w", i, err)
		}
	}
	// Keys compare byte for byte, trailing spaces included, as in the
	// source: a binary collation without padding where the server has one.
	s.collation = "utf8mb4_bin"
	var c sql.NullString
	err := s.conn.QueryRowContext(ctx, `SELECT MAX(COLLATION_NAME) FROM information_schema.COLLATIONS
		WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')`).Scan(&c)
	if err != nil {
		return fmt.Errorf("reading the server's collations: %w", err)
	}
	if c.Valid {
		s.collation = c.String
	}
	s.stages = map[string]string{}
	s.conflicts = map[string]bool{}
	return nil
}

func tableIdent(db, table string) string { return quote(db) + "." + quote(table) }

// columnsSQL reads columns: name, types, lengths, nullability.
const columnsSQL = `COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), COALESCE(CHARACTER_MAXIMUM_LENGTH, 0),
		COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0), IS_NULLABLE
		FROM information_schema.COLUMNS`

// describe reads a table's columns (nil when it does not exist).
func (s *session) describe(ctx context.Context, db, table string) (map[string]existingColumn, error) {
	k := tableKey{db, table}
	cols, err := s.describeMany(ctx, []tableKey{k})
	return cols[k], err
}

// scanColumn reads a row of columnsSQL (after any leading columns).
func scanColumn(rows *sql.Rows, lead ...any) (existingColumn, error) {
	var c existingColumn
	var nullable string
	if err := rows.Scan(append(lead, &c.name, &c.dataType, &c.columnType, &c.charLen, &c.precision, &c.scale, &nullable)...); err != nil {
		return c, err
	}
	c.nullable = nullable == "YES"
	return c, nil
}

// markJSON marks the LONGTEXT column of a json_valid check clause as JSON.
func markJSON(cols map[string]existingColumn, clause string) {
	inner, ok := strings.CutPrefix(clause, "json_valid(")
	if inner, ok2 := strings.CutSuffix(inner, ")"); ok && ok2 && len(inner) >= 2 && inner[0] == '`' && inner[len(inner)-1] == '`' {
		name := strings.ReplaceAll(inner[1:len(inner)-1], "``", "`")
		if c, ok := cols[name]; ok && c.dataType == "longtext" {
			c.json = true
			cols[name] = c
		}
	}
}

// PrepareTable creates or evolves the table and returns a batch for it.
// MySQL commits each DDL statement by itself: an evolution that fails half
// way leaves the steps before it done (each keeps every old value).
func (s *session) PrepareTable(ctx context.Context, t *sqltarget.Table) (*textBatch, error) {
	b, err := s.prepareTable(ctx, t)
	return b, s.finish(err)
}

func (s *session) prepareTable(ctx context.Context, t *sqltarget.Table) (*textBatch, error) {
	bs, err := s.prepareTables(ctx, []*sqltarget.Table{t})
	if err != nil {
		return nil, err
	}
	return bs[0], nil
}

// batchFor returns the batch for rows of t into the table whose columns
// are final (read after its preparation) and whose unique indexes are idx
// (name -> lower-case columns; read only when t has keys); free tells
// whether no trigger or foreign key depends on the table (asked only when
// replaceable).
func (s *session) batchFor(t *sqltarget.Table, final map[string]existingColumn, idx map[string][]string, free bool) (*textBatch, error) {
	ident := tableIdent(t.Schema, t.Name)
	encoders := make([]encoder, len(t.Columns))
	for i, c := range t.Columns {
		e, ok := physical(final[c.Name])
		if !ok {
			return nil, fmt.Errorf("column %s of %s has type %s, which target-mysql cannot load; change it to LONGTEXT or JSON", quote(c.Name), ident, final[c.Name].columnType)
		}
		e.widen = e.kind == physText || (e.kind == physDecimal && c.Type.Kind != sqltarget.KindDecimal)
		encoders[i] = e
	}
	noUnique := len(t.Keys) > 0 && !coversKeys(idx, t.Keys)
	if noUnique {
		if _, warned := s.d.warnedNoUnique.LoadOrStore(ident, true); !warned {
			s.log.Warnf("table %s has no PRIMARY KEY or UNIQUE index on exactly the key properties (%s): upserts delete the batch's keys and insert their latest rows, which reads the whole table when no index covers the keys; add a unique index for fast upserts", ident, quoteList(t.Keys))
		}
	}
	p := s.plan(t, ident)
	p.replace = replaceable(t, final, idx) && free
	p.noUnique = noUnique
	return newTextBatch(t, encoders, p, s.d.chunks), nil
}

// replaceable reports whether an upsert into the table may replace a row
// (delete and insert) instead of updating it, as far as its columns and
// indexes tell: the one unique index is on exactly the keys and the table
// has only the stream's columns. Nothing may depend on it either
// (nothingDependsOn).
func replaceable(t *sqltarget.Table, final map[string]existingColumn, idx map[string][]string) bool {
	return len(t.Keys) > 0 && coversKeys(idx, t.Keys) && len(final) == len(t.Columns) && len(idx) == 1
}

// PrepareTables prepares the tables of ts together
// (sqltarget.PreparingMany): the catalog reads of all of them in one query
// each (columns, checks, unique indexes, triggers, foreign keys), the DDL
// table by table (MySQL commits each statement by itself).
func (s *session) PrepareTables(ctx context.Context, ts []*sqltarget.Table) ([]*textBatch, error) {
	bs, err := s.prepareTables(ctx, ts)
	return bs, s.finish(err)
}

// tableKey names a table exactly as the catalog spells it.
type tableKey struct{ db, name string }

func keyOf(t *sqltarget.Table) tableKey { return tableKey{t.Schema, t.Name} }

func keysOf(ts []*sqltarget.Table) []tableKey {
	ks := make([]tableKey, len(ts))
	for i, t := range ts {
		ks[i] = keyOf(t)
	}
	return ks
}

// tablesNamed names the tables of ts in an error: the table, or how many.
func tablesNamed(ts []*sqltarget.Table) string {
	if len(ts) == 1 {
		return "table " + tableIdent(ts[0].Schema, ts[0].Name)
	}
	return fmt.Sprintf("%d tables", len(ts))
}

func (s *session) prepareTables(ctx context.Context, ts []*sqltarget.Table) ([]*textBatch, error) {
	for _, t := range ts {
		if !s.dbs[t.Schema] {
			if _, err := s.conn.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(t.Schema)+" CHARACTER SET utf8mb4 COLLATE "+s.collation); err != nil {
				return nil, fmt.Errorf("creating database %s: %w", quote(t.Schema), err)
			}
			s.dbs[t.Schema] = true
		}
	}
	cols, err := s.describeMany(ctx, keysOf(ts))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tablesNamed(ts), err)
	}
	var changed []*sqltarget.Table
	for _, t := range ts {
		ident := tableIdent(t.Schema, t.Name)
		if ex := cols[keyOf(t)]; ex == nil {
			if err := s.create(ctx, t, ident); err != nil {
				return nil, err
			}
		} else if did, err := s.evolve(ctx, t, ident, ex); err != nil {
			return nil, err
		} else if !did {
			continue
		}
		changed = append(changed, t)
	}
	if len(changed) > 0 {
		after, err := s.describeMany(ctx, keysOf(changed))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", tablesNamed(changed), err)
		}
		for _, t := range changed {
			cols[keyOf(t)] = after[keyOf(t)]
		}
	}
	var keyed []*sqltarget.Table
	for _, t := range ts {
		if len(t.Keys) > 0 {
			keyed = append(keyed, t)
		}
	}
	idx, err := s.uniqueIndexesMany(ctx, keyed)
	if err != nil {
		return nil, fmt.Errorf("reading the indexes of %s: %w", tablesNamed(keyed), err)
	}
	// The tables whose upserts may replace rows: ask about their triggers
	// and foreign keys together.
	var ask []*sqltarget.Table
	for _, t := range keyed {
		if replaceable(t, cols[keyOf(t)], idx[keyOf(t)]) {
			ask = append(ask, t)
		}
	}
	free, err := s.nothingDependsOnMany(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("reading the triggers and foreign keys of %s: %w", tablesNamed(ask), err)
	}
	out := make([]*textBatch, len(ts))
	for i, t := range ts {
		k := keyOf(t)
		if out[i], err = s.batchFor(t, cols[k], idx[k], free[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// whereTables is the condition on columns db and name (a catalog view's)
// that selects the tables of ks, and its arguments: "db = ? AND name = ?"
// for one table (the catalog looks it up by its exact name), "db IN (...)
// AND name IN (...)" for more, which compares names without regard to
// case: the caller keeps the rows of exactly the names of ks.
func whereTables(db, name string, ks []tableKey) (string, []any) {
	if len(ks) == 1 {
		return db + " = ? AND " + name + " = ?", []any{ks[0].db, ks[0].name}
	}
	var dbs, names []any
	seenDB, seenName := map[string]bool{}, map[string]bool{}
	for _, k := range ks {
		if !seenDB[k.db] {
			seenDB[k.db] = true
			dbs = append(dbs, k.db)
		}
		if !seenName[k.name] {
			seenName[k.name] = true
			names = append(names, k.name)
		}
	}
	return db + " IN (" + placeholders(len(dbs)) + ") AND " + name + " IN (" + placeholders(len(names)) + ")", append(dbs, names...)
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// describeMany reads the columns of the tables of ks (a table that does
// not exist has no entry).
func (s *session) describeMany(ctx context.Context, ks []tableKey) (map[tableKey]map[string]existingColumn, error) {
	want := map[tableKey]bool{}
	for _, k := range ks {
		want[k] = true
	}
	where, args := whereTables("TABLE_SCHEMA", "TABLE_NAME", ks)
	rows, err := s.conn.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, `+columnsSQL+` WHERE `+where+` ORDER BY ORDINAL_POSITION`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[tableKey]map[string]existingColumn{}
	for rows.Next() {
		var k tableKey
		c, err := scanColumn(rows, &k.db, &k.name)
		if err != nil {
			return nil, err
		}
		if !want[k] {
			continue
		}
		if out[k] == nil {
			out[k] = map[string]existingColumn{}
		}
		out[k][c.name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	// MariaDB's JSON is LONGTEXT with a json_valid check. (MySQL has a
	// JSON type, and no TABLE_NAME in CHECK_CONSTRAINTS: the query fails
	// there and nothing is needed.)
	where, args = whereTables("CONSTRAINT_SCHEMA", "TABLE_NAME", ks)
	checks, err := s.conn.QueryContext(ctx, `SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE `+where, args...)
	if err == nil {
		defer checks.Close()
		for checks.Next() {
			var k tableKey
			var clause string
			if checks.Scan(&k.db, &k.name, &clause) != nil {
				break
			}
			if cols := out[k]; cols != nil {
				markJSON(cols, clause)
			}
		}
	}
	return out, nil
}

// uniqueIndexesMany reads the unique indexes of the tables of ts: index
// name -> its columns, lower case.
func (s *session) uniqueIndexesMany(ctx context.Context, ts []*sqltarget.Table) (map[tableKey]map[string][]string, error) {
	out := map[tableKey]map[string][]string{}
	if len(ts) == 0 {
		return out, nil
	}
	want := map[tableKey]bool{}
	for _, t := range ts {
		want[keyOf(t)] = true
	}
	where, args := whereTables("TABLE_SCHEMA", "TABLE_NAME", keysOf(ts))
	rows, err := s.conn.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE `+where+` AND NON_UNIQUE = 0`, args...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var k tableKey
		var i, c string
		if err := rows.Scan(&k.db, &k.name, &i, &c); err != nil {
			return err
		}
		if want[k] {
			if out[k] == nil {
				out[k] = map[string][]string{}
			}
			out[k][i] = append(out[k][i], strings.ToLower(c))
		}
		return nil
	})
	return out, err
}

// eachRow calls f for each row of rows (f scans it), closes rows and
// returns the first error, f's or the result's.
func eachRow(rows *sql.Rows, f func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := f(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// coversKeys reports whether one of the unique indexes idx is on exactly
// the key columns (ON DUPLICATE KEY UPDATE matches on it).
func coversKeys(idx map[string][]string, keys []string) bool {
	want := make([]string, len(keys))
	for i, k := range keys {
		want[i] = strings.ToLower(k)
	}
	sort.Strings(want)
	for _, cols := range idx {
		have := slices.Clone(cols)
		sort.Strings(have)
		if slices.Equal(have, want) {
			return true
		}
	}
	return false
}

// nothingDependsOnMany is nothingDependsOn for the tables of ts, with one
// query for the triggers of all and one for the foreign keys to all (by
// name in InnoDB's dictionary for plain names, as nothingDependsOn; a
// table of another name, or a server that does not answer that way, is
// asked about alone).
func (s *session) nothingDependsOnMany(ctx context.Context, ts []*sqltarget.Table) (map[tableKey]bool, error) {
	out := map[tableKey]bool{}
	if len(ts) < 2 {
		for _, t := range ts {
			free, err := s.nothingDependsOn(ctx, t)
			if err != nil {
				return nil, err
			}
			out[keyOf(t)] = free
		}
		return out, nil
	}
	triggered := map[tableKey]bool{}
	where, args := whereTables("EVENT_OBJECT_SCHEMA", "EVENT_OBJECT_TABLE", keysOf(ts))
	rows, err := s.conn.QueryContext(ctx, `SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var k tableKey
		if err := rows.Scan(&k.db, &k.name); err != nil {
			return err
		}
		triggered[k] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	var plain []any
	for _, t := range ts {
		if !triggered[keyOf(t)] && plainName(t.Schema) && plainName(t.Name) {
			plain = append(plain, strings.ToLower(t.Schema+"/"+t.Name))
		}
	}
	referred, asked := map[string]bool{}, false
	if len(plain) > 0 {
		for _, view := range []string{"INNODB_SYS_FOREIGN", "INNODB_FOREIGN"} {
			refs, err := s.conn.QueryContext(ctx, `SELECT LOWER(REF_NAME) FROM information_schema.`+view+`
				WHERE LOWER(REF_NAME) IN (`+placeholders(len(plain))+`)`, plain...)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				continue
			}
			err = eachRow(refs, func() error {
				var name string
				if err := refs.Scan(&name); err != nil {
					return err
				}
				referred[name] = true
				return nil
			})
			if err != nil {
				return nil, err
			}
			asked = true
			break
		}
	}
	for _, t := range ts {
		k := keyOf(t)
		switch {
		case triggered[k]:
			out[k] = false
		case asked && plainName(t.Schema) && plainName(t.Name):
			out[k] = !referred[strings.ToLower(t.Schema+"/"+t.Name)]
		default:
			free, err := s.nothingDependsOn(ctx, t)
			if err != nil {
				return nil, err
			}
			out[k] = free
		}
	}
	return out, nil
}

func (s *session) create(ctx context.Context, t *sqltarget.Table, ident string) error {
	types := make([]string, len(t.Columns))
	varcharBytes := 0
	for i, c := range t.Columns {
		types[i] = columnType(c)
		var n int
		if _, err := fmt.Sscanf(types[i], "VARCHAR(%d)", &n); err == nil {
			varcharBytes += 4*n + 2
		}
	}
	// InnoDB rows hold at most 65,535 bytes of VARCHAR: beyond that the
	// non-key VARCHAR columns are LONGTEXT (stored off the row).
	if varcharBytes > 60000 {
		for i, c := range t.Columns {
			if !c.Key && strings.HasPrefix(types[i], "VARCHAR(") {
				types[i] = "LONGTEXT"
			}
		}
	}
	var defs []string
	for i, c := range t.Columns {
		def := quote(c.Name) + " " + types[i]
		if c.Key {
			def += " NOT NULL"
		}
		defs = append(defs, def)
	}
	if t.UniqueKey {
		defs = append(defs, "PRIMARY KEY ("+quoteList(t.Keys)+")")
	}
	q := "CREATE TABLE " + ident + " (" + strings.Join(defs, ", ") + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + s.collation
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("creating table %s: %w", ident, err)
	}
	s.log.Infof("created table %s (%d columns) for stream %q", ident, len(t.Columns), t.Stream)
	return nil
}

// evolve alters the table (columns existing) to take t's columns, and
// reports whether it changed anything.
func (s *session) evolve(ctx context.Context, t *sqltarget.Table, ident string, existing map[string]existingColumn) (changed bool, err error) {
	want := map[string]bool{}
	for _, c := range t.Columns {
		want[c.Name] = true
		ex, ok := existing[c.Name]
		if !ok {
			typ := columnType(c)
			if c.Key {
				typ += " NULL" // a new key column of an existing table: rows before it have none
			}
			if _, err := s.conn.ExecContext(ctx, "ALTER TABLE "+ident+" ADD COLUMN "+quote(c.Name)+" "+typ); err != nil {
				return changed, fmt.Errorf("adding column %s to %s: %w", quote(c.Name), ident, err)
			}
			s.log.Infof("added column %s %s to %s", quote(c.Name), typ, ident)
			changed = true
			continue
		}
		newType := evolution(ex, c)
		if newType == "" {
			continue
		}
		if keep, err := guardForeign(ident, ex, c, newType); err != nil {
			return changed, err
		} else if keep {
			continue
		}
		null := " NULL"
		if !ex.nullable {
			null = " NOT NULL"
		}
		q := "ALTER TABLE " + ident + " MODIFY COLUMN " + quote(c.Name) + " " + newType + null
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return changed, fmt.Errorf("changing column %s of %s from %s to %s: %w", quote(c.Name), ident, ex.columnType, newType, err)
		}
		if ex.dataType == "decimal" && ex.scale == numberScale && !strings.HasPrefix(newType, "DECIMAL") {
			// DECIMAL(65,30), the column of "number", padded every value
			// to 30 decimals: as text they read 7.000000000000000000000000000000.
			// The zeros were never part of the value's text: drop them
			// (7, 2.5), the exact value in its shortest form.
			trim := "UPDATE " + ident + " SET " + quote(c.Name) + " = TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM " + quote(c.Name) + ")) WHERE " + quote(c.Name) + " LIKE '%.%'"
			if _, err := s.conn.ExecContext(ctx, trim); err != nil {
				return true, fmt.Errorf("dropping the DECIMAL padding of column %s of %s: %w", quote(c.Name), ident, err)
			}
		}
		changed = true
		s.log.Warnf("column %s of %s changed from %s to %s to take %s values (old values kept)", quote(c.Name), ident, ex.columnType, newType, c.Type)
	}
	// Columns the schema no longer has must not block inserts.
	var names []string
	for name := range existing {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ex := existing[name]
		if want[name] || ex.nullable {
			continue
		}
		var pri int
		if err := s.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ? AND INDEX_NAME = 'PRIMARY'`, t.Schema, t.Name, name).Scan(&pri); err != nil {
			return changed, err
		}
		if pri > 0 {
			continue
		}
		if _, err := s.conn.ExecContext(ctx, "ALTER TABLE "+ident+" MODIFY COLUMN "+quote(name)+" "+ex.columnType+" NULL"); err != nil {
			return changed, fmt.Errorf("making column %s of %s nullable: %w", quote(name), ident, err)
		}
		changed = true
	}
	return changed, nil
}

// nothingDependsOn reports whether no trigger is defined on the table and
// no foreign key refers to it: then replacing a row (delete and insert) is
// the same as updating it.
func (s *session) nothingDependsOn(ctx context.Context, t *sqltarget.Table) (bool, error) {
	var triggers, refs int
	if err := s.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TRIGGERS
		WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?`, t.Schema, t.Name).Scan(&triggers); err != nil {
		return false, err
	}
	if triggers > 0 {
		return false, nil
	}
	// REFERENTIAL_CONSTRAINTS filtered by the referenced table makes MariaDB
	// open every table of every database (the filter is not on the columns
	// it looks tables up by): slow on a large server, and MariaDB 10.11 has
	// crashed in that scan while other sessions dropped views. InnoDB's own
	// dictionary (INNODB_SYS_FOREIGN in MariaDB and MySQL 5.7, INNODB_FOREIGN
	// in MySQL 8) answers without opening a table. Its names are in the
	// server's file-name encoding, which equals the name for plain names
	// only; the comparison ignores case, so a doubt counts as a reference
	// (which only means the slower ON DUPLICATE KEY UPDATE).
	if plainName(t.Schema) && plainName(t.Name) {
		for _, view := range []string{"INNODB_SYS_FOREIGN", "INNODB_FOREIGN"} {
			err := s.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.`+view+`
				WHERE LOWER(REF_NAME) = LOWER(?)`, t.Schema+"/"+t.Name).Scan(&refs)
			if err == nil {
				return refs == 0, nil
			}
			if ctx.Err() != nil {
				return false, err
			}
		}
	}
	// Without the PROCESS privilege (or the view), the standard way.
	if err := s.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
		WHERE UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?`, t.Schema, t.Name).Scan(&refs); err != nil {
		return false, err
	}
	return refs == 0, nil
}

// plainName reports whether a name is stored as itself in InnoDB's
// dictionary: ASCII letters, digits and underscores only.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// loadPlan holds the SQL of one table's loads, made once per column set.
type loadPlan struct {
	ident     string // `db`.`table`
	columns   string // quoted column list
	keys      []string
	stage     string // `db`.`singerkit_stage_N`
	merge     string
	hardDel   string
	deletedAt string
	// replace: the table has exactly the batch's columns, one unique
	// index (the key), no triggers and no foreign keys referring to it,
	// so LOAD DATA ... REPLACE is the merge by key.
	replace bool
	// noUnique: no unique index covers the keys (a table made by someone
	// else), so the merge deletes the batch's keys and inserts each key's
	// last row (deleteKeys, then insertLast or insertLive).
	noUnique   bool
	deleteKeys string
	insertLast string
	insertLive string // insertLast without the rows marked deleted
	// insertNew appends the staged rows whose key the table does not have
	// (append into a table with a unique key on the keys).
	insertNew string
}

func (s *session) plan(t *sqltarget.Table, ident string) *loadPlan {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	cols := quoteList(names)
	s.nstage++
	p := &loadPlan{ident: ident, columns: cols, keys: t.Keys, stage: tableIdent(t.Schema, fmt.Sprintf("singerkit_stage_%d", s.nstage))}
	if len(t.Keys) == 0 {
		return p
	}
	isKey := map[string]bool{}
	for _, k := range t.Keys {
		isKey[k] = true
	}
	var sets []string
	for _, n := range names {
		if !isKey[n] {
			sets = append(sets, quote(n)+" = VALUES("+quote(n)+")")
		}
	}
	if len(sets) == 0 {
		sets = append(sets, quote(t.Keys[0])+" = VALUES("+quote(t.Keys[0])+")")
	}
	// Stage rows are applied in record order: a later record of a key
	// updates the row an earlier one inserted, so the last one wins
	// without joining the stage to itself (MySQL cannot reopen a
	// temporary table within one statement).
	p.merge = "INSERT INTO " + ident + " (" + cols + ") SELECT " + cols + " FROM " + p.stage + " ORDER BY " + rowColumn +
		" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	// The update of a key to itself changes nothing (0 rows affected).
	p.insertNew = "INSERT INTO " + ident + " (" + cols + ") SELECT " + cols + " FROM " + p.stage + " ORDER BY " + rowColumn +
		" ON DUPLICATE KEY UPDATE " + ident + "." + quote(t.Keys[0]) + " = " + ident + "." + quote(t.Keys[0])
	for _, c := range t.Columns {
		if c.Meta == sqltarget.MetaDeletedAt {
			p.deletedAt = c.Name
		}
	}
	var nullSafe []string
	for _, k := range t.Keys {
		nullSafe = append(nullSafe, "t."+quote(k)+" <=> s."+quote(k))
	}
	p.deleteKeys = "DELETE t FROM " + ident + " AS t JOIN " + p.stage + " AS s ON " + strings.Join(nullSafe, " AND ")
	// One reference to the (temporary) stage: MySQL cannot reopen a
	// temporary table within a statement, so the last row of each key is
	// picked with a window function rather than a self-join.
	last := "SELECT " + cols + " FROM (SELECT " + cols + ", ROW_NUMBER() OVER (PARTITION BY " + quoteList(t.Keys) +
		" ORDER BY " + rowColumn + " DESC) AS _singerkit_rn FROM " + p.stage + ") AS x WHERE _singerkit_rn = 1"
	p.insertLast = "INSERT INTO " + ident + " (" + cols + ") " + last
	if p.deletedAt != "" {
		p.insertLive = p.insertLast + " AND " + quote(p.deletedAt) + " IS NULL"
		var match []string
		for _, k := range t.Keys {
			match = append(match, "t."+quote(k)+" = s."+quote(k))
		}
		// After the merge a row holds its key's latest record: it goes
		// when that record is a delete.
		p.hardDel = "DELETE t FROM " + ident + " AS t JOIN " + p.stage + " AS s ON " + strings.Join(match, " AND ") +
			" WHERE t." + quote(p.deletedAt) + " IS NOT NULL"
	}
	return p
}

// Load loads one batch in one transaction: LOAD DATA (into the table for
// append, into a temporary stage for upsert), check the count and the
// warnings, merge by key, commit.
func (s *session) Load(ctx context.Context, b *textBatch, mode sqltarget.LoadMode) error {
	return s.finish(s.load(ctx, b, mode))
}

func (s *session) load(ctx context.Context, tb *textBatch, mode sqltarget.LoadMode) error {
	p := tb.plan
	dest := p.ident
	upsert := mode.Upsert && len(p.keys) > 0
	// An append into a table with a unique key on the stream's keys (an
	// earlier upsert made it, or its owner) skips the keys the table has:
	// they are a replay after a resume, and must not stop the load.
	skipExisting := !mode.Upsert && len(p.keys) > 0 && !p.noUnique
	if tb.widens() {
		if err := s.widen(ctx, tb); err != nil {
			return err
		}
	}
	// Replace: LOAD DATA REPLACE applies the rows in record order, a
	// later row of a key replacing the earlier one: the last one wins, and
	// every column of the row is the batch's, as the merge would make it.
	if upsert && p.replace && !p.noUnique && !s.noLocal && !(mode.HardDelete && p.hardDel != "") {
		done, err := s.loadReplace(ctx, tb)
		if err != nil || done {
			return err
		}
	}
	// Optimistic upsert: a batch without repeated keys is first loaded
	// straight into the table. If none of its keys exists yet (an initial
	// load, new rows) that is the whole merge. A duplicate key (LOAD DATA
	// LOCAL skips the row with a warning) or any other warning rolls it
	// back, and the batch takes the stage, which this session then keeps
	// for the table.
	if (skipExisting || upsert && !p.noUnique && !tb.repeats.Found() && !(mode.HardDelete && p.hardDel != "")) && !s.noLocal && !s.conflicts[p.ident] {
		done, err := s.loadDirect(ctx, tb)
		if err != nil || done {
			return err
		}
		s.conflicts[p.ident] = true
	}
	if upsert || skipExisting {
		if s.stages[p.ident] != p.stage {
			if old := s.stages[p.ident]; old != "" {
				if _, err := s.conn.ExecContext(ctx, "DROP TEMPORARY TABLE IF EXISTS "+old); err != nil {
					return err
				}
			}
			// The stage has the table's column types, plus the record's
			// position in the batch.
			q := "CREATE TEMPORARY TABLE " + p.stage + " (" + rowColumn + " BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY) SELECT " + p.columns + " FROM " + p.ident + " LIMIT 0"
			if _, err := s.conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("creating the stage table: %w", err)
			}
			s.stages[p.ident] = p.stage
		} else if _, err := s.conn.ExecContext(ctx, "TRUNCATE TABLE "+p.stage); err != nil {
			return fmt.Errorf("emptying the stage table: %w", err)
		}
		dest = p.stage
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	n, err := s.bulk(ctx, tx, dest, p.columns, tb)
	if err != nil {
		return err
	}
	if n != int64(tb.rows) {
		return fmt.Errorf("the load wrote %d rows, the batch has %d", n, tb.rows)
	}
	if skipExisting {
		res, err := tx.ExecContext(ctx, p.insertNew)
		if err != nil {
			return fmt.Errorf("appending the rows whose key the table does not have: %w", err)
		}
		if err := commit(tx); err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if skipped := int64(tb.rows) - n; skipped > 0 {
			if _, warned := s.d.warnedSkips.LoadOrStore(tb.table.Stream, true); !warned {
				s.log.Warnf("stream %q: table %s has a unique key on (%s): append skipped %d records whose key is already in the table (a replay of records loaded before a resume, or a later record of the key); further skips are not logged. Use load_method upsert to update such rows, or drop the unique key to keep every record", tb.table.Stream, p.ident, quoteList(p.keys), skipped)
			}
		}
		return nil
	}
	if upsert && p.noUnique {
		if _, err := tx.ExecContext(ctx, p.deleteKeys); err != nil {
			return fmt.Errorf("deleting the batch's keys before inserting their latest rows: %w", err)
		}
		ins := p.insertLast
		if mode.HardDelete && p.insertLive != "" {
			ins = p.insertLive
		}
		if _, err := tx.ExecContext(ctx, ins); err != nil {
			return fmt.Errorf("inserting the batch's latest rows: %w", err)
		}
	} else if upsert {
		if _, err := tx.ExecContext(ctx, p.merge); err != nil {
			return fmt.Errorf("merging by key: %w", err)
		}
		if mode.HardDelete && p.hardDel != "" {
			if _, err := tx.ExecContext(ctx, p.hardDel); err != nil {
				return fmt.Errorf("deleting rows marked _sdc_deleted_at: %w", err)
			}
		}
	}
	return commit(tx)
}

// widen changes the columns whose values in this batch are longer (or
// have more digits) than the column holds, by the documented rule: text
// becomes LONGTEXT (a key column VARCHAR of up to 768 characters), DECIMAL
// grows its digits on the side that needs them (LONGTEXT beyond
// DECIMAL(65,30)). The stage is made again from the new shape.
func (s *session) widen(ctx context.Context, tb *textBatch) error {
	t := tb.table
	ident := tableIdent(t.Schema, t.Name)
	cols, err := s.describe(ctx, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("reading table %s: %w", ident, err)
	}
	for i, n := range tb.need {
		if n == (need{}) {
			continue
		}
		c := t.Columns[i]
		ex := cols[c.Name]
		e, _ := physical(ex)
		var newType string
		switch e.kind {
		case physText:
			chars := max(n.chars, n.bytes)
			switch {
			case e.maxChars == 0 && e.maxBytes == 0, e.maxChars > 0 && n.chars <= e.maxChars, e.maxBytes > 0 && n.bytes <= e.maxBytes:
				continue // widened already
			case c.Key && chars <= maxKeyVarchar:
				newType = fmt.Sprintf("VARCHAR(%d)", maxKeyVarchar)
			case c.Key:
				return fmt.Errorf("column %s of %s: a key value of %d characters is longer than a key column can be (%d characters)", quote(c.Name), ident, chars, maxKeyVarchar)
			default:
				newType = "LONGTEXT"
			}
		case physDecimal:
			i, sc := max(e.prec-e.scale, n.intDigits), max(e.scale, n.digits)
			if i == e.prec-e.scale && sc == e.scale {
				continue
			}
			switch {
			case i+sc <= 65 && sc <= 30:
				newType = fmt.Sprintf("DECIMAL(%d,%d)", i+sc, sc)
			case c.Key:
				return fmt.Errorf("column %s of %s: a key value with %d digits before and %d after the point does not fit DECIMAL(65,30)", quote(c.Name), ident, i, sc)
			default:
				newType = "LONGTEXT"
			}
		default:
			continue
		}
		null := " NULL"
		if !ex.nullable {
			null = " NOT NULL"
		}
		if _, err := s.conn.ExecContext(ctx, "ALTER TABLE "+ident+" MODIFY COLUMN "+quote(c.Name)+" "+newType+null); err != nil {
			return fmt.Errorf("widening column %s of %s from %s to %s: %w", quote(c.Name), ident, ex.columnType, newType, err)
		}
		s.log.Warnf("column %s of %s changed from %s to %s: a value did not fit (old values kept)", quote(c.Name), ident, ex.columnType, newType)
	}
	if old := s.stages[ident]; old != "" {
		if _, err := s.conn.ExecContext(ctx, "DROP TEMPORARY TABLE IF EXISTS "+old); err != nil {
			return err
		}
		delete(s.stages, ident)
	}
	return nil
}

// loadDirect loads an upsert batch straight into the table; done is false
// (and nothing committed) when the table had one of its keys, or the load
// warned.
func (s *session) loadDirect(ctx context.Context, tb *textBatch) (done bool, err error) {
	p := tb.plan
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	n, warns, err := s.loadData(ctx, tx, "INTO TABLE "+p.ident, p.columns, tb)
	if err != nil {
		if localRefused(err) {
			return false, nil // the stage path falls back to INSERTs
		}
		return false, err
	}
	if n != int64(tb.rows) || len(warns) > 0 {
		return false, nil
	}
	return true, commit(tx)
}

// loadReplace loads an upsert batch with LOAD DATA ... REPLACE; done is
// false (and nothing committed) when the server refuses LOCAL.
func (s *session) loadReplace(ctx context.Context, tb *textBatch) (done bool, err error) {
	p := tb.plan
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	n, warns, err := s.loadData(ctx, tx, "REPLACE INTO TABLE "+p.ident, p.columns, tb)
	if err != nil {
		if localRefused(err) {
			return false, nil
		}
		return false, fmt.Errorf("LOAD DATA failed: %w", err)
	}
	if len(warns) > 0 {
		return false, fmt.Errorf("LOAD DATA changed or skipped values (nothing was committed): %s", strings.Join(warns, "; "))
	}
	// A replaced row counts twice (deleted and inserted).
	if n < int64(tb.rows) || n > 2*int64(tb.rows) {
		return false, fmt.Errorf("LOAD DATA REPLACE affected %d rows, the batch has %d", n, tb.rows)
	}
	return true, commit(tx)
}

// loadData runs LOAD DATA LOCAL from the batch's buffer into dest and
// returns the rows loaded and the warnings. into is "INTO TABLE t" or
// "REPLACE INTO TABLE t".
func (s *session) loadData(ctx context.Context, tx *sql.Tx, into, cols string, tb *textBatch) (int64, []string, error) {
	name := fmt.Sprintf("singerkit_%d", readerSeq.Add(1))
	// The driver reads the batch's chunks as they are: no copy of the batch.
	data := tb.data()
	defer data.Close()
	mysql.RegisterReaderHandler(name, func() io.Reader { return data })
	defer mysql.DeregisterReaderHandler(name)
	q := "LOAD DATA LOCAL INFILE 'Reader::" + name + "' " + into +
		" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (" + cols + ")"
	res, err := tx.ExecContext(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	warns, err := warnings(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	n, err := res.RowsAffected()
	return n, warns, err
}

// bulk loads the batch's rows into dest and returns how many landed.
func (s *session) bulk(ctx context.Context, tx *sql.Tx, dest, cols string, tb *textBatch) (int64, error) {
	if !s.noLocal {
		n, warns, err := s.loadData(ctx, tx, "INTO TABLE "+dest, cols, tb)
		if err == nil {
			if len(warns) > 0 {
				return 0, fmt.Errorf("LOAD DATA changed or skipped values (nothing was committed): %s", strings.Join(warns, "; "))
			}
			return n, nil
		}
		if !localRefused(err) {
			return 0, fmt.Errorf("LOAD DATA failed: %w", err)
		}
		s.noLocal = true
		s.d.fallbackMsg.Do(func() {
			s.log.Warnf("the server refuses LOAD DATA LOCAL INFILE (%v); loading with multi-row INSERTs instead (slower: enable local_infile on the server for the fast path)", err)
		})
	}
	data := tb.data()
	defer data.Close()
	return insertRows(ctx, tx, dest, cols, len(tb.cols), data)
}

// localRefused reports the errors of a server (or driver) that does not
// allow LOAD DATA LOCAL.
func localRefused(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1148, 3948, 4166, 2068: // not allowed (MySQL 5, MariaDB < 10.5); disabled (MySQL 8); disabled (MariaDB 10.5+)
			return true
		}
	}
	return false
}

// warnings returns the warnings of the last statement. LOAD DATA LOCAL
// continues past bad values (as with IGNORE), so a warning means a value
// was changed or a row skipped.
func warnings(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SHOW WARNINGS LIMIT 5")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return nil, err
		}
		if level != "Note" {
			msgs = append(msgs, fmt.Sprintf("%s %d: %s", level, code, msg))
		}
	}
	return msgs, rows.Err()
}

// insertRows is the path without LOAD DATA LOCAL: the batch's rows, read
// back from the LOAD DATA text, as server-side prepared multi-row INSERTs
// (strict mode makes a bad value an error there).
func insertRows(ctx context.Context, tx *sql.Tx, dest, cols string, ncols int, data io.Reader) (int64, error) {
	per := max(1, min(1000, 60000/ncols))
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	prepare := func(n int) (*sql.Stmt, error) {
		if st := stmts[n]; st != nil {
			return st, nil
		}
		row := "(" + strings.TrimSuffix(strings.Repeat("?,", ncols), ",") + ")"
		q := "INSERT INTO " + dest + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", n), ",")
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		stmts[n] = st
		return st, nil
	}
	args := make([]any, 0, per*ncols)
	var total int64
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		st, err := prepare(len(args) / ncols)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("INSERT failed: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		args = args[:0]
		return nil
	}
	lines := bufio.NewReaderSize(data, 1<<20)
	for {
		// ReadBytes: a row may be longer than the reader's buffer.
		line, err := lines.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			return total, err
		}
		line = line[:len(line)-1]
		for _, f := range bytes.Split(line, []byte{'\t'}) {
			args = append(args, unescapeField(f))
		}
		if len(args) >= per*ncols {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	return total, flush()
}

// unescapeField reads one LOAD DATA field back: \N is NULL.
func unescapeField(f []byte) any {
	if len(f) == 2 && f[0] == '\\' && f[1] == 'N' {
		return nil
	}
	if bytes.IndexByte(f, '\\') < 0 {
		return string(f)
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		if f[i] == '\\' && i+1 < len(f) {
			i++
			switch f[i] {
			case 't':
				out = append(out, '\t')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			default:
				out = append(out, f[i])
			}
			continue
		}
		out = append(out, f[i])
	}
	return string(out)
}

// BeginReplace creates repl as a copy of t's definition (CREATE TABLE
// ... LIKE: columns, types, indexes), empty, dropping one left by a killed
// run.
func (s *session) BeginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	return s.finish(s.beginReplace(ctx, t, repl))
}

func (s *session) beginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	ident, r := tableIdent(t.Schema, t.Name), tableIdent(repl.Schema, repl.Name)
	if _, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+r); err != nil {
		return fmt.Errorf("dropping %s, left by an earlier run: %w", r, err)
	}
	if _, err := s.conn.ExecContext(ctx, "CREATE TABLE "+r+" LIKE "+ident); err != nil {
		return fmt.Errorf("creating %s to build the replacement of %s in: %w", r, ident, err)
	}
	return nil
}

// EndReplace widens the columns of t that loads widened in repl (the
// widening rule of Load; old values kept), then swaps the rows in one
// transaction (DELETE and INSERT ... SELECT: the table keeps its
// definition, triggers and foreign keys), and drops repl.
func (s *session) EndReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	return s.finish(s.endReplace(ctx, t, repl, swap))
}

func (s *session) endReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	ident, r := tableIdent(t.Schema, t.Name), tableIdent(repl.Schema, repl.Name)
	if swap {
		have, err := s.describe(ctx, t.Schema, t.Name)
		if err != nil {
			return fmt.Errorf("reading table %s: %w", ident, err)
		}
		want, err := s.describe(ctx, repl.Schema, repl.Name)
		if err != nil {
			return fmt.Errorf("reading table %s: %w", r, err)
		}
		if want == nil {
			// Dropped only after the swap committed: an earlier attempt
			// whose COMMIT got no reply did swap.
			s.log.Infof("%s is gone: an earlier attempt swapped it into %s", r, ident)
			return nil
		}
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
			h, w := have[c.Name], want[c.Name]
			if h.columnType == w.columnType {
				continue
			}
			null := " NULL"
			if !h.nullable {
				null = " NOT NULL"
			}
			if _, err := s.conn.ExecContext(ctx, "ALTER TABLE "+ident+" MODIFY COLUMN "+quote(c.Name)+" "+w.columnType+null); err != nil {
				return fmt.Errorf("widening column %s of %s from %s to %s: %w", quote(c.Name), ident, h.columnType, w.columnType, err)
			}
			s.log.Warnf("column %s of %s changed from %s to %s: a value did not fit (old values kept)", quote(c.Name), ident, h.columnType, w.columnType)
		}
		cols := quoteList(names)
		tx, err := s.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+ident); err != nil {
			return fmt.Errorf("emptying %s: %w", ident, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+ident+" ("+cols+") SELECT "+cols+" FROM "+r); err != nil {
			return fmt.Errorf("copying the rows of %s: %w", r, err)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if _, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+r); err != nil {
		return fmt.Errorf("dropping %s: %w", r, err)
	}
	return nil
}

// ActivateVersion removes (or soft-deletes) the rows of older versions
// and the rows without a version.
func (s *session) ActivateVersion(ctx context.Context, t *sqltarget.Table, version int64, hardDelete bool) error {
	ident := tableIdent(t.Schema, t.Name)
	vc, dc := t.ColumnOf(sqltarget.MetaTableVersion), t.ColumnOf(sqltarget.MetaDeletedAt)
	if vc == nil {
		return nil
	}
	ver, del := quote(vc.Name), ""
	if dc != nil {
		del = quote(dc.Name)
	}
	// Rows without a version (loaded before versioning, or by hand) are
	// not part of the activated version either.
	older := "(" + ver + " < ? OR " + ver + " IS NULL)"
	var err error
	if hardDelete || del == "" {
		_, err = s.conn.ExecContext(ctx, "DELETE FROM "+ident+" WHERE "+older, version)
	} else {
		_, err = s.conn.ExecContext(ctx, "UPDATE "+ident+" SET "+del+" = UTC_TIMESTAMP(6) WHERE "+older+" AND "+del+" IS NULL", version)
	}
	return s.finish(err)
}

// A session prepares the tables of a tap's first SCHEMA messages together.
var _ sqltarget.PreparingMany[*textBatch] = (*session)(nil)
