package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// session is one connection: it prepares tables and loads batches.
type session struct {
	d       *Dialect
	conn    *pgx.Conn
	log     *singer.Log
	schemas map[string]bool
	stages  map[string]string // table -> stage of the current column set
	// conflicts marks tables where a batch met existing keys: their
	// upserts go through the stage from then on.
	conflicts map[string]bool
	nstage    int
}

func (s *session) Close() error { return closeConn(s.conn) }

// closeConn closes a connection, waiting at most a few seconds for the
// server to take the goodbye (a stalled peer must not hold the exit).
func closeConn(c *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return c.Close(ctx)
}

// loadPlan holds the SQL of one table's loads, made once per column set.
type loadPlan struct {
	table     pgx.Identifier
	columns   string // quoted column list
	keys      []string
	unique    bool // a unique index on exactly the keys exists: ON CONFLICT works
	deletedAt string
	stage     string
	merge     string
	mergeLive string // merge without the keys whose latest record is deleted (hard_delete)
	// The same without the DISTINCT ON sort, for batches whose keys are unique.
	mergeUnique, mergeLiveUnique, hardDelUnique string
	replace                                     string // without a unique index: delete the batch's keys first
	insertNew                                   string // append into a table with a unique key: skip the keys it has
	hardDel                                     string
	copyInto                                    string
	copyStage                                   string
}

// skipsExisting: an append into a table with a unique key on the stream's
// keys (an earlier upsert made it, or its owner) skips the keys the table
// has: they are a replay after a resume, and must not stop the load. Any
// other append is a plain COPY.
func (p *loadPlan) skipsExisting(mode sqltarget.LoadMode) bool {
	return !mode.Upsert && p.unique && len(p.keys) > 0
}

type existingColumn struct {
	typ     string
	notNull bool
}

// describeSQL reads a table's columns in order; no row: no table.
const describeSQL = `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p') AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`

// uniqueSQL tells whether table $1 has a unique index on exactly the
// columns $2 (then ON CONFLICT works).
const uniqueSQL = `SELECT EXISTS (SELECT 1 FROM pg_index i
			WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
			AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
			     WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) =
			    (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) k))`

// lockSQL serializes the preparations of a table (or the creation of a
// schema) across sessions and runs, until the transaction ends.
const lockSQL = "SELECT pg_advisory_xact_lock(hashtext($1))"

// readColumns reads the next len(idents) results of a batch, each a
// describe of one table, into cols.
func readColumns(res pgx.BatchResults, idents []string, cols []map[string]existingColumn) error {
	for i := range idents {
		rows, err := res.Query()
		if err == nil {
			cols[i], err = scanColumns(rows)
		}
		if err != nil {
			return fmt.Errorf("reading table %s: %w", idents[i], err)
		}
	}
	return nil
}

// scanColumns reads the rows of describeSQL (nil: no table).
func scanColumns(rows pgx.Rows) (map[string]existingColumn, error) {
	defer rows.Close()
	cols := map[string]existingColumn{}
	for rows.Next() {
		var name, typ string
		var nn bool
		if err := rows.Scan(&name, &typ, &nn); err != nil {
			return nil, err
		}
		cols[name] = existingColumn{typ: typ, notNull: nn}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, nil
	}
	return cols, nil
}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// PrepareTable creates or evolves the table and returns a batch for it.
func (s *session) PrepareTable(ctx context.Context, t *sqltarget.Table) (*copyBatch, error) {
	b, err := s.prepareTable(ctx, t)
	return b, classify(err, s.conn.IsClosed())
}

func (s *session) prepareTable(ctx context.Context, t *sqltarget.Table) (*copyBatch, error) {
	bs, err := s.prepareTables(ctx, []*sqltarget.Table{t})
	if err != nil {
		return nil, err
	}
	return bs[0], nil
}

// PrepareTables prepares the tables of ts in one transaction
// (sqltarget.PreparingMany): the locks and catalog reads of all of them in
// one round trip, their DDL in a second, the reads after it in a third.
func (s *session) PrepareTables(ctx context.Context, ts []*sqltarget.Table) ([]*copyBatch, error) {
	bs, err := s.prepareTables(ctx, ts)
	return bs, classify(err, s.conn.IsClosed())
}

