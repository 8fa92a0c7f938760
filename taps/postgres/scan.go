package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// Driver is the PostgreSQL driver of the SQL tap engine.
type Driver struct {
	cfg    *Config
	conn   *pgx.Conn
	tables map[*sqltap.Table]*tableInfo
	// snap is the exported snapshot of a first LOG_BASED run, while open.
	snap *exportedSnapshot
	// snapshotHook, when set (by tests), runs once the snapshot is open,
	// before any table is read in it.
	snapshotHook func()
}

// Open connects to the configured database.
func Open(ctx context.Context, cfg *Config) (*Driver, error) {
	conn, err := cfg.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, conn: conn}, nil
}

// Close closes the connection.
func (d *Driver) Close() error {
	_ = d.endSnapshot()
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close(context.Background())
	d.conn = nil
	return err
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// scanSQL builds the query of req; values only ever travel as parameters.
func scanSQL(info *tableInfo, t *sqltap.Table, req *sqltap.ScanRequest) (string, [][]byte) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range req.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(t.Columns[c].Name))
	}
	b.WriteString(" FROM ")
	b.WriteString(pgx.Identifier{info.ns, info.name}.Sanitize())
	order := make([]string, len(req.OrderBy))
	for i, c := range req.OrderBy {
		order[i] = quoteIdent(t.Columns[c].Name)
	}
	if req.Physical {
		// The row's position rides after the record's columns.
		b.Reset()
		b.WriteString("SELECT ")
		for _, c := range req.Columns {
			b.WriteString(quoteIdent(t.Columns[c].Name) + ", ")
		}
		b.WriteString("ctid FROM " + pgx.Identifier{info.ns, info.name}.Sanitize())
		var params [][]byte
		if req.After != nil {
			// A TID range scan (PostgreSQL 14+) starts at the position.
			b.WriteString(" WHERE ctid > $1::tid")
			params = append(params, []byte(physicalAfter(req)))
		}
		b.WriteString(" ORDER BY ctid")
		return b.String(), params
	}
	var params [][]byte
	param := func(v any) string {
		params = append(params, bookmarkText(v))
		return "$" + strconv.Itoa(len(params))
	}
	switch {
	case req.After != nil && len(order) > 0:
		ps := make([]string, len(req.After))
		for i, v := range req.After {
			ps[i] = param(v)
		}
		// A row-value comparison: an index on the key serves it.
		fmt.Fprintf(&b, " WHERE (%s) > (%s)", strings.Join(order, ", "), strings.Join(ps, ", "))
	case req.From != nil && len(order) == 1:
		fmt.Fprintf(&b, " WHERE %s >= %s", order[0], param(req.From))
	}
	switch {
	case len(order) > 0:
		b.WriteString(" ORDER BY " + strings.Join(order, ", "))
		if req.NullsFirst && len(order) == 1 {
			b.WriteString(" NULLS FIRST")
		}
	case info.relkind != 'v' && info.relkind != 'p' && info.relkind != 'f':
		// Keyless tables: one pass in physical order.
		b.WriteString(" ORDER BY ctid")
	}
	if req.Limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(req.Limit))
	}
	return b.String(), params
}

// bookmarkText is a bookmark value in the text form the server parses as
// the column's own type (the parameter's type is inferred from the column).
func bookmarkText(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(x)
	case json.Number:
		return []byte(x)
	case bool:
		return []byte(strconv.FormatBool(x))
	case float64:
		return strconv.AppendFloat(nil, x, 'g', -1, 64)
	}
	return []byte(fmt.Sprint(v))
}

// pgRow is the current row of a scan.
type pgRow struct {
	rec     []byte
	vals    [][]byte
	order   []int // positions of the OrderBy columns in vals
	numeric []bool
	// filenode is set for a physical scan: Order is then the position
	// {"ctid": "(page,item)", "relfilenode": n}.
	filenode json.Number
}

func (r *pgRow) Record() []byte { return r.rec }

func (r *pgRow) Order() []any {
	if r.filenode != "" {
		return []any{map[string]any{"ctid": string(r.vals[r.order[0]]), "relfilenode": r.filenode}}
	}
	out := make([]any, len(r.order))
	for i, p := range r.order {
		v := r.vals[p]
		switch {
		case v == nil:
			out[i] = nil
		case r.numeric[i]:
			out[i] = json.Number(v)
		default:
			out[i] = string(v)
		}
	}
	return out
}

