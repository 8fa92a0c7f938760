package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// session is one connection of the database instance: it prepares tables
// and loads batches.
type session struct {
	d       *Dialect
	conn    *sql.Conn
	log     *singer.Log
	schemas map[string]bool
	stages  map[string]*loadPlan // table -> the plan whose stage exists on this connection
}

func (s *session) Close() error { return s.conn.Close() }

// loadPlan holds the SQL of one table's loads, made once per column set.
type loadPlan struct {
	table     string // quoted schema.table
	keys      []string
	unique    bool // a primary key or unique constraint on exactly the keys: ON CONFLICT works
	deletedAt string
	stage     string // temporary table name (unquoted)
	// direct: every column takes its stage value as it is (no cast): a
	// plain append writes with the Appender straight into the table.
	direct    bool
	schema    string
	name      string
	columns   []string
	stageDDL  string
	appendAll string
	insertNew string // append into a table with a unique key: skip the keys it has
	latest    string // the batch's last record of each key, cast, into the latest table
	latestT   string
	merge     string
	mergeLive string // merge without the keys whose latest record is deleted (hard_delete)
	replace   string // without a unique key: delete the batch's keys first
	hardDel   string
	// The same straight from the stage, for a batch without a repeated
	// key (no dedupe, no copy of the batch in the latest table).
	mergeStage     string
	mergeLiveStage string
	replaceStage   string
	hardDelStage   string
}

func tableIdent(schema, table string) string { return quote(schema) + "." + quote(table) }

