package canary

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/singerkit/singerkit/internal/pgdsn"
	"github.com/singerkit/singerkit/internal/project"
	targetbigquery "github.com/singerkit/singerkit/targets/bigquery"
	"github.com/singerkit/singerkit/targets/jsonl"
	targetmysql "github.com/singerkit/singerkit/targets/mysql"
	targetpostgres "github.com/singerkit/singerkit/targets/postgres"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// destination is one place a pipeline's tracers must arrive.
type destination interface {
	// name is the destination in reports and the state store:
	// connector:schema.table, or connector:file.
	name() string
	// latest returns the pipeline's newest tracer row found there.
	latest(ctx context.Context, pipeline string) (row, error)
	close()
}

// row is what a destination holds of a pipeline's tracers.
type row struct {
	// sentAt is the newest sent_at of the pipeline's rows; found is false
	// when there is none, and missing then says why when the table or
	// file itself is missing.
	sentAt  time.Time
	found   bool
	missing string
	// loadedAt is when the target loaded that row, when it writes
	// metadata columns (_sdc_batched_at; target-jsonl: _sdc_received_at);
	// zero otherwise.
	loadedAt time.Time
}

// newDestinations resolves where a pipeline's tracers must arrive: the
// canary section's destinations, or the pipeline's target at the table
// (or file) its naming rules give the canary stream.
func newDestinations(p *project.Project, pl *project.Pipeline, stream string) ([]destination, error) {
	specs := pl.Canary.Destinations
	if len(specs) == 0 {
		specs = []project.CanaryDestination{{Connector: pl.Target, Where: pl.Canary.Where}}
	}
	var out []destination
	for i, d := range specs {
		dest, err := newDestination(p, pl, d, i, stream)
		if err != nil {
			for _, o := range out {
				o.close()
			}
			return nil, err
		}
		out = append(out, dest)
	}
	return out, nil
}

