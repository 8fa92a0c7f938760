package postgres

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-postgres for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.Spec(cli.About{
		Name:         "target-postgres",
		Description:  "Load a Singer stream into PostgreSQL (binary COPY, merge by key, exact numbers)",
		Version:      cli.Version,
		Capabilities: sqltarget.Capabilities,
		Settings:     schemas.Get("target-postgres.config.json"),
	}, open)
}

func open(_ context.Context, env *cli.Env) (sqltarget.Dialect[*copyBatch], sqltarget.Config, func(), error) {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	if cfg.DefaultTargetSchema == "" {
		cfg.DefaultTargetSchema = DefaultSchema
	}
	d, err := NewDialect(&cfg, env.Log)
	if err != nil {
		return nil, sqltarget.Config{}, nil, &config.Error{Problems: []string{err.Error()}}
	}
	// Each session holds its own connection, closed by the engine.
	return d, cfg.Config, func() {}, nil
}
