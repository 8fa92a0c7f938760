package memdialect

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// DB is the database: schemas of tables. A DB made by OpenDB keeps each
// schema in a file of its directory, so that several processes (a target
// binary and the test that reads its tables) share it; a transaction then
// reads its schema's file and writes it back whole, under a lock, and a
// process killed in the middle leaves the last committed state.
type DB struct {
	mu  sync.Mutex
	dir string            // "": in memory only
	mem map[string]tables // in memory: the committed schemas
}

// tables is a schema: its tables by name (JSON in the file).
type tables map[string]*table

type table struct {
	Columns []column `json:"columns"`
	// Unique lists the columns of the table's unique key (a primary key);
	// empty when it has none.
	Unique []string    `json:"unique,omitempty"`
	Rows   [][]*string `json:"rows"`
}

type column struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	NotNull bool   `json:"not_null,omitempty"`
}

// NewDB returns an empty database in memory.
func NewDB() *DB { return &DB{mem: map[string]tables{}} }

// OpenDB returns the database kept in the directory dir (created when it
// does not exist).
func OpenDB(dir string) *DB { return &DB{dir: dir} }

// clone copies the map, tables and row lists; rows themselves are never
// changed in place (an update makes a new row), so they are shared.
func (ts tables) clone() tables {
	c := make(tables, len(ts))
	for n, t := range ts {
		c[n] = t.clone()
	}
	return c
}

func (t *table) clone() *table {
	return &table{Columns: append([]column(nil), t.Columns...), Unique: append([]string(nil), t.Unique...), Rows: append([][]*string(nil), t.Rows...)}
}

// tx runs fn on a copy of a schema's committed tables and commits the copy
// when fn returns nil; an error leaves the database as it was.
func (db *DB) tx(schema string, fn func(ts tables) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.dir == "" {
		ts := db.mem[schema].clone()
		if err := fn(ts); err != nil {
			return err
		}
		db.mem[schema] = ts
		return nil
	}
	if err := os.MkdirAll(db.dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(db.dir, url.PathEscape(schema)+".json")
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	ts, err := readFile(path)
	if err != nil {
		return err
	}
	if err := fn(ts); err != nil {
		return err
	}
	return writeFile(path, ts)
}

// view runs fn on a schema's committed tables, which it must not change.
func (db *DB) view(schema string, fn func(ts tables)) error {
	err := db.tx(schema, func(ts tables) error {
		fn(ts)
		return errRollback
	})
	if err == errRollback {
		return nil
	}
	return err
}

var errRollback = errors.New("rollback")

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

func readFile(path string) (tables, error) {
	ts := tables{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("reading the database file %s: %w", path, err)
	}
	return ts, nil
}

// writeFile replaces the file in one rename: a process killed while it
// writes leaves the previous state.
func writeFile(path string, ts tables) error {
	b, err := json.Marshal(ts)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
