// Package memdriver is a sqltap.Driver over tables kept in memory, for
// tests of the SQL tap engine that need no database server. It runs
// sqltaptest's conformance suite (Harness) and takes the few SQL
// statements the suite writes (CREATE TABLE, CREATE VIEW ... AS SELECT
// ... [WHERE c > n], INSERT ... VALUES, UPDATE ... SET c = v WHERE c = v,
// DROP TABLE).
//
// Columns are integer (a 64-bit integer) or varchar(n) / text (a string);
// a table's PRIMARY KEY columns are its key. Scans order and compare as a
// database does (NULLs last, or first when asked; row-value comparison
// for the chunk cursor; >= for the incremental bookmark), and a table
// without a key is read in insertion order, resumable from a position
// ({"row": n, "generation": g}: a table dropped and made again has a new
// generation, and a position of the old one is stale).
//
//	db := memdriver.NewDB()
//	db.Exec("CREATE TABLE s.items (id integer PRIMARY KEY, name varchar(20))")
//	d := db.Driver("s")
//	d.Hooks.Row = func(ctx context.Context, table string, n int) error { ... } // failures, slow reads
//	err := (&sqltap.Engine{Driver: d}).Sync(ctx, catalog, state, out)
package memdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/singerkit/singerkit/taps/sqltap"
)

// DB holds namespaces of tables and views.
type DB struct {
	mu         sync.Mutex
	tables     map[string]*table // by "namespace.name"
	generation int64
}

type table struct {
	ns, name   string
	cols       []column
	keys       []string
	rows       []row
	nextRow    int64
	generation int64
	// A view: the base table, its columns and the rows it keeps.
	view      bool
	base      string
	viewCols  []string
	viewWhere func(r row, cols []column) bool
}

type column struct {
	name, sqlType string
	integer       bool
	maxLength     int
	notNull       bool
}

type row struct {
	id   int64 // insertion position
	vals []value
}

// value is NULL (null) or an integer or a string.
type value struct {
	null bool
	i    int64
	s    string
}

// NewDB returns an empty database.
func NewDB() *DB { return &DB{tables: map[string]*table{}} }

// Hooks are failures and slow reads on demand.
type Hooks struct {
	// Row is called before each row a Scan delivers (n counts the rows of
	// this scan from 1); an error ends the scan with it. A hook that
	// blocks is a slow database: it should return when ctx ends.
	Row func(ctx context.Context, table string, n int) error
	// Discover is called at each discovery; an error is its error.
	Discover func(ctx context.Context) error
}

// Driver reads the tables of one namespace.
type Driver struct {
	db    *DB
	ns    string
	Hooks Hooks

	mu     sync.Mutex
	tables map[*sqltap.Table]string // discovered table -> its key in db
}

// Driver returns a driver that discovers the tables of namespace ns.
func (db *DB) Driver(ns string) *Driver {
	return &Driver{db: db, ns: ns, tables: map[*sqltap.Table]string{}}
}

func columnSchema(c column) json.RawMessage {
	typ := `"string"`
	if c.integer {
		typ = `"integer"`
	}
	if !c.notNull {
		typ = `["null",` + typ + `]`
	}
	if c.maxLength > 0 {
		return json.RawMessage(fmt.Sprintf(`{"type":%s,"maxLength":%d}`, typ, c.maxLength))
	}
	return json.RawMessage(`{"type":` + typ + `}`)
}

