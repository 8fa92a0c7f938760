package sqltarget

import (
	"context"

	"github.com/singerkit/singerkit/singer"
)

// Dialect is a SQL destination as the engine sees it. B is the dialect's
// own batch type: the batches its sessions make are the batches the
// engine hands back to their Load, so Load gets the type it encodes into
// (COPY buffer, LOAD DATA text, load job rows) without a type assertion.
type Dialect[B Batch[B]] interface {
	// FoldIdentifier maps a stream or property name to a valid identifier
	// (unquoted; the dialect quotes when it writes SQL). The engine makes
	// the results unique.
	FoldIdentifier(name string) string
	// IdentifierKey is the form under which two identifiers collide (lower
	// case for case-insensitive databases).
	IdentifierKey(name string) string
	// MaxIdentifier is the longest identifier, in bytes.
	MaxIdentifier() int
	// Open connects a session. The engine opens one per loader.
	Open(ctx context.Context) (Session[B], error)
}

// Ramping is implemented by a dialect whose loads are cheap to start (a
// COPY, a LOAD DATA). When RampBatches says ramp, each stream's first
// batch is 1/16 of batch_size_rows and batch_size_bytes and every flush
// doubles it up to them, so that the first load starts after a few
// thousand records instead of a whole batch (the decoder and the load
// overlap from the start, and an input smaller than one batch is not
// decoded whole before anything loads). When it says idle too, a stream's
// batch is also flushed as soon as it has 1/16 of its current limit and
// its loader has nothing to load, so that a session does not wait while
// batches fill (many streams, each far from its limit). A dialect whose
// loads have a fixed cost of seconds (a BigQuery load job) does not ramp.
// Batch limits under 16000 rows are kept as they are, batch for batch.
type Ramping interface {
	RampBatches() (ramp, idle bool)
}

// Spreading is a batch whose loads may run on several sessions at once:
// with load_method append, when SpreadLoads says so (a table without a
// unique key, where the order of loads changes nothing), the engine hands
// a stream's batches to its loaders in turn, as many loading at once as
// there are loaders (max_parallel_flushes), instead of one at a time on
// the stream's session. For a dialect whose load work runs on the
// client's connection threads (DuckDB: the Appender and the compression
// of row groups); on a server, one bulk session per stream measured best.
type Spreading interface {
	SpreadLoads() bool
}

// PreparingMany is a session that prepares several tables in one
// transaction, with a round trip per step for all of them instead of one
// per table and step: the engine hands it the preparations queued on a
// loader together (the SCHEMA messages a tap sends before its records).
// PrepareTables does for each table what PrepareTable does and returns
// the batches in the order of ts. When it fails, the engine prepares the
// tables one at a time, so that a table that cannot be prepared fails
// with its own error.
type PreparingMany[B Batch[B]] interface {
	PrepareTables(ctx context.Context, ts []*Table) ([]B, error)
}

// LoadingMany is a session that loads several batches in one
// transaction: the engine hands it the appends queued on a loader at once
// (the last batches of many streams at the end of the input, or at a
// schema change), so that they pay for one transaction and one commit
// instead of one each. LoadMany loads all of them or none (it returns an
// error having committed nothing, and the engine then loads each on its
// own, so that a batch that cannot be loaded fails with its own error);
// it returns once they are durable. The modes are never Upsert.
type LoadingMany[B Batch[B]] interface {
	LoadMany(ctx context.Context, bs []B, modes []LoadMode) error
}

// Session is one connection of a dialect. A batch may be loaded by
// another session of the same dialect than the one that prepared it (a
// session is replaced after a transient error), so a batch holds no
// session state.
type Session[B Batch[B]] interface {
	// PrepareTable creates the table, or evolves an existing one so that it
	// can take the columns of t (add columns, widen types by the dialect's
	// documented rules, never dropping data), and returns the batch encoder
	// for rows of t as they will be loaded.
	PrepareTable(ctx context.Context, t *Table) (B, error)
	// Load loads a batch into its table: stage, check the count, merge by
	// key (or append), commit. It returns once the data is durable.
	Load(ctx context.Context, b B, mode LoadMode) error
	// ActivateVersion removes (or soft-deletes) the rows of the table whose
	// _sdc_table_version is older than version.
	ActivateVersion(ctx context.Context, t *Table, version int64, hardDelete bool) error
	// BeginReplace creates repl, an empty table in t's schema (repl.Name,
	// repl.Columns those of t), with the columns, types and key of t as
	// they are in the database (t is prepared first), replacing a table of
	// that name left by an earlier run. Overwrite loads a run's records
	// there; EndReplace swaps them in.
	BeginReplace(ctx context.Context, t, repl *Table) error
	// EndReplace, with swap, makes the rows of t exactly the rows of repl
	// in one transaction (t keeps its definition: indexes, grants, views),
	// then drops repl; without swap it only drops repl. Columns that loads
	// widened in repl are widened in t first, by the same rule.
	EndReplace(ctx context.Context, t, repl *Table, swap bool) error
	Close() error
}