// describe returns the columns of a table (nil when it does not exist),
// keyed by lower-case name (DuckDB matches names case-insensitively), in
// table order.
func (s *session) describe(ctx context.Context, schema, table string) (map[string]existingColumn, []string, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT column_name, data_type, coalesce(numeric_precision, 0), coalesce(numeric_scale, 0), is_nullable
		FROM duckdb_columns() WHERE database_name = current_database() AND lower(schema_name) = lower($1) AND lower(table_name) = lower($2)
		ORDER BY column_index`, schema, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols := map[string]existingColumn{}
	var order []string
	for rows.Next() {
		var c existingColumn
		if err := rows.Scan(&c.name, &c.typ, &c.precision, &c.scale, &c.nullable); err != nil {
			return nil, nil, err
		}
		if strings.HasPrefix(c.typ, "DECIMAL(") {
			c.precision, c.scale = decimalDigits(c.typ)
		}
		cols[strings.ToLower(c.name)] = c
		order = append(order, c.name)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(order) == 0 {
		return nil, nil, nil
	}
	return cols, order, nil
}

// uniqueKeys returns the column sets (lower case, sorted) of the table's
// primary key and unique constraints.
func (s *session) uniqueKeys(ctx context.Context, schema, table string) ([][]string, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT constraint_column_names FROM duckdb_constraints()
		WHERE database_name = current_database() AND lower(schema_name) = lower($1) AND lower(table_name) = lower($2)
		AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		l, _ := v.([]any)
		var names []string
		for _, x := range l {
			if n, ok := x.(string); ok {
				names = append(names, strings.ToLower(n))
			}
		}
		slices.Sort(names)
		out = append(out, names)
	}
	return out, rows.Err()
}

func hasUnique(uniques [][]string, keys []string) bool {
	if len(keys) == 0 {
		return false
	}
	want := make([]string, len(keys))
	for i, k := range keys {
		want[i] = strings.ToLower(k)
	}
	slices.Sort(want)
	for _, u := range uniques {
		if slices.Equal(u, want) {
			return true
		}
	}
	return false
}

func (s *session) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.conn.ExecContext(ctx, q, args...)
}

// tx runs fn in a transaction.
func (s *session) tx(ctx context.Context, fn func() error) error {
	if _, err := s.exec(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		s.exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if _, err := s.exec(ctx, "COMMIT"); err != nil {
		s.exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

// PrepareTable creates or evolves the table and returns a batch for it.
func (s *session) PrepareTable(ctx context.Context, t *sqltarget.Table) (*batch, error) {
	// One preparation at a time: the engine asks for several at once
	// (the SCHEMA messages before the first record), and DuckDB's catalog
	// changes from two connections conflict with each other.
	s.d.prepMu.Lock()
	defer s.d.prepMu.Unlock()
	b, err := s.prepareTable(ctx, t)
	return b, classify(err)
}

func (s *session) prepareTable(ctx context.Context, t *sqltarget.Table) (*batch, error) {
	ident := tableIdent(t.Schema, t.Name)
	err := s.tx(ctx, func() error {
		if !s.schemas[t.Schema] {
			if _, err := s.exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(t.Schema)); err != nil {
				return fmt.Errorf("creating schema %s: %w", quote(t.Schema), err)
			}
		}
		existing, _, err := s.describe(ctx, t.Schema, t.Name)
		if err != nil {
			return fmt.Errorf("reading table %s: %w", ident, err)
		}
		if existing == nil {
			var defs []string
			for _, c := range t.Columns {
				def := quote(c.Name) + " " + s.d.columnType(c)
				if c.Key {
					def += " NOT NULL"
				}
				defs = append(defs, def)
			}
			if t.UniqueKey && len(t.Keys) > 0 {
				defs = append(defs, "PRIMARY KEY ("+quoteList(t.Keys)+")")
			}
			if _, err := s.exec(ctx, "CREATE TABLE "+ident+" ("+strings.Join(defs, ", ")+")"); err != nil {
				return fmt.Errorf("creating table %s: %w", ident, err)
			}
			s.log.Infof("created table %s (%d columns) for stream %q", ident, len(t.Columns), t.Stream)
			return nil
		}
		return s.evolve(ctx, t, ident, existing)
	})
	if err != nil {
		return nil, err
	}
	s.schemas[t.Schema] = true
	final, _, err := s.describe(ctx, t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("reading table %s: %w", ident, err)
	}
	uniques, err := s.uniqueKeys(ctx, t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("reading the constraints of %s: %w", ident, err)
	}
	encoders := make([]encoder, len(t.Columns))
	for i, c := range t.Columns {
		ex, ok := final[strings.ToLower(c.Name)]
		if !ok {
			return nil, fmt.Errorf("table %s has no column %s after preparing it", ident, quote(c.Name))
		}
		e := physical(ex)
		e.name = c.Name
		// Columns of the type table widen for values beyond them; a
		// column whose digits the schema declared does not.
		switch e.kind {
		case physInt:
			e.widen = ex.typ == "BIGINT" && c.Type.Kind == sqltarget.KindInteger
		case physHuge:
			e.widen = c.Type.Kind == sqltarget.KindInteger
		case physDecimal:
			e.widen = c.Type.Kind == sqltarget.KindNumber || c.Type.Kind == sqltarget.KindInteger
		}
		encoders[i] = e
	}
	plan := s.plan(t, ident, encoders, hasUnique(uniques, t.Keys))
	return newBatch(t, encoders, plan), nil
}

// evolve adds the columns t has and the table lacks, and widens columns by
// the evolution rules.
func (s *session) evolve(ctx context.Context, t *sqltarget.Table, ident string, existing map[string]existingColumn) error {
	want := map[string]bool{}
	var uniques [][]string
	for _, c := range t.Columns {
		want[strings.ToLower(c.Name)] = true
		ex, ok := existing[strings.ToLower(c.Name)]
		if !ok {
			typ := s.d.columnType(c)
			if _, err := s.exec(ctx, "ALTER TABLE "+ident+" ADD COLUMN "+quote(c.Name)+" "+typ); err != nil {
				return fmt.Errorf("adding column %s to %s: %w", quote(c.Name), ident, err)
			}
			s.log.Infof("added column %s %s to %s", quote(c.Name), typ, ident)
			continue
		}
		if isNestedType(ex.typ) {
			newType, err := evolveNested(ident, ex, c)
			if err != nil {
				return err
			}
			if newType != "" {
				if _, err := s.exec(ctx, "ALTER TABLE "+ident+" ALTER COLUMN "+quote(ex.name)+" TYPE "+newType); err != nil {
					return fmt.Errorf("changing column %s of %s from %s to %s: %s", quote(ex.name), ident, ex.typ, newType, firstLine(err.Error()))
				}
				s.log.Infof("column %s of %s changed from %s to %s for the stream's schema (old values kept)", quote(ex.name), ident, ex.typ, newType)
			}
			continue
		}
		newType := evolution(ex, c)
		if newType == "" || newType == ex.typ {
			continue
		}
		if keep, err := guardForeign(ident, ex, c, newType); err != nil {
			return err
		} else if keep {
			continue
		}
		if _, err := s.exec(ctx, "ALTER TABLE "+ident+" ALTER COLUMN "+quote(ex.name)+" TYPE "+newType); err != nil {
			return fmt.Errorf("changing column %s of %s from %s to %s: %s", quote(ex.name), ident, ex.typ, newType, firstLine(err.Error()))
		}
		s.log.Warnf("column %s of %s changed from %s to %s to take %s values (old values kept)", quote(ex.name), ident, ex.typ, newType, c.Type)
	}
	// Columns the schema no longer has must not block inserts.
	for name, ex := range existing {
		if want[name] || ex.nullable {
			continue
		}
		if uniques == nil {
			var err error
			if uniques, err = s.uniqueKeys(ctx, t.Schema, t.Name); err != nil {
				return err
			}
		}
		inKey := false
		for _, u := range uniques {
			inKey = inKey || slices.Contains(u, name)
		}
		if inKey {
			continue
		}
		if _, err := s.exec(ctx, "ALTER TABLE "+ident+" ALTER COLUMN "+quote(ex.name)+" DROP NOT NULL"); err != nil {
			return fmt.Errorf("making column %s of %s nullable: %w", quote(ex.name), ident, err)
		}
	}
	return nil
}

func (s *session) plan(t *sqltarget.Table, ident string, encs []encoder, unique bool) *loadPlan {
	names := make([]string, len(t.Columns))
	var casts, stageCols []string
	for i, c := range t.Columns {
		names[i] = c.Name
		e := &encs[i]
		stageCols = append(stageCols, quote(c.Name)+" "+e.stageType())
		if e.stageType() == e.typ {
			casts = append(casts, quote(c.Name))
		} else {
			casts = append(casts, e.cast(quote(c.Name))+" AS "+quote(c.Name))
		}
	}
	cols := quoteList(names)
	n := s.d.nstage.Add(1)
	p := &loadPlan{table: ident, keys: t.Keys, unique: unique, stage: fmt.Sprintf("singerkit_stage_%d", n), latestT: fmt.Sprintf("singerkit_latest_%d", n),
		schema: t.Schema, name: t.Name, columns: names, direct: true}
	for i := range encs {
		p.direct = p.direct && encs[i].stageType() == encs[i].typ
	}
	stage := "temp.main." + quote(p.stage)
	p.stageDDL = "CREATE TEMP TABLE " + quote(p.stage) + " (" + strings.Join(stageCols, ", ") + ", _singerkit_row BIGINT)"
	castSel := "SELECT " + strings.Join(casts, ", ") + ", _singerkit_row FROM " + stage
	p.appendAll = "INSERT INTO " + ident + " (" + cols + ") SELECT " + strings.Join(casts, ", ") + " FROM " + stage
	if len(t.Keys) == 0 {
		return p
	}
	for _, c := range t.Columns {
		if c.Meta == sqltarget.MetaDeletedAt {
			p.deletedAt = c.Name
		}
	}
	keys := quoteList(t.Keys)
	latest := "temp.main." + quote(p.latestT)
	p.latest = "CREATE OR REPLACE TEMP TABLE " + quote(p.latestT) + " AS SELECT * FROM (" + castSel + ") QUALIFY row_number() OVER (PARTITION BY " + keys + " ORDER BY _singerkit_row DESC) = 1"
	var sets []string
	isKey := map[string]bool{}
	for _, k := range t.Keys {
		isKey[k] = true
	}
	for _, n := range names {
		if !isKey[n] {
			sets = append(sets, quote(n)+" = EXCLUDED."+quote(n))
		}
	}
	var match, matchCast []string
	for _, k := range t.Keys {
		match = append(match, "t."+quote(k)+" = s."+quote(k))
	}
	// The stage's key columns compared with the table's: cast where the
	// stage holds text.
	for _, k := range t.Keys {
		expr := "s." + quote(k)
		for i, c := range t.Columns {
			if c.Name == k && encs[i].stageType() != encs[i].typ {
				expr = encs[i].cast("s." + quote(k))
			}
		}
		matchCast = append(matchCast, "t."+quote(k)+" = "+expr)
	}
	conflict := ""
	if unique {
		conflict = " ON CONFLICT (" + keys + ") DO NOTHING"
		if len(sets) > 0 {
			conflict = " ON CONFLICT (" + keys + ") DO UPDATE SET " + strings.Join(sets, ", ")
		}
		p.insertNew = "INSERT INTO " + ident + " (" + cols + ") SELECT " + cols + " FROM (" + castSel + ") QUALIFY row_number() OVER (PARTITION BY " + keys + " ORDER BY _singerkit_row) = 1 ON CONFLICT (" + keys + ") DO NOTHING"
	} else {
		p.replace = "DELETE FROM " + ident + " AS t USING " + latest + " AS s WHERE " + strings.Join(match, " AND ")
		p.replaceStage = "DELETE FROM " + ident + " AS t USING " + stage + " AS s WHERE " + strings.Join(matchCast, " AND ")
	}
	p.merge = "INSERT INTO " + ident + " (" + cols + ") SELECT " + cols + " FROM " + latest + conflict
	castCols := strings.Join(casts, ", ")
	p.mergeStage = "INSERT INTO " + ident + " (" + cols + ") SELECT " + castCols + " FROM " + stage + conflict
	if p.deletedAt != "" {
		p.mergeLive = "INSERT INTO " + ident + " (" + cols + ") SELECT " + cols + " FROM " + latest + " WHERE " + quote(p.deletedAt) + " IS NULL" + conflict
		p.hardDel = "DELETE FROM " + ident + " AS t USING " + latest + " AS s WHERE " + strings.Join(match, " AND ") + " AND s." + quote(p.deletedAt) + " IS NOT NULL"
		p.mergeLiveStage = "INSERT INTO " + ident + " (" + cols + ") SELECT " + castCols + " FROM " + stage + " WHERE " + quote(p.deletedAt) + " IS NULL" + conflict
		p.hardDelStage = "DELETE FROM " + ident + " AS t USING " + stage + " AS s WHERE " + strings.Join(matchCast, " AND ") + " AND s." + quote(p.deletedAt) + " IS NOT NULL"
	}
	return p
}

// Load loads one batch in one transaction: the Appender into a temporary
// stage, the count checked, then an INSERT ... SELECT (append) or a merge
// by key, commit.
func (s *session) Load(ctx context.Context, b *batch, mode sqltarget.LoadMode) error {
	return classify(s.load(ctx, b, mode))
}

func (s *session) load(ctx context.Context, b *batch, mode sqltarget.LoadMode) error {
	p := b.plan
	// An append into a table with a unique key on the stream's keys (an
	// earlier upsert made it, or its owner) skips the keys the table has:
	// they are a replay after a resume, and must not stop the load.
	skipExisting := !mode.Upsert && p.unique && len(p.keys) > 0
	if !mode.Upsert && !skipExisting && p.direct {
		return s.tx(ctx, func() error { return s.appendDirect(ctx, b) })
	}
	newStage := s.stages[p.table] != p
	var inserted int64
	err := s.tx(ctx, func() error {
		if newStage {
			if old := s.stages[p.table]; old != nil {
				if _, err := s.exec(ctx, "DROP TABLE IF EXISTS temp.main."+quote(old.stage)); err != nil {
					return err
				}
			}
			if _, err := s.exec(ctx, p.stageDDL); err != nil {
				return fmt.Errorf("creating the stage table: %w", err)
			}
		}
		if err := s.appendStage(b); err != nil {
			return err
		}
		var staged int
		if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM temp.main."+quote(p.stage)).Scan(&staged); err != nil {
			return err
		}
		if staged != b.rows {
			return fmt.Errorf("the Appender staged %d rows, the batch has %d", staged, b.rows)
		}
		switch {
		case skipExisting:
			r, err := s.exec(ctx, p.insertNew)
			if err != nil {
				return fmt.Errorf("appending the rows whose key the table does not have: %s", firstLine(err.Error()))
			}
			inserted, _ = r.RowsAffected()
		case !mode.Upsert || len(p.keys) == 0:
			if _, err := s.exec(ctx, p.appendAll); err != nil {
				return fmt.Errorf("appending: %s", firstLine(err.Error()))
			}
		case !b.repeats.mayRepeat():
			// Each key once in the batch: merge straight from the stage.
			if p.replaceStage != "" {
				if _, err := s.exec(ctx, p.replaceStage); err != nil {
					return fmt.Errorf("replacing rows by key: %s", firstLine(err.Error()))
				}
			}
			merge := p.mergeStage
			if mode.HardDelete && p.hardDelStage != "" {
				if _, err := s.exec(ctx, p.hardDelStage); err != nil {
					return fmt.Errorf("deleting rows marked _sdc_deleted_at: %s", firstLine(err.Error()))
				}
				merge = p.mergeLiveStage
			}
			if _, err := s.exec(ctx, merge); err != nil {
				return fmt.Errorf("merging by key: %s", firstLine(err.Error()))
			}
		default:
			if _, err := s.exec(ctx, p.latest); err != nil {
				return fmt.Errorf("taking the last record of each key: %s", firstLine(err.Error()))
			}
			if p.replace != "" {
				if _, err := s.exec(ctx, p.replace); err != nil {
					return fmt.Errorf("replacing rows by key: %s", firstLine(err.Error()))
				}
			}
			merge := p.merge
			if mode.HardDelete && p.hardDel != "" {
				// Keys whose latest record is a delete are removed, not merged.
				if _, err := s.exec(ctx, p.hardDel); err != nil {
					return fmt.Errorf("deleting rows marked _sdc_deleted_at: %s", firstLine(err.Error()))
				}
				merge = p.mergeLive
			}
			if _, err := s.exec(ctx, merge); err != nil {
				return fmt.Errorf("merging by key: %s", firstLine(err.Error()))
			}
			if _, err := s.exec(ctx, "DROP TABLE temp.main."+quote(p.latestT)); err != nil {
				return err
			}
		}
		_, err := s.exec(ctx, "DELETE FROM temp.main."+quote(p.stage))
		return err
	})
	if err != nil {
		if newStage {
			delete(s.stages, p.table)
		}
		return err
	}
	s.stages[p.table] = p
	if skipExisting {
		if skipped := int64(b.rows) - inserted; skipped > 0 {
			if _, warned := s.d.warned.LoadOrStore(b.table.Stream, true); !warned {
				s.log.Warnf("stream %q: table %s has a unique key on (%s): append skipped %d records whose key is already in the table (a replay of records loaded before a resume, or a later record of the key); further skips are not logged. Use load_method upsert to update such rows, or drop the unique key to keep every record", b.table.Stream, p.table, quoteList(p.keys), skipped)
			}
		}
	}
	return nil
}

// appendDirect writes the batch with the Appender straight into its
// table (a plain append whose columns need no cast), in the session's
// open transaction, and checks the table grew by the batch's rows.
func (s *session) appendDirect(ctx context.Context, b *batch) error {
	p := b.plan
	var before, after int64
	if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+p.table).Scan(&before); err != nil {
		return err
	}
	err := s.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderWithColumns(dc.(driver.Conn), "", p.schema, p.name, p.columns)
		if err != nil {
			return fmt.Errorf("opening the Appender on %s: %w", p.table, err)
		}
		row := make([]driver.Value, len(b.cols))
		for r := 0; r < b.rows; r++ {
			b.row(r, row)
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return fmt.Errorf("appending row %d: %w", r+1, err)
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("appending the batch: %s", firstLine(err.Error()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+p.table).Scan(&after); err != nil {
		return err
	}
	if after-before != int64(b.rows) {
		return fmt.Errorf("the Appender added %d rows to %s, the batch has %d", after-before, p.table, b.rows)
	}
	return nil
}

// appendStage writes the batch into the stage with DuckDB's Appender, in
// the session's open transaction.
func (s *session) appendStage(b *batch) error {
	return s.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", b.plan.stage)
		if err != nil {
			return fmt.Errorf("opening the Appender: %w", err)
		}
		n := len(b.cols)
		row := make([]driver.Value, n+1)
		for r := 0; r < b.rows; r++ {
			b.row(r, row[:n])
			row[n] = int64(r)
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return fmt.Errorf("staging row %d: %w", r+1, err)
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("staging the batch: %w", err)
		}
		return nil
	})
}

// BeginReplace creates repl with t's columns, types and key as they are
// in the database, empty, dropping one left by a killed run.
func (s *session) BeginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	return classify(s.beginReplace(ctx, t, repl))
}

func (s *session) beginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	ident, r := tableIdent(t.Schema, t.Name), tableIdent(repl.Schema, repl.Name)
	return s.tx(ctx, func() error {
		existing, order, err := s.describe(ctx, t.Schema, t.Name)
		if err != nil {
			return fmt.Errorf("reading table %s: %w", ident, err)
		}
		uniques, err := s.uniqueKeys(ctx, t.Schema, t.Name)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, "DROP TABLE IF EXISTS "+r); err != nil {
			return fmt.Errorf("dropping %s, left by an earlier run: %w", r, err)
		}
		var defs []string
		for _, name := range order {
			ex := existing[strings.ToLower(name)]
			def := quote(ex.name) + " " + ex.typ
			if !ex.nullable {
				def += " NOT NULL"
			}
			defs = append(defs, def)
		}
		for _, u := range uniques {
			if hasUnique([][]string{u}, t.Keys) {
				defs = append(defs, "PRIMARY KEY ("+quoteList(t.Keys)+")")
				break
			}
		}
		if _, err := s.exec(ctx, "CREATE TABLE "+r+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return fmt.Errorf("creating %s to build the replacement of %s in: %w", r, ident, err)
		}
		return nil
	})
}

// EndReplace makes the rows of t those of repl in one transaction (DELETE
// and INSERT ... SELECT: the table keeps its definition and the views on
// it), and drops repl. Columns widened in repl are widened in t first.
func (s *session) EndReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	return classify(s.endReplace(ctx, t, repl, swap))
}

func (s *session) endReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	ident, r := tableIdent(t.Schema, t.Name), tableIdent(repl.Schema, repl.Name)
	if !swap {
		_, err := s.exec(ctx, "DROP TABLE IF EXISTS "+r)
		return err
	}
	rcols, _, err := s.describe(ctx, repl.Schema, repl.Name)
	if err != nil {
		return fmt.Errorf("looking for %s: %w", r, err)
	}
	if rcols == nil {
		s.log.Infof("%s is gone: an earlier attempt swapped it into %s", r, ident)
		return nil
	}
	tcols, _, err := s.describe(ctx, t.Schema, t.Name)
	if err != nil {
		return err
	}
	for name, rc := range rcols {
		tc, ok := tcols[name]
		if !ok || tc.typ == rc.typ {
			continue
		}
		if _, err := s.exec(ctx, "ALTER TABLE "+ident+" ALTER COLUMN "+quote(tc.name)+" TYPE "+rc.typ); err != nil {
			return fmt.Errorf("changing column %s of %s from %s to %s: %s", quote(tc.name), ident, tc.typ, rc.typ, firstLine(err.Error()))
		}
		s.log.Warnf("column %s of %s changed from %s to %s, as in the run's replacement (old values kept)", quote(tc.name), ident, tc.typ, rc.typ)
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	cols := quoteList(names)
	return s.tx(ctx, func() error {
		if _, err := s.exec(ctx, "DELETE FROM "+ident); err != nil {
			return fmt.Errorf("emptying %s: %w", ident, err)
		}
		if _, err := s.exec(ctx, "INSERT INTO "+ident+" ("+cols+") SELECT "+cols+" FROM "+r); err != nil {
			return fmt.Errorf("copying the rows of %s: %s", r, firstLine(err.Error()))
		}
		if _, err := s.exec(ctx, "DROP TABLE "+r); err != nil {
			return fmt.Errorf("dropping %s: %w", r, err)
		}
		return nil
	})
}

// ActivateVersion removes (or soft-deletes) the rows of older versions
// and the rows without a version.
func (s *session) ActivateVersion(ctx context.Context, t *sqltarget.Table, version int64, hardDelete bool) error {
	ident := tableIdent(t.Schema, t.Name)
	var ver, del string
	for _, c := range t.Columns {
		switch c.Meta {
		case sqltarget.MetaTableVersion:
			ver = quote(c.Name)
		case sqltarget.MetaDeletedAt:
			del = quote(c.Name)
		}
	}
	if ver == "" {
		return nil
	}
	older := "(" + ver + " < $1 OR " + ver + " IS NULL)"
	var err error
	if hardDelete || del == "" {
		_, err = s.exec(ctx, "DELETE FROM "+ident+" WHERE "+older, version)
	} else {
		_, err = s.exec(ctx, "UPDATE "+ident+" SET "+del+" = now() WHERE "+older+" AND "+del+" IS NULL", version)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("activating version %d of %s: %w", version, ident, err)
	}
	return classify(err)
}