// Scan streams req's rows in text format, straight from the wire into JSON.
func (d *Driver) Scan(ctx context.Context, req *sqltap.ScanRequest, sink func(sqltap.Row) error) ([]any, error) {
	info := d.tables[req.Table]
	if info == nil {
		return nil, fmt.Errorf("table %s was not discovered by this connection", req.Table.TapStreamID)
	}
	conn, err := d.scanConn(req)
	if err != nil {
		return nil, err
	}
	var filenode json.Number
	if req.Physical {
		var done func()
		if filenode, done, err = d.beginPhysical(ctx, conn, info, req); err != nil {
			return nil, err
		}
		defer done()
	}
	query, params := scanSQL(info, req.Table, req)
	encs := make([]*valueEncoder, len(req.Columns))
	prefixes := make([][]byte, len(req.Columns))
	for i, c := range req.Columns {
		encs[i] = &info.cols[c].enc
		p := []byte{','}
		if i == 0 {
			p[0] = '{'
		}
		p = singer.AppendJSONString(p, req.Table.Columns[c].Name)
		prefixes[i] = append(p, ':')
	}
	row := &pgRow{filenode: filenode}
	if req.Physical {
		row.order, row.numeric = []int{len(req.Columns)}, []bool{false}
	}
	for _, o := range req.OrderBy {
		pos := -1
		for i, c := range req.Columns {
			if c == o {
				pos = i
			}
		}
		if pos < 0 {
			return nil, fmt.Errorf("order column %q is not among the scanned columns", req.Table.Columns[o].Name)
		}
		row.order = append(row.order, pos)
		row.numeric = append(row.numeric, info.cols[o].enc.enc == encNumber && !info.cols[o].enc.array)
	}
	var lastRow pgRow
	lastRow.order, lastRow.numeric = row.order, row.numeric
	var lastBuf []byte
	haveLast := false

	rr := conn.PgConn().ExecParams(ctx, query, params, nil, nil, nil)
	var sinkErr error
	n := 0
	for rr.NextRow() {
		vals := rr.Values()
		b := row.rec[:0]
		for i, v := range vals[:len(req.Columns)] {
			b = append(b, prefixes[i]...)
			b = encs[i].appendJSON(b, v)
		}
		if len(req.Columns) == 0 {
			b = append(b, '{')
		}
		row.rec = append(b, '}')
		row.vals = vals
		if sinkErr = sink(row); sinkErr != nil {
			break
		}
		if len(row.order) > 0 {
			// Keep the last row's order values (a copy: vals is reused).
			lastBuf = lastBuf[:0]
			lastRow.vals = lastRow.vals[:0]
			for _, p := range row.order {
				if vals[p] == nil {
					lastRow.vals = append(lastRow.vals, nil)
					continue
				}
				start := len(lastBuf)
				lastBuf = append(lastBuf, vals[p]...)
				lastRow.vals = append(lastRow.vals, lastBuf[start:len(lastBuf):len(lastBuf)])
			}
			// Positions in lastRow.vals are 0..n-1.
			haveLast = true
		}
		if n++; n&255 == 0 && ctx.Err() != nil {
			break
		}
	}
	if sinkErr != nil || ctx.Err() != nil {
		// Stop the server instead of draining the rest of the result.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = conn.PgConn().CancelRequest(cctx)
		cancel()
	}
	_, err = rr.Close()
	var last []any
	if haveLast {
		lr := pgRow{vals: lastRow.vals, numeric: row.numeric, order: make([]int, len(row.order)), filenode: filenode}
		for i := range lr.order {
			lr.order[i] = i
		}
		last = lr.Order()
	}
	if sinkErr != nil {
		return last, sinkErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		return last, fmt.Errorf("reading %s: %w", req.Table.TapStreamID, err)
	}
	return last, nil
}

// PhysicalBookmark: plain tables without a key are read in ctid order and
// resume after the last ctid sent.
func (d *Driver) PhysicalBookmark(t *sqltap.Table) string {
	if info := d.tables[t]; info != nil && info.relkind == 'r' {
		return "last_ctid"
	}
	return ""
}

// ctidText is PostgreSQL's text form of a tid: (page,item).
var ctidText = regexp.MustCompile(`^\(\d+,\d+\)$`)

