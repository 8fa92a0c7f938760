package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// maxIdentifier bounds folded names. DuckDB has no limit of its own; 255
// bytes keeps names readable and portable to the other targets' limits
// after the engine's hash rule.
const maxIdentifier = 255

// Dialect is target-duckdb's dialect of the SQL target engine. It holds
// the one database instance of the run (and with it the file's lock);
// every session is a connection of that instance.
type Dialect struct {
	cfg  *Config
	log  *singer.Log
	conn *duckdb.Connector
	db   *sql.DB
	// warned: streams already warned of records that append skipped.
	warned sync.Map
	nstage atomic.Int64 // names the stage tables, unique in the instance
	prepMu sync.Mutex   // one PrepareTable at a time
}

// OpenDialect opens the database file (creating it when missing) and takes
// its write lock: a file another process has open is one clear error.
func OpenDialect(ctx context.Context, cfg *Config, log *singer.Log) (*Dialect, error) {
	if err := returnFreedPages(); err != nil {
		log.Warnf("%v (the load runs; its peak memory is higher)", err)
	}
	threads := cfg.Threads
	if threads == 0 {
		threads = DefaultThreads
	}
	c, err := duckdb.NewConnector(cfg.Path, func(ex driver.ExecerContext) error {
		// Timestamps are UTC in every singerkit target; DuckDB's casts
		// between TIMESTAMP and TIMESTAMPTZ follow this setting.
		if _, err := ex.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil); err != nil {
			return err
		}
		_, err := ex.ExecContext(context.Background(), fmt.Sprintf("SET threads = %d", threads), nil)
		return err
	})
	if err != nil {
		return nil, openError(cfg.Path, err)
	}
	d := &Dialect{cfg: cfg, log: log, conn: c, db: sql.OpenDB(c)}
	// A closed session closes its connection (and its temporary tables).
	d.db.SetMaxIdleConns(0)
	if err := d.db.PingContext(ctx); err != nil {
		d.Close()
		return nil, openError(cfg.Path, err)
	}
	return d, nil
}

var lockHolder = regexp.MustCompile(`Conflicting lock is held in (.*?) \(PID (\d+)\)`)

// openError explains a failure to open the database file.
func openError(path string, err error) error {
	msg := err.Error()
	if m := lockHolder.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("database file %s is in use by another process (%s, PID %s): DuckDB lets one process write a file at a time; wait for it to exit, or load into another path", path, m[1], m[2])
	}
	if strings.Contains(msg, "Could not set lock") {
		return fmt.Errorf("database file %s is in use by another process: DuckDB lets one process write a file at a time; wait for it to exit, or load into another path", path)
	}
	return fmt.Errorf("opening DuckDB database %s: %s", path, firstLine(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Close closes the database, releasing the file's lock.
func (d *Dialect) Close() error {
	err := d.db.Close()
	if cerr := d.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// FoldIdentifier makes a name a valid DuckDB identifier. Every identifier
// is quoted with double quotes (a quote in the name is doubled), so case,
// spaces, quotes and reserved words are fine. NUL is dropped, invalid
// UTF-8 becomes "_", an empty name is "_", and names over 255 bytes are
// cut with the sqltarget.TruncateWithHash rule.
func (d *Dialect) FoldIdentifier(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == 0:
		case r == utf8.RuneError && !strings.HasPrefix(name[i:], "\uFFFD"):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if s == "" {
		s = "_"
	}
	return sqltarget.TruncateWithHash(s, maxIdentifier)
}

// IdentifierKey: DuckDB matches identifiers case-insensitively, quoted or
// not (it keeps their case for display).
func (d *Dialect) IdentifierKey(name string) string { return strings.ToLower(name) }

// MaxIdentifier is 255 bytes.
func (d *Dialect) MaxIdentifier() int { return maxIdentifier }

// Open connects a session: a connection of the database instance.
func (d *Dialect) Open(ctx context.Context) (sqltarget.Session[*batch], error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("connecting to DuckDB: %w", err))
	}
	return &session{d: d, conn: conn, log: d.log, schemas: map[string]bool{}, stages: map[string]*loadPlan{}}, nil
}

// quote quotes an identifier with double quotes.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// classify marks DuckDB's transaction conflicts (two connections changing
// the same rows or catalog entries at once) as transient: the engine runs
// the work again on a new session.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeTransaction {
		return &sqltarget.TransientError{Err: err}
	}
	return err
}
