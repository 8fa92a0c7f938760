package memdialect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// maxIdentifier is the longest name, as in PostgreSQL.
const maxIdentifier = 63

// Hooks are failures and delays on demand. Each is called, when set, at
// its point of every session; an error it returns is the operation's
// error (wrap it in *sqltarget.TransientError for one the engine retries).
// A hook that blocks is a slow database: it should return when ctx ends.
type Hooks struct {
	// Open is called when the engine opens a session.
	Open func(ctx context.Context) error
	// Prepare is called before a table is created or evolved.
	Prepare func(ctx context.Context, table string) error
	// BeforeCommit is called in a Load once the rows are staged, before
	// they are merged and committed: an error rolls the load back (the
	// table keeps none of the batch). Sessions run it concurrently.
	BeforeCommit func(ctx context.Context, table string, rows int) error
	// AfterCommit is called once a Load committed: an error is a lost
	// reply to COMMIT. The Load then returns a *sqltarget.TransientError
	// marked InDoubt whose Committed says true.
	AfterCommit func(ctx context.Context, table string, rows int) error
	// PrepareTables is called with the tables of a group before they are
	// prepared together (sqltarget.PreparingMany): an error fails the
	// group, and the engine prepares each table on its own.
	PrepareTables func(ctx context.Context, tables []string) error
	// LoadMany is called with the tables of a group of batches before
	// they are loaded together (sqltarget.LoadingMany): an error fails the
	// group, and the engine loads each batch on its own.
	LoadMany func(ctx context.Context, tables []string) error
}

// Dialect is the in-memory dialect. Set Hooks before the engine runs.
type Dialect struct {
	DB    *DB
	Hooks Hooks
	// Now is the time soft deletes write (time.Now when nil).
	Now func() time.Time
	// Ramp, IdleFlush: the engine ramps batches up, and flushes them
	// when their loader is idle (sqltarget.Ramping).
	Ramp, IdleFlush bool
	// Spread: appends of a stream into a table without a unique key load
	// on several sessions at once (sqltarget.Spreading).
	Spread bool
	// Group: appends queued on a loader load in one transaction
	// (sqltarget.LoadingMany; off, LoadMany refuses every group).
	Group bool

	log    *singer.Log
	warned sync.Map // streams warned of records skipped by append
}

// New returns a dialect on db that logs to log.
func New(db *DB, log *singer.Log) *Dialect { return &Dialect{DB: db, log: log} }

// FoldIdentifier keeps names as they are (as PostgreSQL does with quoted
// names), without NUL characters, shortened to 63 bytes with a hash.
func (d *Dialect) FoldIdentifier(name string) string {
	name = strings.ReplaceAll(name, "\x00", "")
	if name == "" {
		name = "_"
	}
	return sqltarget.TruncateWithHash(name, maxIdentifier)
}

// RampBatches says whether the engine ramps batches up and flushes them
// when their loader is idle (the Ramp and IdleFlush fields).
func (d *Dialect) RampBatches() (ramp, idle bool) { return d.Ramp, d.IdleFlush }

// IdentifierKey: names are case-sensitive.
func (d *Dialect) IdentifierKey(name string) string { return name }

// MaxIdentifier is 63 bytes.
func (d *Dialect) MaxIdentifier() int { return maxIdentifier }

// Open opens a session.
func (d *Dialect) Open(ctx context.Context) (sqltarget.Session[*batch], error) {
	if d.Hooks.Open != nil {
		if err := d.Hooks.Open(ctx); err != nil {
			return nil, err
		}
	}
	return &session{d: d}, nil
}

func (d *Dialect) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

type session struct {
	d      *Dialect
	closed bool
}

func (s *session) Close() error { s.closed = true; return nil }

func qualified(schema, name string) string { return schema + "." + name }