func newDestination(p *project.Project, pl *project.Pipeline, d project.CanaryDestination, i int, stream string) (destination, error) {
	conn := p.Connectors[d.Connector]
	switch kindOf(conn) {
	case kindPostgres:
		if d.File != "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary.destinations.%d: %s is a PostgreSQL target: give table, not file", d.Where, pl.Name, i, conn.Name)
		}
		cfg, err := connectorConfig(conn, "target-postgres")
		if err != nil {
			return nil, err
		}
		var tc targetpostgres.Config
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		if tc.DefaultTargetSchema == "" {
			tc.DefaultTargetSchema = targetpostgres.DefaultSchema
		}
		schema, table := tc.Destination(stream)
		if d.Table != "" {
			schema, table = splitName(d.Table, tc.DefaultTargetSchema)
		}
		fold := (&targetpostgres.Dialect{}).FoldIdentifier
		cc, err := tc.ConnConfig()
		if err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		return &pgDest{conn: conn.Name, cc: cc, schema: fold(schema), table: fold(table), meta: tc.AddMetadataColumns}, nil
	case kindMySQL:
		if d.File != "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary.destinations.%d: %s is a MySQL target: give table, not file", d.Where, pl.Name, i, conn.Name)
		}
		cfg, err := connectorConfig(conn, "target-mysql")
		if err != nil {
			return nil, err
		}
		var tc targetmysql.Config
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		dc, err := tc.DriverConfig() // also defaults default_target_schema
		if err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		db, table := tc.Destination(stream)
		if d.Table != "" {
			db, table = splitName(d.Table, tc.DefaultTargetSchema)
		}
		fold := (&targetmysql.Dialect{}).FoldIdentifier
		connector, err := mysqldrv.NewConnector(dc)
		if err != nil {
			return nil, fmt.Errorf("connector %s: invalid connection settings", conn.Name)
		}
		return &myDest{conn: conn.Name, pool: sql.OpenDB(connector), db: fold(db), table: fold(table), meta: tc.AddMetadataColumns}, nil
	case kindJSONL:
		if d.Table != "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary.destinations.%d: %s is a JSONL target: give file, not table", d.Where, pl.Name, i, conn.Name)
		}
		cfg, err := connectorConfig(conn, "target-jsonl")
		if err != nil {
			return nil, err
		}
		tc := jsonl.DefaultConfig()
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		path := d.File
		if path == "" {
			path = filepath.Join(tc.DestinationPath, jsonl.FileName(stream))
		}
		if !filepath.IsAbs(path) {
			// The runner starts connectors in the project's directory.
			path = filepath.Join(p.Dir, path)
		}
		return &fileDest{conn: conn.Name, path: path, shown: shortPath(p.Dir, path), meta: tc.AddMetadataColumns}, nil
	case kindBigQuery:
		if d.File != "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary.destinations.%d: %s is a BigQuery target: give table (dataset.table), not file", d.Where, pl.Name, i, conn.Name)
		}
		cfg, err := connectorConfig(conn, "target-bigquery")
		if err != nil {
			return nil, err
		}
		var tc targetbigquery.Config
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		if err := tc.Resolve(); err != nil {
			return nil, fmt.Errorf("%s: pipelines.%s.canary: connector %s: %v (as target-bigquery reads it)", d.Where, pl.Name, conn.Name, err)
		}
		dataset, table := tc.Destination(stream)
		if d.Table != "" {
			dataset, table = splitName(d.Table, tc.DefaultTargetSchema)
		}
		return &bqDest{conn: conn.Name, cfg: &tc, dataset: targetbigquery.FoldName(dataset), table: targetbigquery.FoldName(table), meta: tc.AddMetadataColumns}, nil
	case kindDuckDB:
		if d.File != "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary.destinations.%d: %s is a DuckDB target: give table (schema.table), not file (its path is the config's)", d.Where, pl.Name, i, conn.Name)
		}
		cfg, err := connectorConfig(conn, "target-duckdb")
		if err != nil {
			return nil, err
		}
		var tc struct {
			sqltarget.Config
			Path string `json:"path"`
		}
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", conn.Name, err)
		}
		if tc.Path == "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary: connector %s: path is required (the DuckDB database file)", d.Where, pl.Name, conn.Name)
		}
		if tc.DefaultTargetSchema == "" {
			tc.DefaultTargetSchema = duckDBSchema
		}
		schema, table := tc.Destination(stream)
		if d.Table != "" {
			schema, table = splitName(d.Table, tc.DefaultTargetSchema)
		}
		path := tc.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.Dir, path)
		}
		return &duckDest{conn: conn.Name, command: commandPath(p, conn), path: path, shown: shortPath(p.Dir, path), schema: schema, table: table, meta: tc.AddMetadataColumns}, nil
	}
	return nil, fmt.Errorf("%s: pipelines.%s.canary: cannot look for tracers through %s (%s): destinations are PostgreSQL, MySQL, BigQuery, DuckDB and JSONL targets", d.Where, pl.Name, conn.Name, conn.Command)
}

func shortPath(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// pgDest queries the destination table with target-postgres' connection
// settings.
type pgDest struct {
	conn          string
	cc            *pgx.ConnConfig
	schema, table string
	meta          bool // the target writes _sdc_batched_at
	db            *pgx.Conn
}

func (d *pgDest) name() string { return d.conn + ":" + d.schema + "." + d.table }

func (d *pgDest) latest(ctx context.Context, pipeline string) (row, error) {
	if d.db == nil {
		db, err := pgx.ConnectConfig(ctx, d.cc)
		if err != nil {
			return row{}, fmt.Errorf("connecting with %s's settings: %w", d.conn, pgdsn.ConnectError(err, d.cc.Password))
		}
		d.db = db
	}
	loaded := "NULL::timestamptz"
	if d.meta {
		loaded = "_sdc_batched_at"
	}
	var r row
	var at *time.Time
	err := d.db.QueryRow(ctx, `SELECT sent_at::timestamptz, `+loaded+` FROM `+pgx.Identifier{d.schema, d.table}.Sanitize()+
		` WHERE pipeline = $1 ORDER BY sent_at::timestamptz DESC LIMIT 1`, pipeline).Scan(&r.sentAt, &at)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000"):
		return row{missing: "table " + d.schema + "." + d.table + " does not exist"}, nil
	case errors.Is(err, pgx.ErrNoRows):
		return row{}, nil
	case err != nil:
		return row{}, err
	}
	r.found = true
	if at != nil {
		r.loadedAt = *at
	}
	return r, nil
}