func (s *session) prepareTables(ctx context.Context, ts []*sqltarget.Table) ([]*copyBatch, error) {
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	var newSchemas, locks []string
	idents := make([]string, len(ts))
	for i, t := range ts {
		idents[i] = pgx.Identifier{t.Schema, t.Name}.Sanitize()
		if !s.schemas[t.Schema] && !slices.Contains(newSchemas, t.Schema) {
			newSchemas = append(newSchemas, t.Schema)
		}
	}
	// The locks in one order (schemas, then tables by name), as every
	// session takes them: two sessions never wait for each other in turn.
	slices.Sort(newSchemas)
	locks = slices.Clone(idents)
	slices.Sort(locks)
	locks = slices.Compact(locks)
	var read pgx.Batch
	for _, name := range newSchemas {
		read.Queue(lockSQL, "schema "+name)
		read.Queue("CREATE SCHEMA IF NOT EXISTS " + quote(name))
	}
	for _, l := range locks {
		read.Queue(lockSQL, l)
	}
	for _, t := range ts {
		read.Queue(describeSQL, t.Schema, t.Name)
	}
	existing := make([]map[string]existingColumn, len(ts))
	err = func() error {
		res := tx.SendBatch(ctx, &read)
		defer res.Close()
		for _, name := range newSchemas {
			if _, err := res.Exec(); err != nil {
				return err
			}
			if _, err := res.Exec(); err != nil {
				return fmt.Errorf("creating schema %s: %w", name, err)
			}
		}
		for range locks {
			if _, err := res.Exec(); err != nil {
				return err
			}
		}
		if err := readColumns(res, idents, existing); err != nil {
			return err
		}
		return res.Close()
	}()
	if err != nil {
		return nil, err
	}
	var all []ddl
	stmts := make([][]ddl, len(ts))
	for i, t := range ts {
		if stmts[i], err = s.changes(t, existing[i]); err != nil {
			return nil, err
		}
		all = append(all, stmts[i]...)
	}
	if err := s.runDDL(ctx, all); err != nil {
		return nil, err
	}
	var change pgx.Batch
	for _, t := range ts {
		change.Queue(describeSQL, t.Schema, t.Name)
	}
	for i, t := range ts {
		if len(t.Keys) > 0 {
			change.Queue(uniqueSQL, idents[i], t.Keys)
		}
	}
	finals := make([]map[string]existingColumn, len(ts))
	uniques := make([]bool, len(ts))
	err = func() error {
		res := tx.SendBatch(ctx, &change)
		defer res.Close()
		if err := readColumns(res, idents, finals); err != nil {
			return err
		}
		for i, t := range ts {
			uniques[i] = true
			if len(t.Keys) > 0 {
				if err := res.QueryRow().Scan(&uniques[i]); err != nil {
					return fmt.Errorf("reading the indexes of %s: %w", idents[i], err)
				}
			}
		}
		return res.Close()
	}()
	if err != nil {
		return nil, err
	}
	out := make([]*copyBatch, len(ts))
	for i, t := range ts {
		if out[i], err = s.batchFor(t, finals[i], uniques[i]); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	for _, name := range newSchemas {
		s.schemas[name] = true
	}
	// Logged once committed: a group that fails is prepared again table
	// by table, which logs what it does.
	for i := range ts {
		for _, d := range stmts[i] {
			d.logTo(s.log)
		}
	}
	return out, nil
}

// runDDL runs stmts as one simple query, in one round trip and out of
// pgx's statement cache (which keeps every statement of a pgx.Batch); a
// statement that fails is named by its fail.
func (s *session) runDDL(ctx context.Context, stmts []ddl) error {
	if len(stmts) == 0 {
		return nil
	}
	var script strings.Builder
	for _, d := range stmts {
		script.WriteString(d.sql)
		script.WriteString(";\n")
	}
	mrr := s.conn.PgConn().Exec(ctx, script.String())
	done := 0 // the statements that completed
	for mrr.NextResult() {
		done++
	}
	if err := mrr.Close(); err != nil {
		if done < len(stmts) {
			return fmt.Errorf("%s: %w", stmts[done].fail, err)
		}
		return err
	}
	return nil
}

// ddl is one statement of a table's preparation.
type ddl struct {
	sql  string
	fail string // what it does, the prefix of its error
	info string // the line logged once it ran
	warn bool   // info is a warning
}

func (d ddl) logTo(log *singer.Log) {
	if d.info == "" {
		return
	}
	if d.warn {
		log.Warnf("%s", d.info)
	} else {
		log.Infof("%s", d.info)
	}
}

// changes returns the statements that create t, or evolve existing (the
// table's columns, nil when there is no table) to take t's columns: add
// columns, widen types by the type table's rules, make columns the schema
// no longer has nullable.
func (s *session) changes(t *sqltarget.Table, existing map[string]existingColumn) ([]ddl, error) {
	table := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	if existing == nil {
		var defs []string
		for _, c := range t.Columns {
			def := quote(c.Name) + " " + columnType(c.Type)
			if c.Key {
				def += " NOT NULL"
			}
			defs = append(defs, def)
		}
		if t.UniqueKey {
			defs = append(defs, "PRIMARY KEY ("+quoteList(t.Keys)+")")
		}
		return []ddl{{
			sql:  "CREATE TABLE " + table + " (" + strings.Join(defs, ", ") + ")",
			fail: "creating table " + table,
			info: fmt.Sprintf("created table %s (%d columns) for stream %q", table, len(t.Columns), t.Stream),
		}}, nil
	}
	if err := adoptColumnCase(t, existing, table, s.log); err != nil {
		return nil, err
	}
	var out []ddl
	want := map[string]bool{}
	for _, c := range t.Columns {
		want[c.Name] = true
		ex, ok := existing[c.Name]
		if !ok {
			out = append(out, ddl{
				sql:  "ALTER TABLE " + table + " ADD COLUMN " + quote(c.Name) + " " + columnType(c.Type),
				fail: fmt.Sprintf("adding column %s to %s", quote(c.Name), table),
				info: fmt.Sprintf("added column %s %s to %s", quote(c.Name), columnType(c.Type), table),
			})
			continue
		}
		newType, using := evolution(ex.typ, c.Type)
		if newType == "" {
			continue
		}
		if keep, err := guardForeign(table, quote(c.Name), ex.typ, newType, c.Type); err != nil {
			return nil, err
		} else if keep {
			continue
		}
		out = append(out, ddl{
			sql:  fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s", table, quote(c.Name), newType, fmt.Sprintf(using, quote(c.Name))),
			fail: fmt.Sprintf("changing column %s of %s from %s to %s", quote(c.Name), table, ex.typ, newType),
			info: fmt.Sprintf("column %s of %s changed from %s to %s to take %s values (old values kept)", quote(c.Name), table, ex.typ, newType, c.Type),
			warn: true,
		})
	}
	// Columns the schema no longer has must not block inserts. (In a
	// fixed order: the statements of a preparation are the same each time.)
	var gone []string
	for name, ex := range existing {
		if !want[name] && ex.notNull {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		out = append(out, ddl{
			sql:  "ALTER TABLE " + table + " ALTER COLUMN " + quote(name) + " DROP NOT NULL",
			fail: fmt.Sprintf("making column %s of %s nullable", quote(name), table),
		})
	}
	return out, nil
}

// batchFor returns the batch encoder for rows of t into the table whose
// columns are final (read back after its preparation).
func (s *session) batchFor(t *sqltarget.Table, final map[string]existingColumn, unique bool) (*copyBatch, error) {
	ident := pgx.Identifier{t.Schema, t.Name}
	encoders := make([]encoder, len(t.Columns))
	for i, c := range t.Columns {
		e, ok := physicalKind(c.Name, final[c.Name].typ)
		if !ok {
			return nil, fmt.Errorf("column %s of %s has type %s, which target-postgres cannot load; change it to text or jsonb", quote(c.Name), ident.Sanitize(), final[c.Name].typ)
		}
		encoders[i] = e
	}
	plan := s.plan(t, ident, unique)
	return newCopyBatch(t, encoders, plan, s.d.chunks), nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

func (s *session) plan(t *sqltarget.Table, ident pgx.Identifier, unique bool) *loadPlan {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	cols := quoteList(names)
	s.nstage++
	p := &loadPlan{table: ident, columns: cols, keys: t.Keys, unique: unique, stage: fmt.Sprintf("singerkit_stage_%d", s.nstage)}
	p.copyInto = "COPY " + ident.Sanitize() + " (" + cols + ") FROM STDIN (FORMAT binary)"
	p.copyStage = "COPY " + p.stage + " (" + cols + ") FROM STDIN (FORMAT binary)"
	if len(t.Keys) == 0 {
		return p
	}
	for _, c := range t.Columns {
		if c.Meta == sqltarget.MetaDeletedAt {
			p.deletedAt = c.Name
		}
	}
	keys := quoteList(t.Keys)
	latest := "SELECT DISTINCT ON (" + keys + ") " + cols + " FROM " + p.stage + " ORDER BY " + keys + ", _singerkit_row DESC"
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
	var match []string
	for _, k := range t.Keys {
		match = append(match, "t."+quote(k)+" = s."+quote(k))
	}
	conflict := ""
	if unique {
		conflict = " ON CONFLICT (" + keys + ") DO NOTHING"
		if len(sets) > 0 {
			conflict = " ON CONFLICT (" + keys + ") DO UPDATE SET " + strings.Join(sets, ", ")
		}
	} else {
		p.replace = "DELETE FROM " + ident.Sanitize() + " t USING " + p.stage + " s WHERE " + strings.Join(match, " AND ")
	}
	all := "SELECT " + cols + " FROM " + p.stage
	if unique {
		p.insertNew = "INSERT INTO " + ident.Sanitize() + " (" + cols + ") SELECT " + cols + " FROM " + p.stage + " ORDER BY _singerkit_row ON CONFLICT (" + keys + ") DO NOTHING"
	}
	p.merge = "INSERT INTO " + ident.Sanitize() + " (" + cols + ") " + latest + conflict
	p.mergeUnique = "INSERT INTO " + ident.Sanitize() + " (" + cols + ") " + all + conflict
	if p.deletedAt != "" {
		live := "SELECT " + cols + " FROM (" + latest + ") l WHERE l." + quote(p.deletedAt) + " IS NULL"
		p.mergeLive = "INSERT INTO " + ident.Sanitize() + " (" + cols + ") " + live + conflict
		p.mergeLiveUnique = "INSERT INTO " + ident.Sanitize() + " (" + cols + ") " + all + " WHERE " + quote(p.deletedAt) + " IS NULL" + conflict
		p.hardDel = "DELETE FROM " + ident.Sanitize() + " t USING (" + latest + ") s WHERE " + strings.Join(match, " AND ") + " AND s." + quote(p.deletedAt) + " IS NOT NULL"
		p.hardDelUnique = "DELETE FROM " + ident.Sanitize() + " t USING " + p.stage + " s WHERE " + strings.Join(match, " AND ") + " AND s." + quote(p.deletedAt) + " IS NOT NULL"
	}
	return p
}

// Load loads one batch in one transaction: COPY (into the table for
// append, into a temporary stage for upsert), check the count, merge by
// key, commit.
func (s *session) Load(ctx context.Context, b *copyBatch, mode sqltarget.LoadMode) error {
	err := s.loadBatch(ctx, b, mode)
	var ce *commitError
	if errors.As(err, &ce) {
		return s.d.inDoubt(ce)
	}
	return classify(err, s.conn.IsClosed())
}

func (s *session) loadBatch(ctx context.Context, cb *copyBatch, mode sqltarget.LoadMode) error {
	// An append that loses its connection during COMMIT is redone only
	// if the server says that its transaction did not commit: keep its id.
	track := !mode.Upsert
	p := cb.plan
	skipExisting := p.skipsExisting(mode)
	// Optimistic upsert: a batch without repeated keys, into a table with a
	// unique key index, is first copied straight into the table. If no key
	// exists yet (an initial load, new rows) that is the whole merge; a
	// unique violation rolls it back and the batch takes the stage path,
	// which this session then keeps for the table.
	if (skipExisting || mode.Upsert && p.unique && !cb.repeats.Found() && !(mode.HardDelete && p.deletedAt != "")) && !s.conflicts[p.table.Sanitize()] {
		err := s.load(ctx, cb, sqltarget.LoadMode{}, skipExisting, false)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "23505" {
			return err
		}
		s.conflicts[p.table.Sanitize()] = true
	}
	return s.load(ctx, cb, mode, track, skipExisting)
}

// commit commits tx; a COMMIT that may have reached the server without
// its reply coming back is a *commitError.
func commit(ctx context.Context, tx pgx.Tx, txid int64) error {
	err := tx.Commit(ctx)
	var pe *pgconn.PgError
	if err == nil || errors.As(err, &pe) || pgconn.SafeToRetry(err) {
		return err
	}
	return &commitError{err: err, txid: txid}
}

// copyInto copies a batch into its table, in the transaction open on the
// session, and checks the count. The COPY reads the batch's chunks as they
// are: no copy of the batch.
func (s *session) copyInto(ctx context.Context, cb *copyBatch) error {
	data := cb.data()
	defer data.Close()
	tag, err := s.conn.PgConn().CopyFrom(ctx, data, cb.plan.copyInto)
	if err != nil {
		return copyError(err)
	}
	if int(tag.RowsAffected()) != cb.rows {
		return fmt.Errorf("COPY loaded %d rows, the batch has %d", tag.RowsAffected(), cb.rows)
	}
	return nil
}

// errNotTogether: a batch of the group takes another path than a plain
// COPY (an append that skips the keys a unique table has), so the group
// is loaded batch by batch.
var errNotTogether = errors.New("a batch of the group does not load by a plain COPY")

// LoadMany implements sqltarget.LoadingMany: plain appends (no unique key
// on the stream's keys to skip) are copied into their tables in one
// transaction with one COMMIT.
func (s *session) LoadMany(ctx context.Context, bs []*copyBatch, modes []sqltarget.LoadMode) error {
	for i, cb := range bs {
		if modes[i].Upsert || cb.plan.skipsExisting(modes[i]) {
			return errNotTogether
		}
	}
	err := s.copyTogether(ctx, bs)
	var ce *commitError
	if errors.As(err, &ce) {
		return s.d.inDoubt(ce)
	}
	return classify(err, s.conn.IsClosed())
}

func (s *session) copyTogether(ctx context.Context, bs []*copyBatch) error {
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Kept to learn whether a COMMIT whose reply was lost committed.
	var txid int64
	if err := tx.QueryRow(ctx, "SELECT txid_current()").Scan(&txid); err != nil {
		return err
	}
	for _, cb := range bs {
		if err := s.copyInto(ctx, cb); err != nil {
			return err
		}
	}
	return commit(ctx, tx, txid)
}

func (s *session) load(ctx context.Context, cb *copyBatch, mode sqltarget.LoadMode, track, skipExisting bool) error {
	p := cb.plan
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var txid int64
	if track {
		if err := tx.QueryRow(ctx, "SELECT txid_current()").Scan(&txid); err != nil {
			return err
		}
	}
	if !mode.Upsert && !skipExisting {
		if err := s.copyInto(ctx, cb); err != nil {
			return err
		}
		return commit(ctx, tx, txid)
	}
	// The COPY reads the batch's chunks as they are: no copy of the batch.
	data := cb.data()
	defer data.Close()
	newStage := s.stages[p.table.Sanitize()] != p.stage
	if newStage {
		if old := s.stages[p.table.Sanitize()]; old != "" {
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+old); err != nil {
				return err
			}
		}
		// The stage has the table's exact column types, plus the position
		// of each record in the batch (the last record of a key wins).
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE "+p.stage+" ON COMMIT DELETE ROWS AS SELECT "+p.columns+" FROM "+p.table.Sanitize()+" WITH NO DATA"); err != nil {
			return fmt.Errorf("creating the stage table: %w", err)
		}
		if _, err := tx.Exec(ctx, "ALTER TABLE "+p.stage+" ADD COLUMN _singerkit_row bigint GENERATED ALWAYS AS IDENTITY"); err != nil {
			return fmt.Errorf("creating the stage table: %w", err)
		}
	}
	tag, err := s.conn.PgConn().CopyFrom(ctx, data, p.copyStage)
	if err != nil {
		return copyError(err)
	}
	if int(tag.RowsAffected()) != cb.rows {
		return fmt.Errorf("COPY staged %d rows, the batch has %d", tag.RowsAffected(), cb.rows)
	}
	if skipExisting {
		tag, err := tx.Exec(ctx, p.insertNew)
		if err != nil {
			return fmt.Errorf("appending the rows whose key the table does not have: %w", err)
		}
		if err := commit(ctx, tx, txid); err != nil {
			return err
		}
		if newStage {
			s.stages[p.table.Sanitize()] = p.stage
		}
		if skipped := cb.rows - int(tag.RowsAffected()); skipped > 0 {
			if _, warned := s.d.warned.LoadOrStore(cb.table.Stream, true); !warned {
				s.log.Warnf("stream %q: table %s has a unique key on (%s): append skipped %d records whose key is already in the table (a replay of records loaded before a resume, or a later record of the key); further skips are not logged. Use load_method upsert to update such rows, or drop the unique key to keep every record", cb.table.Stream, p.table.Sanitize(), quoteList(p.keys), skipped)
			}
		}
		return nil
	}
	merge, mergeLive, hardDel := p.merge, p.mergeLive, p.hardDel
	if !cb.repeats.Found() {
		merge, mergeLive, hardDel = p.mergeUnique, p.mergeLiveUnique, p.hardDelUnique
	}
	if p.replace != "" {
		// Joining the table: the planner needs the stage's size.
		if _, err := tx.Exec(ctx, "ANALYZE "+p.stage); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, p.replace); err != nil {
			return fmt.Errorf("replacing rows by key: %w", err)
		}
	}
	if mode.HardDelete && hardDel != "" {
		// Keys whose latest record is a delete are removed, not merged.
		if _, err := tx.Exec(ctx, hardDel); err != nil {
			return fmt.Errorf("deleting rows marked _sdc_deleted_at: %w", err)
		}
		merge = mergeLive
	}
	if _, err := tx.Exec(ctx, merge); err != nil {
		return fmt.Errorf("merging by key: %w", err)
	}
	if err := commit(ctx, tx, txid); err != nil {
		return err
	}
	if newStage {
		s.stages[p.table.Sanitize()] = p.stage
	}
	return nil
}

