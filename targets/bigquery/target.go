package bigquery

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-bigquery for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.DialectSpec[Config, batch]("target-bigquery",
		"Load a Singer stream into BigQuery (Storage Write API or load jobs, merge by key, exact numbers)")
}

// OpenDialect checks the config, fills its defaults and opens the client
// the sessions share (closed at the end of the run).
func (c *Config) OpenDialect(ctx context.Context, log *singer.Log) (sqltarget.Dialect[batch], func(), error) {
	if err := c.Resolve(); err != nil {
		return nil, nil, err
	}
	d, err := NewDialect(ctx, c, log)
	if err != nil {
		return nil, nil, err
	}
	return d, func() { d.Close() }, nil
}
