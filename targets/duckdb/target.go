package duckdb

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-duckdb for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.Spec(cli.About{
		Name:         "target-duckdb",
		Description:  "Load a Singer stream into a DuckDB database file (Appender into a stage, merge by key, exact numbers; no server)",
		Version:      cli.Version,
		Capabilities: sqltarget.Capabilities,
		Settings:     schemas.Get("target-duckdb.config.json"),
	}, open)
}

func open(ctx context.Context, env *cli.Env) (sqltarget.Dialect[*batch], sqltarget.Config, func(), error) {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	d, err := OpenDialect(ctx, &cfg, env.Log)
	if err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	return d, cfg.Config, func() { d.Close() }, nil
}
