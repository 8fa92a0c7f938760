package sqltap

import (
	"context"
	"encoding/json"
	"errors"
)

// Column is one column of a discovered table.
type Column struct {
	Name string
	// SQLType is the database's name of the type, as written to the
	// "sql-datatype" metadata.
	SQLType string
	// Schema is the property's JSON schema (including "null" when the column
	// is nullable).
	Schema json.RawMessage
	// Unsupported columns cannot be read; discovery marks them
	// "inclusion": "unsupported" and they are never selected.
	Unsupported bool
	// Orderable columns can be replication keys.
	Orderable bool
}

// Table is one table, view or materialized view.
type Table struct {
	// TapStreamID is unique within the tap; it keys the bookmarks.
	TapStreamID string
	// Stream is the stream name written in messages.
	Stream string
	// Namespace is the schema (or database, for MySQL) the table lives in.
	Namespace string
	Name      string
	Database  string
	IsView    bool
	// Keys are the primary key columns, in key order.
	Keys []string
	// RowCount is an estimate, nil when unknown.
	RowCount *int64
	Columns  []Column
}

// Column returns the index of the column named name, or -1.
func (t *Table) Column(name string) int {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// ScanRequest asks a driver for rows of one table.
type ScanRequest struct {
	Table *Table
	// Columns are the indexes (into Table.Columns) of the columns each
	// record holds, in record order.
	Columns []int
	// OrderBy are the indexes of the columns rows are ordered by (ascending).
	// Empty: the driver's single-pass physical order (e.g. Postgres ctid),
	// or none for a view.
	OrderBy []int
	// After, when not nil, keeps rows whose OrderBy tuple is strictly
	// greater than it (a row-value comparison): the chunk cursor.
	After []any
	// From, when not nil, keeps rows whose single OrderBy column is >= it:
	// the incremental bookmark.
	From any
	// Limit, when > 0, caps the number of rows.
	Limit int
	// Physical asks for the rows of a table without a key in the driver's
	// resumable physical order (see PhysicalOrder): each Row's Order is one
	// value, the row's position, and After, when not nil, holds one
	// position to resume after. OrderBy is empty.
	Physical bool
	// NullsFirst puts rows whose (single) OrderBy value is NULL first, so
	// the last row holds the greatest value (the incremental bookmark).
	// Only asked when From is nil.
	NullsFirst bool
	// Snapshot asks to read the rows in the snapshot a LogSnapshotter's
	// LogSnapshot opened (the initial read of a LOG_BASED stream). Only set
	// while that snapshot is open.
	Snapshot bool
}

// Row is one row a driver delivers. Both results are only valid during the
// sink call.
type Row interface {
	// Record is the row as a JSON object of the requested columns.
	Record() []byte
	// Order returns the row's OrderBy values as bookmark values: JSON-able
	// (json.Number, string, bool or nil) and accepted back in After and From,
	// where the driver compares them in the column's own type.
	Order() []any
}

// Driver is what a database gives the engine.
type Driver interface {
	// Discover lists the tables, views and materialized views the tap can
	// read.
	Discover(ctx context.Context) ([]*Table, error)
	// Scan streams the rows of req to sink in order, without holding the
	// result in memory. It returns the Order values of the last row given to
	// sink (nil when none), also when it stops on an error.
	Scan(ctx context.Context, req *ScanRequest, sink func(Row) error) (last []any, err error)
}

// PhysicalOrder is an optional Driver ability: reading a table without a
// key in a physical order a later run can resume from (PostgreSQL's ctid),
// so an interrupted FULL_TABLE sync of it goes on where it stopped, in the
// same table version, instead of starting over.
type PhysicalOrder interface {
	// PhysicalBookmark names the state bookmark that holds the position of
	// the last row sent of t (e.g. "last_ctid"), or returns "" when t cannot
	// be read that way (it is then read in one pass).
	PhysicalBookmark(t *Table) string
	// CheckPosition says why pos, a state's bookmark value, cannot be a
	// position of t (nil when it can), so a bad state is refused before
	// anything is written.
	CheckPosition(t *Table, pos any) error
}

// ErrPositionStale is returned (wrapped) by a physical Scan whose After
// position no longer means what it did (the table was rewritten since):
// the engine then reads the table again from the start, in a new version.
var ErrPositionStale = errors.New("the table was rewritten since the position was taken")

// KeyChecker is an optional Driver ability: checking, before anything is
// written, that a state's last_pk_fetched values are values of the key
// columns in the database's own types (the engine itself only refuses
// values no column holds, like objects, or text for a number), so that a
// state that cannot be used is refused (exit 2) instead of failing the
// first chunk's query after output began.
type KeyChecker interface {
	// CheckKey returns the index (into keys) of a value of after that
	// the column keys[i] of t cannot hold, with the database's reason, or
	// -1 when all can. err is a failure to check (the connection).
	CheckKey(ctx context.Context, t *Table, keys []int, after []any) (bad int, reason string, err error)
}
