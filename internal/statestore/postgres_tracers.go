package statestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL store keeps tracers in the table singer_canary_tracers,
// one JSON document a tracer, created on first use.

func (s *PostgresStore) tracerTable(ctx context.Context) error {
	s.tracerOnce.Do(func() {
		_, s.tracerErr = s.pool.Exec(ctx, `
CREATE TABLE IF NOT EXISTS singer_canary_tracers (
  pipeline text NOT NULL,
  id       text NOT NULL,
  sent_at  timestamptz NOT NULL,
  tracer   jsonb NOT NULL,
  PRIMARY KEY (pipeline, id)
)`)
	})
	if s.tracerErr != nil {
		return fmt.Errorf("state store: creating singer_canary_tracers: %w", s.tracerErr)
	}
	return nil
}

// AddTracer implements TracerStore.
func (s *PostgresStore) AddTracer(ctx context.Context, t Tracer, keep int) error {
	if err := s.tracerTable(ctx); err != nil {
		return err
	}
	normalizeTracer(&t)
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO singer_canary_tracers (pipeline, id, sent_at, tracer) VALUES ($1, $2, $3, $4)
ON CONFLICT (pipeline, id) DO UPDATE SET sent_at = excluded.sent_at, tracer = excluded.tracer`, t.Pipeline, t.ID, t.SentAt, string(b)); err != nil {
			return fmt.Errorf("state store: saving a tracer of %s: %w", t.Pipeline, err)
		}
		if keep > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM singer_canary_tracers WHERE pipeline = $1 AND id NOT IN (
  SELECT id FROM singer_canary_tracers WHERE pipeline = $1 ORDER BY sent_at DESC, id DESC LIMIT $2)`, t.Pipeline, keep); err != nil {
				return fmt.Errorf("state store: forgetting old tracers of %s: %w", t.Pipeline, err)
			}
		}
		return nil
	})
}

// Tracers implements TracerStore.
func (s *PostgresStore) Tracers(ctx context.Context, pipeline string) ([]Tracer, error) {
	if err := s.tracerTable(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT tracer::text FROM singer_canary_tracers WHERE pipeline = $1 ORDER BY sent_at, id`, pipeline)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	out := make([]Tracer, 0, len(texts))
	for _, s := range texts {
		var t Tracer
		if err := json.Unmarshal([]byte(s), &t); err != nil {
			return nil, fmt.Errorf("state store: a tracer of %s in singer_canary_tracers: %v", pipeline, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// AddArrivals implements TracerStore: the row is locked while its
// arrivals are merged, so two checks at once lose nothing.
func (s *PostgresStore) AddArrivals(ctx context.Context, pipeline, id string, arrivals map[string]Arrival) error {
	if err := s.tracerTable(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var text string
		err := tx.QueryRow(ctx, `SELECT tracer::text FROM singer_canary_tracers WHERE pipeline = $1 AND id = $2 FOR UPDATE`, pipeline, id).Scan(&text)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("state store: %w", err)
		}
		var t Tracer
		if err := json.Unmarshal([]byte(text), &t); err != nil {
			return fmt.Errorf("state store: tracer %s of %s: %v", id, pipeline, err)
		}
		mergeArrivals(&t, arrivals)
		b, _ := json.Marshal(t)
		if _, err := tx.Exec(ctx, `UPDATE singer_canary_tracers SET tracer = $3 WHERE pipeline = $1 AND id = $2`, pipeline, id, string(b)); err != nil {
			return fmt.Errorf("state store: recording arrivals of tracer %s: %w", id, err)
		}
		return nil
	})
}