// BeginReplace creates repl as a copy of t's definition (columns, types,
// defaults, constraints, indexes), empty, dropping one left by a killed run.
func (s *session) BeginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	return classify(s.beginReplace(ctx, t, repl), s.conn.IsClosed())
}

func (s *session) beginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	ident, r := pgx.Identifier{t.Schema, t.Name}.Sanitize(), pgx.Identifier{repl.Schema, repl.Name}.Sanitize()
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+r); err != nil {
		return fmt.Errorf("dropping %s, left by an earlier run: %w", r, err)
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE "+r+" (LIKE "+ident+" INCLUDING ALL)"); err != nil {
		return fmt.Errorf("creating %s to build the replacement of %s in: %w", r, ident, err)
	}
	return tx.Commit(ctx)
}

// EndReplace swaps the replacement's rows into the table in one
// transaction (TRUNCATE and INSERT ... SELECT: the table keeps its
// definition, grants and dependent views), and drops the replacement.
func (s *session) EndReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	return classify(s.endReplace(ctx, t, repl, swap), s.conn.IsClosed())
}

func (s *session) endReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	ident, r := pgx.Identifier{t.Schema, t.Name}.Sanitize(), pgx.Identifier{repl.Schema, repl.Name}.Sanitize()
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if swap {
		// The swap drops the replacement in its own transaction: when it
		// is gone, an earlier attempt whose COMMIT got no reply did swap.
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", r).Scan(&exists); err != nil {
			return fmt.Errorf("looking for %s: %w", r, err)
		}
		if !exists {
			s.log.Infof("%s is gone: the attempt whose COMMIT got no reply swapped it into %s", r, ident)
			return nil
		}
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		cols := quoteList(names)
		if _, err := tx.Exec(ctx, "TRUNCATE "+ident); err != nil {
			return fmt.Errorf("truncating %s: %w", ident, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+ident+" ("+cols+") SELECT "+cols+" FROM "+r); err != nil {
			return fmt.Errorf("copying the rows of %s: %w", r, err)
		}
	}
	if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+r); err != nil {
		return fmt.Errorf("dropping %s: %w", r, err)
	}
	return tx.Commit(ctx)
}

