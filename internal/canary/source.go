package canary

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/singerkit/singerkit/internal/project"
	tapmysql "github.com/singerkit/singerkit/taps/mysql"
	tappostgres "github.com/singerkit/singerkit/taps/postgres"
)

// DefaultTable is the canary table's name at a source, and Stream the
// Singer stream of a tracer published to a topic.
const (
	DefaultTable = "singer_canary"
	Stream       = "singer_canary"
)

// source is where a pipeline's tracers are injected.
type source interface {
	// where names the injection point in messages.
	where() string
	// stream is the Singer stream the tracer travels in, as the tap
	// names it.
	stream() string
	// init creates what send needs (the canary table); idempotent.
	init(ctx context.Context) error
	// send injects one tracer.
	send(ctx context.Context, pipeline, id string, at time.Time) error
	close()
}

// newSource resolves a pipeline's injection point from its canary section
// and the tap's connector.
func newSource(p *project.Project, pl *project.Pipeline) (source, error) {
	tap := p.Connectors[pl.Tap]
	c := pl.Canary
	k := kindOf(tap)
	if c.Gate != nil {
		return newGateSource(p, pl)
	}
	if c.Topic != "" || (c.Table == "" && (k == kindNATS || k == kindKafka)) {
		switch k {
		case kindNATS:
			return newNATSSource(tap, c.Topic)
		case kindKafka:
			return newKafkaSource(tap, c.Topic)
		}
		return nil, fmt.Errorf("%s: pipelines.%s.canary.topic: the tap %s (%s) does not read a NATS or Kafka topic; use table", c.Where, pl.Name, tap.Name, tap.Command)
	}
	table := c.Table
	if table == "" {
		table = DefaultTable
	}
	switch k {
	case kindPostgres:
		cfg, err := connectorConfig(tap, "tap-postgres")
		if err != nil {
			return nil, err
		}
		var tc tappostgres.Config
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", tap.Name, err)
		}
		schema, name := splitName(table, "public")
		return &pgSource{conn: tap.Name, cfg: &tc, schema: schema, table: name}, nil
	case kindMySQL:
		cfg, err := connectorConfig(tap, "tap-mysql")
		if err != nil {
			return nil, err
		}
		var tc tapmysql.Config
		if err := cfg.Decode(&tc); err != nil {
			return nil, fmt.Errorf("connector %s: %v", tap.Name, err)
		}
		def := tc.Database
		if def == "" && len(tc.FilterDBs) == 1 {
			def = tc.FilterDBs[0]
		}
		db, name := splitName(table, def)
		if db == "" {
			return nil, fmt.Errorf("%s: pipelines.%s.canary.table: name the database of the canary table (write database.%s)", c.Where, pl.Name, name)
		}
		return &mySource{conn: tap.Name, cfg: &tc, db: db, table: name}, nil
	}
	return nil, fmt.Errorf("%s: pipelines.%s.canary: cannot inject tracers through the tap %s (%s): a canary table needs tap-postgres or tap-mysql, a topic tap-nats or tap-kafka", c.Where, pl.Name, tap.Name, tap.Command)
}

// pgSource upserts the tracer row into a table of the tap's PostgreSQL
// database, connected with the tap's own settings.
type pgSource struct {
	conn          string // connector name
	cfg           *tappostgres.Config
	schema, table string
	db            *pgx.Conn
}

func (s *pgSource) where() string  { return s.conn + ":" + s.schema + "." + s.table }
func (s *pgSource) stream() string { return s.schema + "-" + s.table }

func (s *pgSource) connect(ctx context.Context) error {
	if s.db != nil {
		return nil
	}
	db, err := s.cfg.Connect(ctx)
	if err != nil {
		return fmt.Errorf("connector %s: %w", s.conn, err)
	}
	s.db = db
	return nil
}

func (s *pgSource) ident() string { return pgx.Identifier{s.schema, s.table}.Sanitize() }

func (s *pgSource) init(ctx context.Context) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.ident()+` (
  pipeline text PRIMARY KEY,
  id       text NOT NULL,
  sent_at  timestamptz NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("creating the canary table %s: %w", s.where(), err)
	}
	return nil
}

func (s *pgSource) send(ctx context.Context, pipeline, id string, at time.Time) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO `+s.ident()+` (pipeline, id, sent_at) VALUES ($1, $2, $3)
ON CONFLICT (pipeline) DO UPDATE SET id = excluded.id, sent_at = excluded.sent_at`, pipeline, id, at)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" {
		return fmt.Errorf("the canary table %s does not exist: create it with `singer canary init`", s.where())
	}
	if err != nil {
		return fmt.Errorf("upserting the tracer into %s: %w", s.where(), err)
	}
	return nil
}

func (s *pgSource) close() {
	if s.db != nil {
		s.db.Close(context.Background())
	}
}

// mySource upserts the tracer row into a table of the tap's MySQL server,
// connected with the tap's own settings (its session time zone is UTC).
type mySource struct {
	conn      string
	cfg       *tapmysql.Config
	db, table string
	pool      *sql.DB
	c         *sql.Conn
}

func (s *mySource) where() string  { return s.conn + ":" + s.db + "." + s.table }
func (s *mySource) stream() string { return s.db + "-" + s.table }

func (s *mySource) connect(ctx context.Context) error {
	if s.c != nil {
		return nil
	}
	pool, c, err := s.cfg.Connect(ctx)
	if err != nil {
		return fmt.Errorf("connector %s: %w", s.conn, err)
	}
	s.pool, s.c = pool, c
	return nil
}

func quoteMy(names ...string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + strings.ReplaceAll(n, "`", "``") + "`"
	}
	return strings.Join(q, ".")
}

func (s *mySource) init(ctx context.Context) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	_, err := s.c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+quoteMy(s.db, s.table)+` (
  pipeline varchar(191) NOT NULL PRIMARY KEY,
  id       varchar(64) NOT NULL,
  sent_at  datetime(6) NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("creating the canary table %s: %w", s.where(), err)
	}
	return nil
}

func (s *mySource) send(ctx context.Context, pipeline, id string, at time.Time) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	_, err := s.c.ExecContext(ctx, `INSERT INTO `+quoteMy(s.db, s.table)+` (pipeline, id, sent_at) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE id = VALUES(id), sent_at = VALUES(sent_at)`, pipeline, id, at.UTC().Format("2006-01-02 15:04:05.000000"))
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) && me.Number == 1146 {
		return fmt.Errorf("the canary table %s does not exist: create it with `singer canary init`", s.where())
	}
	if err != nil {
		return fmt.Errorf("upserting the tracer into %s: %w", s.where(), err)
	}
	return nil
}

func (s *mySource) close() {
	if s.c != nil {
		s.c.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
}
