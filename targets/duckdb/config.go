package duckdb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// DefaultSchema is where the tables go without default_target_schema.
const DefaultSchema = "main"

// DefaultThreads is DuckDB's worker threads without the threads key: one.
// The target already runs two busy threads (decoding, and loading, which
// DuckDB's work runs on); more DuckDB workers mostly wait on its task
// queue: 1M-record append 7.2-9.6 -> 5.7-6.2 CPU seconds on the bench's
// 2-core machine.
const DefaultThreads = 1

// DefaultBatchRows is batch_size_rows without the key: DuckDB's row group
// (122,880 rows). A transaction that inserts at least a whole row group
// writes it straight to the database file instead of logging it to the
// WAL and writing it again at the next checkpoint: the 1M-record bench
// took 18% less CPU in append (6.3-6.6 -> 5.2-5.4 CPU s) and 20% less in
// upsert (11.6 -> 9.1-9.3) than with the engine's 100,000, for 6 MB more
// peak RSS.
const DefaultBatchRows = 122880

// Config is target-duckdb's config: the database file and the engine's keys.
type Config struct {
	sqltarget.Config
	Path    string `json:"path"`
	Threads int    `json:"threads"`
	// ObjectColumns is how objects and arrays land: json (default) or
	// struct (nested.go).
	ObjectColumns string `json:"object_columns"`
}

// check validates path: a file in an existing directory. An in-memory
// database would be lost when the target exits, with the states already
// printed: refused.
func (c *Config) check() error {
	p := strings.TrimSpace(c.Path)
	switch {
	case p == "":
		return &config.Error{Problems: []string{"path is required: the DuckDB database file to load into (created when missing)"}}
	case p == ":memory:" || strings.HasPrefix(p, ":memory:"):
		return &config.Error{Problems: []string{"path: \":memory:\" is refused: an in-memory database is gone when target-duckdb exits, after it has printed the states that say its records are loaded; give a file path"}}
	case strings.Contains(p, "?") || strings.HasPrefix(p, "md:") || strings.HasPrefix(p, "motherduck:"):
		return &config.Error{Problems: []string{fmt.Sprintf("path %q: give a plain file path (no URL, no options)", p)}}
	}
	dir := filepath.Dir(p)
	st, err := os.Stat(dir)
	if err != nil {
		return &config.Error{Problems: []string{fmt.Sprintf("path %s: directory %s: %v: create it first", p, dir, config.WithoutPath(err))}}
	}
	if !st.IsDir() {
		return &config.Error{Problems: []string{fmt.Sprintf("path %s: %s is not a directory", p, dir)}}
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return &config.Error{Problems: []string{fmt.Sprintf("path %s is a directory: give the database file", p)}}
	}
	if c.DefaultTargetSchema == "" {
		c.DefaultTargetSchema = DefaultSchema
	}
	if c.BatchSizeRows == 0 {
		c.BatchSizeRows = DefaultBatchRows
	}
	return nil
}