// Discover lists the tables and views of the namespace, by name.
func (d *Driver) Discover(ctx context.Context) ([]*sqltap.Table, error) {
	if d.Hooks.Discover != nil {
		if err := d.Hooks.Discover(ctx); err != nil {
			return nil, err
		}
	}
	d.db.mu.Lock()
	defer d.db.mu.Unlock()
	var names []string
	for k, t := range d.db.tables {
		if t.ns == d.ns {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []*sqltap.Table
	for _, k := range names {
		t := d.db.tables[k]
		cols, err := d.db.columnsOf(t)
		if err != nil {
			return nil, err
		}
		st := &sqltap.Table{TapStreamID: t.ns + "-" + t.name, Stream: t.ns + "-" + t.name, Namespace: t.ns, Name: t.name, Database: "memory", IsView: t.view, Keys: append([]string(nil), t.keys...)}
		if !t.view {
			n := int64(len(t.rows))
			st.RowCount = &n
		}
		for _, c := range cols {
			st.Columns = append(st.Columns, sqltap.Column{Name: c.name, SQLType: c.sqlType, Schema: columnSchema(c), Orderable: true})
		}
		d.mu.Lock()
		d.tables[st] = k
		d.mu.Unlock()
		out = append(out, st)
	}
	return out, nil
}

// columnsOf returns a table's or view's columns.
func (db *DB) columnsOf(t *table) ([]column, error) {
	if !t.view {
		return t.cols, nil
	}
	base := db.tables[t.base]
	if base == nil {
		return nil, fmt.Errorf("view %s.%s: its table %s is gone", t.ns, t.name, t.base)
	}
	var cols []column
	for _, n := range t.viewCols {
		i := indexOf(base.cols, n)
		if i < 0 {
			return nil, fmt.Errorf("view %s.%s: no column %s in %s", t.ns, t.name, n, t.base)
		}
		c := base.cols[i]
		c.notNull = false
		cols = append(cols, c)
	}
	return cols, nil
}

func indexOf(cols []column, name string) int {
	for i, c := range cols {
		if c.name == name {
			return i
		}
	}
	return -1
}

// PhysicalBookmark: tables without a key are read in insertion order and
// resume after the last row sent.
func (d *Driver) PhysicalBookmark(t *sqltap.Table) string {
	if t.IsView || len(t.Keys) > 0 {
		return ""
	}
	return "last_row"
}

// CheckPosition checks a last_row bookmark.
func (d *Driver) CheckPosition(_ *sqltap.Table, pos any) error {
	if _, _, ok := position(pos); !ok {
		b, _ := json.Marshal(pos)
		return fmt.Errorf(`%s is not {"row": n, "generation": g}: remove the stream's bookmark to read it again`, b)
	}
	return nil
}

func position(pos any) (rowID, generation int64, ok bool) {
	m, _ := pos.(map[string]any)
	r, ok1 := integer(m["row"])
	g, ok2 := integer(m["generation"])
	return r, g, ok1 && ok2
}

func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// memRow is a row as the engine reads it.
type memRow struct {
	record []byte
	order  []any
}

func (r *memRow) Record() []byte { return r.record }
func (r *memRow) Order() []any   { return r.order }

// Scan streams the rows of req in order.
func (d *Driver) Scan(ctx context.Context, req *sqltap.ScanRequest, sink func(sqltap.Row) error) ([]any, error) {
	d.mu.Lock()
	key, ok := d.tables[req.Table]
	d.mu.Unlock()
	if !ok {
		key = req.Table.Namespace + "." + req.Table.Name
	}
	rows, cols, gen, err := d.db.snapshot(key)
	if err != nil {
		return nil, err
	}
	if req.Physical {
		if req.After != nil {
			r, g, ok := position(req.After[0])
			if !ok {
				return nil, d.CheckPosition(req.Table, req.After[0])
			}
			if g != gen {
				return nil, fmt.Errorf("reading %s: %w", req.Table.TapStreamID, sqltap.ErrPositionStale)
			}
			kept := rows[:0:0]
			for _, rw := range rows {
				if rw.id > r {
					kept = append(kept, rw)
				}
			}
			rows = kept
		}
	} else {
		if req.After != nil {
			kept := rows[:0:0]
			for _, rw := range rows {
				if compareTuple(rw, cols, req.OrderBy, req.After) > 0 {
					kept = append(kept, rw)
				}
			}
			rows = kept
		}
		if req.From != nil && len(req.OrderBy) == 1 {
			i := req.OrderBy[0]
			kept := rows[:0:0]
			for _, rw := range rows {
				if !rw.vals[i].null && compareValue(rw.vals[i], cols[i], req.From) >= 0 {
					kept = append(kept, rw)
				}
			}
			rows = kept
		}
		if len(req.OrderBy) > 0 {
			sort.SliceStable(rows, func(a, b int) bool {
				for _, i := range req.OrderBy {
					x, y := rows[a].vals[i], rows[b].vals[i]
					if x.null != y.null {
						return x.null == req.NullsFirst
					}
					if c := compareValues(x, y, cols[i]); c != 0 {
						return c < 0
					}
				}
				return false
			})
		}
	}
	var last []any
	for n, rw := range rows {
		if req.Limit > 0 && n == req.Limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return last, err
		}
		if d.Hooks.Row != nil {
			if err := d.Hooks.Row(ctx, key, n+1); err != nil {
				return last, err
			}
		}
		r := &memRow{record: record(rw, cols, req.Columns)}
		if req.Physical {
			r.order = []any{map[string]any{"row": json.Number(strconv.FormatInt(rw.id, 10)), "generation": json.Number(strconv.FormatInt(gen, 10))}}
		} else {
			for _, i := range req.OrderBy {
				r.order = append(r.order, orderValue(rw.vals[i], cols[i]))
			}
		}
		if err := sink(r); err != nil {
			return last, err
		}
		last = r.order
	}
	return last, nil
}

// snapshot copies the rows (of a view: its table's rows it keeps, with its
// columns) under the lock.
func (db *DB) snapshot(key string) ([]row, []column, int64, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t := db.tables[key]
	if t == nil {
		return nil, nil, 0, errNoTable
	}
	if !t.view {
		return append([]row(nil), t.rows...), t.cols, t.generation, nil
	}
	base := db.tables[t.base]
	if base == nil {
		return nil, nil, 0, errNoTable
	}
	cols, err := db.columnsOf(t)
	if err != nil {
		return nil, nil, 0, err
	}
	var rows []row
	for _, r := range base.rows {
		if t.viewWhere != nil && !t.viewWhere(r, base.cols) {
			continue
		}
		vals := make([]value, len(t.viewCols))
		for i, n := range t.viewCols {
			vals[i] = r.vals[indexOf(base.cols, n)]
		}
		rows = append(rows, row{id: r.id, vals: vals})
	}
	return rows, cols, base.generation, nil
}

var errNoTable = errors.New("no such table")

func record(r row, cols []column, want []int) []byte {
	b := []byte{'{'}
	for k, i := range want {
		if k > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(cols[i].name)
		b = append(b, name...)
		b = append(b, ':')
		v := r.vals[i]
		switch {
		case v.null:
			b = append(b, "null"...)
		case cols[i].integer:
			b = strconv.AppendInt(b, v.i, 10)
		default:
			s, _ := json.Marshal(v.s)
			b = append(b, s...)
		}
	}
	return append(b, '}')
}

func orderValue(v value, c column) any {
	switch {
	case v.null:
		return nil
	case c.integer:
		return json.Number(strconv.FormatInt(v.i, 10))
	}
	return v.s
}

func compareValues(x, y value, c column) int {
	if c.integer {
		switch {
		case x.i < y.i:
			return -1
		case x.i > y.i:
			return 1
		}
		return 0
	}
	return strings.Compare(x.s, y.s)
}

// compareValue compares a stored value with a bookmark value.
func compareValue(v value, c column, b any) int {
	if b == nil {
		return 1
	}
	if c.integer {
		n, ok := integer(b)
		if !ok {
			return 1
		}
		return compareValues(v, value{i: n}, c)
	}
	return strings.Compare(v.s, fmt.Sprint(b))
}

// compareTuple is the row-value comparison of the OrderBy columns with
// after (NULLs compare greater, as they sort last).
func compareTuple(r row, cols []column, by []int, after []any) int {
	for k, i := range by {
		if k >= len(after) {
			return 0
		}
		v := r.vals[i]
		switch {
		case v.null && after[k] == nil:
			continue
		case v.null:
			return 1
		case after[k] == nil:
			return -1
		}
		if c := compareValue(v, cols[i], after[k]); c != 0 {
			return c
		}
	}
	return 0
}
