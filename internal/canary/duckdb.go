package canary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/project"
)

// duckDBSchema is target-duckdb's schema without default_target_schema.
const duckDBSchema = "main"

// duckDest looks in the DuckDB file of a target-duckdb config by running
// `target-duckdb query` (the connector's own command): DuckDB is a C++
// library linked through cgo, and linking it into singer would end
// singer's static, pure-Go build. A check therefore starts the target's
// binary twice per destination (is the table there; its newest row).
type duckDest struct {
	conn, command string
	path, shown   string // the database file; as reports show it
	schema, table string
	meta          bool // the target writes _sdc_batched_at
}

func (d *duckDest) name() string { return d.conn + ":" + d.schema + "." + d.table }

func (d *duckDest) latest(ctx context.Context, pipeline string) (row, error) {
	if _, err := os.Stat(d.path); errors.Is(err, os.ErrNotExist) {
		return row{missing: "database file " + d.shown + " does not exist"}, nil
	}
	// DuckDB matches identifiers case-insensitively.
	n, err := d.query(ctx, "SELECT count(*) FROM information_schema.tables WHERE lower(table_schema) = lower("+duckString(d.schema)+
		") AND lower(table_name) = lower("+duckString(d.table)+")")
	if err != nil {
		return row{}, err
	}
	if len(n) != 1 || n[0] == "0" {
		return row{missing: "table " + d.schema + "." + d.table + " does not exist"}, nil
	}
	loaded := "NULL"
	if d.meta {
		loaded = "epoch_us(_sdc_batched_at)"
	}
	// One value a row, microseconds since the epoch: nothing in it for
	// the table layout or a time zone to change.
	vals, err := d.query(ctx, "SELECT epoch_us(sent_at)::VARCHAR || ' ' || coalesce(("+loaded+")::VARCHAR, '-') AS canary FROM "+
		duckIdent(d.schema)+"."+duckIdent(d.table)+" WHERE pipeline = "+duckString(pipeline)+" ORDER BY sent_at DESC LIMIT 1")
	if err != nil {
		return row{}, err
	}
	if len(vals) == 0 {
		return row{}, nil
	}
	sent, at, _ := strings.Cut(vals[0], " ")
	us, perr := strconv.ParseInt(sent, 10, 64)
	if perr != nil {
		return row{}, fmt.Errorf("sent_at in %s: %q is not a time", d.name(), sent)
	}
	r := row{sentAt: time.UnixMicro(us).UTC(), found: true}
	if us, perr := strconv.ParseInt(at, 10, 64); perr == nil {
		r.loadedAt = time.UnixMicro(us).UTC()
	}
	return r, nil
}

// query runs `target-duckdb query --path FILE SQL` for a one-column
// result and returns its values: the lines between the table's header
// (a name and a rule) and its "(N rows)" line.
func (d *duckDest) query(ctx context.Context, sql string) ([]string, error) {
	cmd := exec.CommandContext(ctx, d.command, "query", "--path", d.path, sql)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s query: %s", filepath.Base(d.command), msg)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[len(lines)-1], "(") {
		return nil, fmt.Errorf("%s query: unexpected output %q", filepath.Base(d.command), out.String())
	}
	vals := lines[2 : len(lines)-1]
	for i, v := range vals {
		vals[i] = strings.TrimSpace(v)
	}
	return vals, nil
}

func (d *duckDest) close() {}

func duckIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func duckString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// commandPath is how singer run finds a connector's command: a path
// (relative to the project directory) or a name on PATH.
func commandPath(p *project.Project, c *project.Connector) string {
	if strings.Contains(c.Command, "/") && !filepath.IsAbs(c.Command) {
		return filepath.Join(p.Dir, c.Command)
	}
	return c.Command
}