// PrepareTables prepares the tables of ts one after the other (unlike a
// database's, not in one transaction: the tables prepared before a
// failure stay prepared, which a later PrepareTable of each keeps).
func (s *session) PrepareTables(ctx context.Context, ts []*sqltarget.Table) ([]*batch, error) {
	if s.d.Hooks.PrepareTables != nil {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = qualified(t.Schema, t.Name)
		}
		if err := s.d.Hooks.PrepareTables(ctx, names); err != nil {
			return nil, err
		}
	}
	out := make([]*batch, len(ts))
	for i, t := range ts {
		b, err := s.PrepareTable(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// PrepareTable creates the table or evolves it to take t's columns, and
// returns a batch that converts values to the table's column types.
func (s *session) PrepareTable(ctx context.Context, t *sqltarget.Table) (*batch, error) {
	if s.d.Hooks.Prepare != nil {
		if err := s.d.Hooks.Prepare(ctx, qualified(t.Schema, t.Name)); err != nil {
			return nil, err
		}
	}
	var final []column
	var unique []string
	err := s.d.DB.tx(t.Schema, func(ts tables) error {
		tb := ts[t.Name]
		if tb == nil {
			tb = &table{}
			for _, c := range t.Columns {
				tb.Columns = append(tb.Columns, column{Name: c.Name, Type: c.Type.String(), NotNull: c.Key})
			}
			if t.UniqueKey {
				tb.Unique = append([]string(nil), t.Keys...)
			}
			ts[t.Name] = tb
			s.d.log.Infof("created table %s (%d columns) for stream %q", qualified(t.Schema, t.Name), len(t.Columns), t.Stream)
		} else {
			for _, c := range t.Columns {
				i := tb.index(c.Name)
				if i < 0 {
					tb.Columns = append(tb.Columns, column{Name: c.Name, Type: c.Type.String()})
					for r, row := range tb.Rows {
						tb.Rows[r] = append(append([]*string(nil), row...), nil)
					}
					s.d.log.Infof("added column %s %s to %s", c.Name, c.Type, qualified(t.Schema, t.Name))
					continue
				}
				if to := evolve(tb.Columns[i].Type, c.Type); to != tb.Columns[i].Type {
					if err := tb.retype(i, to); err != nil {
						return fmt.Errorf("changing column %s of %s from %s to %s: %w", c.Name, qualified(t.Schema, t.Name), tb.Columns[i].Type, to, err)
					}
					s.d.log.Warnf("column %s of %s changed from %s to %s to take %s values (old values kept)", c.Name, qualified(t.Schema, t.Name), tb.Columns[i].Type, to, c.Type)
					tb.Columns[i].Type = to
				}
			}
		}
		final = append([]column(nil), tb.Columns...)
		unique = tb.Unique
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := &batch{table: t, cols: make([]int, len(t.Columns)), types: make([]string, len(t.Columns)), unique: unique, spread: s.d.Spread}
	byName := map[string]int{}
	for i, c := range final {
		byName[c.Name] = i
	}
	for i, c := range t.Columns {
		b.cols[i] = byName[c.Name]
		b.types[i] = final[b.cols[i]].Type
	}
	b.deletedAt = -1
	for i, c := range t.Columns {
		if c.Meta == sqltarget.MetaDeletedAt {
			b.deletedAt = i
		}
	}
	return b, nil
}

func (t *table) index(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// retype converts column i's values to type to (every value converts: a
// widening keeps the text).
func (t *table) retype(i int, to string) error {
	for r, row := range t.Rows {
		v := row[i]
		if v == nil {
			continue
		}
		nv, err := convertText(*v, t.Columns[i].Type, to)
		if err != nil {
			return err
		}
		nr := append([]*string(nil), row...)
		nr[i] = &nv
		t.Rows[r] = nr
	}
	return nil
}

// Load loads a batch in one transaction.
func (s *session) Load(ctx context.Context, b *batch, mode sqltarget.LoadMode) error {
	t := b.table
	name := qualified(t.Schema, t.Name)
	// The rows are staged (converted in Append): the hook runs before the
	// merge and commit, outside the database's lock, so slow loads of
	// several sessions overlap as on a server.
	if s.d.Hooks.BeforeCommit != nil {
		if err := s.d.Hooks.BeforeCommit(ctx, name, len(b.rows)); err != nil {
			return err
		}
	}
	var skipped int
	err := s.d.DB.tx(t.Schema, func(ts tables) (err error) {
		skipped, err = s.apply(ctx, ts, b, mode)
		return err
	})
	if err != nil {
		return err
	}
	s.warnSkipped(b, skipped)
	if s.d.Hooks.AfterCommit != nil {
		if err := s.d.Hooks.AfterCommit(ctx, name, len(b.rows)); err != nil {
			return &sqltarget.TransientError{Err: err, InDoubt: true, Committed: func(context.Context) (bool, error) { return true, nil }}
		}
	}
	return nil
}

// LoadMany implements sqltarget.LoadingMany when Group is set: the
// batches of tables of one schema in one transaction (Hooks.LoadMany sees the group first; batches
// of several schemas are refused, and the engine loads them one by one).
func (s *session) LoadMany(ctx context.Context, bs []*batch, modes []sqltarget.LoadMode) error {
	if !s.d.Group {
		return errGroupsOff
	}
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = qualified(b.table.Schema, b.table.Name)
		if b.table.Schema != bs[0].table.Schema {
			return fmt.Errorf("the group's tables are in several schemas")
		}
	}
	if s.d.Hooks.LoadMany != nil {
		if err := s.d.Hooks.LoadMany(ctx, names); err != nil {
			return err
		}
	}
	if s.d.Hooks.BeforeCommit != nil {
		for i, b := range bs {
			if err := s.d.Hooks.BeforeCommit(ctx, names[i], len(b.rows)); err != nil {
				return err
			}
		}
	}
	skipped := make([]int, len(bs))
	err := s.d.DB.tx(bs[0].table.Schema, func(ts tables) (err error) {
		for i, b := range bs {
			if skipped[i], err = s.apply(ctx, ts, b, modes[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, b := range bs {
		s.warnSkipped(b, skipped[i])
	}
	if s.d.Hooks.AfterCommit != nil {
		for i, b := range bs {
			if err := s.d.Hooks.AfterCommit(ctx, names[i], len(b.rows)); err != nil {
				return &sqltarget.TransientError{Err: err, InDoubt: true, Committed: func(context.Context) (bool, error) { return true, nil }}
			}
		}
	}
	return nil
}

var errGroupsOff = errors.New("memdialect: groups are off (Dialect.Group)")

// apply loads a batch into ts, the tables of a transaction.
func (s *session) apply(ctx context.Context, ts tables, b *batch, mode sqltarget.LoadMode) (skipped int, err error) {
	t := b.table
	name := qualified(t.Schema, t.Name)
	tb := ts[t.Name]
	if tb == nil {
		return 0, fmt.Errorf("table %s does not exist", name)
	}
	tb = tb.clone()
	ts[t.Name] = tb
	width := len(tb.Columns)
	rows := make([][]*string, len(b.rows))
	for r, vals := range b.rows {
		row := make([]*string, width)
		for i, v := range vals {
			if b.cols[i] >= width {
				return 0, fmt.Errorf("column %s is not in %s", t.Columns[i].Name, name)
			}
			row[b.cols[i]] = v
		}
		for i, c := range tb.Columns {
			if c.NotNull && row[i] == nil {
				return 0, fmt.Errorf("null value in column %s of %s violates not-null constraint", c.Name, name)
			}
		}
		rows[r] = row
	}
	keyCols := make([]int, len(t.Keys))
	for i, k := range t.Keys {
		keyCols[i] = tb.index(k)
	}
	key := func(row []*string) string {
		var sb strings.Builder
		for _, i := range keyCols {
			if row[i] == nil {
				sb.WriteString("\x00N")
			} else {
				sb.WriteString(*row[i])
			}
			sb.WriteByte(0xff)
		}
		return sb.String()
	}
	uniqueOnKeys := len(t.Keys) > 0 && sameSet(tb.Unique, t.Keys)
	switch {
	case !mode.Upsert && uniqueOnKeys:
		// A replay after a resume, or a later record of a key: skipped.
		have := map[string]bool{}
		for _, row := range tb.Rows {
			have[key(row)] = true
		}
		for _, row := range rows {
			k := key(row)
			if have[k] {
				skipped++
				continue
			}
			have[k] = true
			tb.Rows = append(tb.Rows, row)
		}
	case !mode.Upsert:
		if len(tb.Unique) > 0 {
			if err := checkUnique(tb, rows); err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
		}
		tb.Rows = append(tb.Rows, rows...)
	default:
		// Upsert: the last record of each key wins; a key whose last
		// record is a delete goes (hard_delete).
		last := map[string]int{}
		var order []string
		for r, row := range rows {
			k := key(row)
			if _, seen := last[k]; !seen {
				order = append(order, k)
			}
			last[k] = r
		}
		del := -1
		if mode.HardDelete && b.deletedAt >= 0 {
			del = b.cols[b.deletedAt]
		}
		at := map[string][]int{}
		for r, row := range tb.Rows {
			k := key(row)
			at[k] = append(at[k], r)
		}
		drop := map[int]bool{}
		for _, k := range order {
			row := rows[last[k]]
			old := at[k]
			if del >= 0 && row[del] != nil {
				for _, r := range old {
					drop[r] = true
				}
				continue
			}
			if len(old) > 0 {
				tb.Rows[old[0]] = row
				for _, r := range old[1:] {
					drop[r] = true
				}
				continue
			}
			tb.Rows = append(tb.Rows, row)
		}
		if len(drop) > 0 {
			kept := tb.Rows[:0:0]
			for r, row := range tb.Rows {
				if !drop[r] {
					kept = append(kept, row)
				}
			}
			tb.Rows = kept
		}
	}
	return skipped, ctx.Err()
}

// warnSkipped logs, once per stream, the records an append skipped.
func (s *session) warnSkipped(b *batch, skipped int) {
	t := b.table
	if skipped > 0 {
		if _, warned := s.d.warned.LoadOrStore(t.Stream, true); !warned {
			s.d.log.Warnf("stream %q: table %s has a unique key on (%s): append skipped %d records whose key is already in the table (a replay of records loaded before a resume, or a later record of the key); further skips are not logged. Use load_method upsert to update such rows, or drop the unique key to keep every record", t.Stream, qualified(t.Schema, t.Name), strings.Join(t.Keys, ", "), skipped)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, x := range a {
		in[x] = true
	}
	for _, x := range b {
		if !in[x] {
			return false
		}
	}
	return true
}

// checkUnique fails when rows would repeat a key of the table's unique key.
func checkUnique(tb *table, rows [][]*string) error {
	cols := make([]int, len(tb.Unique))
	for i, k := range tb.Unique {
		cols[i] = tb.index(k)
	}
	seen := map[string]bool{}
	for _, set := range [][][]*string{tb.Rows, rows} {
		for _, row := range set {
			var sb strings.Builder
			for _, i := range cols {
				if row[i] != nil {
					sb.WriteString(*row[i])
				}
				sb.WriteByte(0xff)
			}
			if seen[sb.String()] {
				return fmt.Errorf("duplicate key value violates the unique key (%s)", strings.Join(tb.Unique, ", "))
			}
			seen[sb.String()] = true
		}
	}
	return nil
}

// ActivateVersion deletes (or marks deleted) the rows of older versions
// and the rows without one.
func (s *session) ActivateVersion(ctx context.Context, t *sqltarget.Table, version int64, hardDelete bool) error {
	vc, dc := t.ColumnOf(sqltarget.MetaTableVersion), t.ColumnOf(sqltarget.MetaDeletedAt)
	if vc == nil {
		return nil
	}
	ver, del := vc.Name, ""
	if dc != nil {
		del = dc.Name
	}
	now := formatTime(s.d.now())
	return s.d.DB.tx(t.Schema, func(ts tables) error {
		tb := ts[t.Name]
		if tb == nil {
			return fmt.Errorf("table %s does not exist", qualified(t.Schema, t.Name))
		}
		tb = tb.clone()
		ts[t.Name] = tb
		vi, di := tb.index(ver), tb.index(del)
		older := func(row []*string) bool {
			if row[vi] == nil {
				return true
			}
			var v int64
			fmt.Sscan(*row[vi], &v)
			return v < version
		}
		kept := tb.Rows[:0:0]
		for _, row := range tb.Rows {
			switch {
			case !older(row):
			case hardDelete || di < 0:
				continue
			case row[di] == nil:
				nr := append([]*string(nil), row...)
				nr[di] = &now
				row = nr
			}
			kept = append(kept, row)
		}
		tb.Rows = kept
		return ctx.Err()
	})
}

// BeginReplace creates repl empty, with t's columns and key as they are.
func (s *session) BeginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	if repl.Schema != t.Schema {
		return fmt.Errorf("the replacement %s is not in the schema of %s", qualified(repl.Schema, repl.Name), qualified(t.Schema, t.Name))
	}
	return s.d.DB.tx(t.Schema, func(ts tables) error {
		tb := ts[t.Name]
		if tb == nil {
			return fmt.Errorf("table %s does not exist", qualified(t.Schema, t.Name))
		}
		r := tb.clone()
		r.Rows = nil
		ts[repl.Name] = r
		return ctx.Err()
	})
}

// EndReplace makes t's rows those of repl (widening t's columns that repl
// widened), and drops repl; without swap it only drops repl.
func (s *session) EndReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	return s.d.DB.tx(t.Schema, func(ts tables) error {
		r := ts[repl.Name]
		if r == nil {
			if swap {
				s.d.log.Infof("%s is gone: the attempt whose COMMIT got no reply swapped it into %s", qualified(repl.Schema, repl.Name), qualified(t.Schema, t.Name))
			}
			return nil
		}
		delete(ts, repl.Name)
		if !swap {
			return ctx.Err()
		}
		tb := ts[t.Name]
		if tb == nil {
			return fmt.Errorf("table %s does not exist", qualified(t.Schema, t.Name))
		}
		tb = tb.clone()
		ts[t.Name] = tb
		from := make([]int, len(tb.Columns))
		for i, c := range tb.Columns {
			from[i] = r.index(c.Name)
			if from[i] >= 0 && r.Columns[from[i]].Type != c.Type {
				if to := evolve(c.Type, parseType(r.Columns[from[i]].Type)); to != c.Type {
					if err := tb.retype(i, to); err != nil {
						return err
					}
					tb.Columns[i].Type = to
				}
			}
		}
		tb.Rows = nil
		for _, row := range r.Rows {
			nr := make([]*string, len(tb.Columns))
			for i, f := range from {
				if f >= 0 {
					nr[i] = row[f]
				}
			}
			tb.Rows = append(tb.Rows, nr)
		}
		return ctx.Err()
	})
}
