package duckdb

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-duckdb for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.DialectSpec[Config, *batch]("target-duckdb",
		"Load a Singer stream into a DuckDB database file (Appender into a stage, merge by key, exact numbers; no server)")
}

// OpenDialect checks the config and opens the database file; close ends
// the dialect's database handle.
func (c *Config) OpenDialect(ctx context.Context, log *singer.Log) (sqltarget.Dialect[*batch], func(), error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	d, err := OpenDialect(ctx, c, log)
	if err != nil {
		return nil, nil, err
	}
	return d, func() { d.Close() }, nil
}