// Batch encodes rows of one table into the dialect's bulk format. B is
// the type that implements it (a dialect with two bulk formats names an
// interface of its own that both implement).
type Batch[B any] interface {
	// Append encodes one record. vals[i] is the value of t.Columns[i].
	// A value the column cannot hold is a *ValueError.
	Append(vals []singer.Value) error
	Rows() int
	Bytes() int
	// Reset empties the batch for reuse.
	Reset()
	// Fresh returns a new empty batch for the same table.
	Fresh() B
	Table() *Table
}

// LoadMode is how a batch reaches its table.
type LoadMode struct {
	// Upsert merges by key (the last record of a key wins); else the batch
	// is appended. An append into a table that has a unique key on the key
	// columns (made by an earlier upsert run, or by hand) skips the records
	// whose key the table has already: a replay after a resume must not
	// stop the load.
	Upsert     bool
	HardDelete bool // rows whose latest record has _sdc_deleted_at are deleted
}

// ValueError is a value that the column cannot hold.
type ValueError struct {
	Column string
	Msg    string
}

func (e *ValueError) Error() string { return "column " + e.Column + ": " + e.Msg }

// Table is the engine's plan of a destination table for a stream.
type Table struct {
	Stream  string
	Schema  string // destination schema (dataset, database)
	Name    string // folded table name
	Columns []*Column
	Keys    []string // folded names of the key columns, in key order
	// UniqueKey: a table created for t gets a primary key on Keys (upsert
	// and overwrite merge by it). Append creates none: its replays after a
	// resume add rows, they never fail on a duplicate key. It is also
	// exactly when the table's loads merge by key (LoadMode.Upsert): a
	// batch needs to notice repeated keys only then.
	UniqueKey bool
}

// Column is a destination column.
type Column struct {
	Name     string // folded, unique in the table
	Property string // the (flattened) property name it comes from
	Type     LogicalType
	Key      bool
	Meta     MetaColumn // which _sdc column, or MetaNone
	// Schema is the property's JSON schema (numbers as json.Number), nil
	// for metadata columns: a dialect with nested column types (BigQuery
	// RECORD) reads the properties of objects and the items of arrays here.
	Schema map[string]any
}

// MetaColumn names the metadata columns the engine fills.
type MetaColumn uint8

// Metadata columns.
const (
	MetaNone MetaColumn = iota
	MetaExtractedAt
	MetaReceivedAt
	MetaBatchedAt
	MetaDeletedAt
	MetaSequence
	MetaTableVersion
	// MetaExtra is _sdc_extra: a JSON object of the record's properties
	// that its schema does not declare.
	MetaExtra
)

// ColumnIndex returns the index of a column by folded name, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// TransientError is a failure that another attempt of the same work may
// not meet: a deadlock, a serialization failure, a lost connection, a
// server restarting. Sessions (and Dialect.Open) wrap such errors in it;
// the engine then closes the session, waits, opens a new one and runs
// the work again, up to max_retries times. Any other error ends the run.
type TransientError struct {
	Err error
	// InDoubt: the connection was lost after COMMIT was sent, so the
	// transaction may have committed. Work that is harmless to redo
	// (a merge by key, a prepare) is redone; an append is redone only
	// when Committed says it did not commit.
	InDoubt bool
	// Committed, when not nil, tells (on a connection of its own) whether
	// the in-doubt transaction committed.
	Committed func(ctx context.Context) (bool, error)
}

func (e *TransientError) Error() string { return e.Err.Error() }

func (e *TransientError) Unwrap() error { return e.Err }
