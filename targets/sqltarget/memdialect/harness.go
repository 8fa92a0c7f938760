package memdialect

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/targets/sqltarget"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// Config is target-memory's config: the engine's keys and the directory
// that holds the database.
type Config struct {
	sqltarget.Config
	Database string `json:"database"`
}

// Spec is target-memory for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.Spec(cli.About{
		Name:         "target-memory",
		Description:  "The SQL target engine on an in-memory dialect kept in one file (a test tool)",
		Version:      cli.Version,
		Capabilities: sqltarget.Capabilities,
	}, open)
}

func open(_ context.Context, env *cli.Env) (sqltarget.Dialect[*batch], sqltarget.Config, func(), error) {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	if cfg.Database == "" {
		return nil, sqltarget.Config{}, nil, &config.Error{Problems: []string{"database is required: the directory that holds the tables"}}
	}
	if cfg.DefaultTargetSchema == "" {
		cfg.DefaultTargetSchema = "public"
	}
	return New(OpenDB(cfg.Database), env.Log), cfg.Config, func() {}, nil
}

// Harness runs sqltargettest's suite on the dialect: one database (a
// directory, a file per schema) for every case, as a server is, and a new
// schema for each Config.
type Harness struct {
	db  *DB
	dir string
}

// NewHarness returns a harness whose database lives in a temporary
// directory of t.
func NewHarness(t *testing.T) Harness {
	dir := t.TempDir()
	return Harness{db: OpenDB(dir), dir: dir}
}

var (
	unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)
	seq         atomic.Int64
)

// Spec is target-memory's.
func (Harness) Spec() cli.TargetSpec { return Spec() }

// Config returns a config whose database is a new file, and its schema.
func (h Harness) Config(t *testing.T) (map[string]any, string) {
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	schema := fmt.Sprintf("mem_%s_%d", name, seq.Add(1))
	return map[string]any{"database": h.dir, "default_target_schema": schema}, schema
}

// Rows renders a table's rows (see DB.Rows).
func (h Harness) Rows(t *testing.T, schema, table string, cols []string, orderBy string) []string {
	t.Helper()
	rows, err := h.db.Rows(schema, table, cols, orderBy)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Columns lists a table's columns.
func (h Harness) Columns(t *testing.T, schema, table string) []string {
	t.Helper()
	cols, err := h.db.Columns(schema, table)
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// Binary builds cmd/target-memory.
func (Harness) Binary(t *testing.T) string {
	return sqltargettest.BuildPackage(t, "./targets/sqltarget/memdialect/cmd/target-memory")
}
