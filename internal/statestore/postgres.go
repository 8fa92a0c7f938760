package statestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresStore keeps states, locks (advisory locks) and run history in
// one PostgreSQL database, so runs can move between machines. Its tables
// (singer_state, singer_runs) are created on first use.
type PostgresStore struct {
	pool *pgxpool.Pool

	tracerOnce sync.Once // creates singer_canary_tracers
	tracerErr  error
}

// OpenPostgres connects to the store; the URL is never put in an error.
func OpenPostgres(ctx context.Context, url string) (*PostgresStore, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("state store: the postgres:// URL does not parse (check its syntax)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("state store: connecting to PostgreSQL at %s: %w", cfg.ConnConfig.Host, err)
	}
	s := &PostgresStore{pool: pool}
	_, err = pool.Exec(ctx, `
CREATE TABLE IF NOT EXISTS singer_state (
  pipeline   text PRIMARY KEY,
  state      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS singer_runs (
  id       bigserial PRIMARY KEY,
  pipeline text NOT NULL,
  run      jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS singer_runs_pipeline ON singer_runs (pipeline, id);`)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("state store: creating its tables: %w", err)
	}
	return s, nil
}

// State implements Store.
func (s *PostgresStore) State(ctx context.Context, pipeline string) ([]byte, error) {
	var st string
	err := s.pool.QueryRow(ctx, `SELECT state FROM singer_state WHERE pipeline = $1`, pipeline).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	return []byte(st), nil
}

// SetState implements Store (committed before it returns); the state is
// kept without surrounding white space, as in the file store.
func (s *PostgresStore) SetState(ctx context.Context, pipeline string, state []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO singer_state (pipeline, state) VALUES ($1, $2)
ON CONFLICT (pipeline) DO UPDATE SET state = excluded.state, updated_at = now()`, pipeline, string(bytes.TrimSpace(state)))
	if err != nil {
		return fmt.Errorf("state store: saving the state of %s: %w", pipeline, err)
	}
	return nil
}

// ClearState implements Store.
func (s *PostgresStore) ClearState(ctx context.Context, pipeline string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM singer_state WHERE pipeline = $1`, pipeline)
	return err
}

// Pipelines implements Store.
func (s *PostgresStore) Pipelines(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT pipeline FROM singer_state ORDER BY pipeline`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Lock implements Store with a session advisory lock held on a dedicated
// connection: PostgreSQL releases it when that connection ends, so a
// killed runner leaves no lock.
func (s *PostgresStore) Lock(ctx context.Context, pipeline string) (func(), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('singer run:' || $1, 0))`, pipeline).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("state store: locking %s: %w", pipeline, err)
	}
	if !ok {
		conn.Release()
		return nil, ErrLocked
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the connection drops the lock whatever state it is in.
			conn.Hijack().Close(context.Background())
		})
	}, nil
}

// AddRun implements Store.
func (s *PostgresStore) AddRun(ctx context.Context, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO singer_runs (pipeline, run) VALUES ($1, $2)`, r.Pipeline, string(b))
	return err
}

// Runs implements Store.
func (s *PostgresStore) Runs(ctx context.Context, pipeline string) ([]Run, error) {
	rows, err := s.pool.Query(ctx, `SELECT run::text FROM singer_runs WHERE pipeline = $1 ORDER BY id`, pipeline)
	if err != nil {
		return nil, err
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(texts))
	for _, t := range texts {
		var r Run
		if json.Unmarshal([]byte(t), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Close implements Store.
func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}