func (d *pgDest) close() {
	if d.db != nil {
		d.db.Close(context.Background())
	}
}

// myDest queries the destination table with target-mysql's connection
// settings; target-mysql stores date-times in UTC.
type myDest struct {
	conn      string
	pool      *sql.DB
	db, table string
	meta      bool // the target writes _sdc_batched_at
}

func (d *myDest) name() string { return d.conn + ":" + d.db + "." + d.table }

func (d *myDest) latest(ctx context.Context, pipeline string) (row, error) {
	loaded := "NULL"
	if d.meta {
		loaded = "_sdc_batched_at"
	}
	var sent, at sql.NullString
	err := d.pool.QueryRowContext(ctx, `SELECT CAST(sent_at AS CHAR), CAST(`+loaded+` AS CHAR) FROM `+quoteMy(d.db, d.table)+
		` WHERE pipeline = ? ORDER BY sent_at DESC LIMIT 1`, pipeline).Scan(&sent, &at)
	var me *mysqldrv.MySQLError
	switch {
	case errors.As(err, &me) && (me.Number == 1146 || me.Number == 1049):
		return row{missing: "table " + d.db + "." + d.table + " does not exist"}, nil
	case errors.Is(err, sql.ErrNoRows):
		return row{}, nil
	case err != nil:
		return row{}, err
	}
	var r row
	var perr error
	if r.sentAt, perr = parseTime(sent.String); perr != nil {
		return row{}, fmt.Errorf("sent_at %q in %s: %v", sent.String, d.name(), perr)
	}
	r.found = true
	if at.Valid {
		r.loadedAt, _ = parseTime(at.String)
	}
	return r, nil
}

func (d *myDest) close() { d.pool.Close() }

// parseTime reads a sent_at as a destination gives it back: RFC 3339, or
// MySQL's "2006-01-02 15:04:05.999999" in UTC.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
}

// fileDest reads the JSONL file target-jsonl appends the canary stream
// to: each line a record (with add_metadata_columns, the record and its
// _sdc_ properties).
type fileDest struct {
	conn, path, shown string
	meta              bool // the target writes _sdc_received_at
}

func (d *fileDest) name() string { return d.conn + ":" + d.shown }

func (d *fileDest) latest(_ context.Context, pipeline string) (row, error) {
	f, err := os.Open(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return row{missing: "file " + d.shown + " does not exist"}, nil
	}
	if err != nil {
		return row{}, err
	}
	defer f.Close()
	var r row
	br := bufio.NewReader(f)
	needle := []byte(pipeline)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && containsBytes(line, needle) {
			var rec struct {
				Pipeline   string `json:"pipeline"`
				SentAt     string `json:"sent_at"`
				ReceivedAt string `json:"_sdc_received_at"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Pipeline == pipeline {
				if at, perr := parseTime(rec.SentAt); perr == nil && (!r.found || at.After(r.sentAt)) {
					r.sentAt, r.found = at, true
					r.loadedAt = time.Time{}
					if d.meta {
						r.loadedAt, _ = parseTime(rec.ReceivedAt)
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return row{}, err
		}
	}
	return r, nil
}

func containsBytes(b, sub []byte) bool { return strings.Contains(string(b), string(sub)) }

func (d *fileDest) close() {}