// CheckPosition checks a last_ctid bookmark: {"ctid": "(page,item)",
// "relfilenode": n}.
func (d *Driver) CheckPosition(_ *sqltap.Table, pos any) error {
	m, _ := pos.(map[string]any)
	ctid, _ := m["ctid"].(string)
	if !ctidText.MatchString(ctid) || bookmarkNumber(m["relfilenode"]) == "" {
		b, _ := json.Marshal(pos)
		return fmt.Errorf(`%s is not {"ctid": "(page,item)", "relfilenode": n} (a state from another tap?): remove the stream's bookmark to read it again`, b)
	}
	return nil
}

// beginPhysical opens the transaction of a ctid-ordered scan: it locks the
// table (ACCESS SHARE, as the scan would: no VACUUM FULL, CLUSTER or
// TRUNCATE can slip in before the scan) and reads the table's file node,
// which every rewrite changes. A position taken in another file node is
// stale. done ends the transaction. A scan in the exported snapshot runs
// in the snapshot's transaction (which keeps the lock until it ends).
func (d *Driver) beginPhysical(ctx context.Context, conn *pgx.Conn, info *tableInfo, req *sqltap.ScanRequest) (filenode json.Number, done func(), err error) {
	var after string
	var afterNode json.Number
	if req.After != nil {
		if err := d.CheckPosition(req.Table, req.After[0]); err != nil {
			return "", nil, &cli.UsageError{Msg: fmt.Sprintf("state of stream %q: last_ctid: %v", req.Table.TapStreamID, err)}
		}
		pos := req.After[0].(map[string]any)
		after, afterNode = pos["ctid"].(string), bookmarkNumber(pos["relfilenode"])
	}
	done = func() {}
	if !req.Snapshot {
		if _, err := conn.Exec(ctx, "BEGIN READ ONLY"); err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", req.Table.TapStreamID, err)
		}
		done = func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = conn.Exec(cctx, "ROLLBACK")
		}
	}
	tbl := pgx.Identifier{info.ns, info.name}.Sanitize()
	var node int64
	if _, err = conn.Exec(ctx, "LOCK TABLE "+tbl+" IN ACCESS SHARE MODE"); err == nil {
		err = conn.QueryRow(ctx, "SELECT pg_relation_filenode($1::regclass)::int8", tbl).Scan(&node)
	}
	if err != nil {
		done()
		return "", nil, fmt.Errorf("reading %s: %w", req.Table.TapStreamID, err)
	}
	filenode = json.Number(strconv.FormatInt(node, 10))
	if after != "" && afterNode != filenode {
		done()
		return "", nil, fmt.Errorf("stream %q: last_ctid %s was taken in file node %s, the table is now in %s: %w", req.Table.TapStreamID, after, afterNode, filenode, sqltap.ErrPositionStale)
	}
	return filenode, done, nil
}

// physicalAfter is the ctid of a physical scan's After position.
func physicalAfter(req *sqltap.ScanRequest) string {
	if req.After == nil {
		return ""
	}
	pos, _ := req.After[0].(map[string]any)
	ctid, _ := pos["ctid"].(string)
	return ctid
}

func bookmarkNumber(v any) json.Number {
	switch x := v.(type) {
	case json.Number:
		return x
	case float64:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case string:
		if _, err := strconv.ParseInt(x, 10, 64); err == nil {
			return json.Number(x)
		}
	}
	return ""
}

// CheckKey parses each value of after as its key column's type on the
// server, as a resumed chunk query would (a parameter compared with the
// column), without reading a row.
func (d *Driver) CheckKey(ctx context.Context, t *sqltap.Table, keys []int, after []any) (int, string, error) {
	info := d.tables[t]
	if info == nil {
		return -1, "", fmt.Errorf("table %s was not discovered by this connection", t.TapStreamID)
	}
	for i, c := range keys {
		q := "SELECT 1 FROM " + pgx.Identifier{info.ns, info.name}.Sanitize() + " WHERE " + quoteIdent(t.Columns[c].Name) + " = $1 LIMIT 0"
		_, err := d.conn.PgConn().ExecParams(ctx, q, [][]byte{bookmarkText(after[i])}, nil, nil, nil).Close()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
			return i, fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code), nil
		}
		if err != nil {
			return -1, "", err
		}
	}
	return -1, "", nil
}