// copyError makes a COPY failure name the column and value PostgreSQL
// reports, and its SQLSTATE.
func copyError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code != "23505" {
		return &pgError{prefix: "COPY failed: ", pe: pe}
	}
	return fmt.Errorf("COPY failed: %w", err)
}

// ActivateVersion removes (or soft-deletes) the rows of older versions
// and the rows without a version.
func (s *session) ActivateVersion(ctx context.Context, t *sqltarget.Table, version int64, hardDelete bool) error {
	ident := pgx.Identifier{t.Schema, t.Name}.Sanitize()
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
	older := "(" + ver + " < $1 OR " + ver + " IS NULL)"
	var err error
	if hardDelete || del == "" {
		_, err = s.conn.Exec(ctx, "DELETE FROM "+ident+" WHERE "+older, version)
	} else {
		_, err = s.conn.Exec(ctx, "UPDATE "+ident+" SET "+del+" = now() WHERE "+older+" AND "+del+" IS NULL", version)
	}
	return classify(err, s.conn.IsClosed())
}

// adoptColumnCase makes a column of t that the table lacks load into the
// table's column of the same name in another case, when there is exactly
// one: pipelinewise-target-postgres and the Meltano SDK's targets
// lower-case column names, target-postgres keeps them as the schema spells
// them, and a table either made must keep taking a property's values in
// one column (never a second column next to it, splitting them). Two or
// more such columns are ambiguous: one line, nothing changed.
func adoptColumnCase(t *sqltarget.Table, existing map[string]existingColumn, table string, log interface{ Infof(string, ...any) }) error {
	taken := map[string]bool{}
	for _, c := range t.Columns {
		if _, ok := existing[c.Name]; ok {
			taken[c.Name] = true
		}
	}
	byFold := map[string][]string{}
	for name := range existing {
		f := strings.ToLower(name)
		byFold[f] = append(byFold[f], name)
	}
	for _, c := range t.Columns {
		if _, ok := existing[c.Name]; ok {
			continue
		}
		var free []string
		for _, name := range byFold[strings.ToLower(c.Name)] {
			if !taken[name] {
				free = append(free, name)
			}
		}
		switch len(free) {
		case 0:
			continue
		case 1:
		default:
			slices.Sort(free)
			return fmt.Errorf("stream %q, property %q: table %s has no column %s but has %d that differ from it only in case (%s); rename or drop all but one of them, or rename the property (e.g. with a stream map)",
				t.Stream, c.Property, table, quote(c.Name), len(free), strings.Join(quoteAll(free), ", "))
		}
		for i, k := range t.Keys {
			if k == c.Name {
				t.Keys[i] = free[0]
			}
		}
		log.Infof("stream %q: property %q loads into the existing column %s of %s (same name in another case)", t.Stream, c.Property, quote(free[0]), table)
		c.Name = free[0]
		taken[free[0]] = true
	}
	return nil
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quote(n)
	}
	return out
}
