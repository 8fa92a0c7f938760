package postgres

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-postgres for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.DialectSpec[Config, *copyBatch]("target-postgres",
		"Load a Singer stream into PostgreSQL (binary COPY, merge by key, exact numbers)")
}

// OpenDialect fills the config's defaults and makes the dialect; each
// session holds its own connection, closed by the engine.
func (c *Config) OpenDialect(_ context.Context, log *singer.Log) (sqltarget.Dialect[*copyBatch], func(), error) {
	if c.DefaultTargetSchema == "" {
		c.DefaultTargetSchema = DefaultSchema
	}
	d, err := NewDialect(c, log)
	if err != nil {
		return nil, nil, &config.Error{Problems: []string{err.Error()}}
	}
	return d, func() {}, nil
}
