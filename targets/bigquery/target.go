package bigquery

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-bigquery for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.Spec(cli.About{
		Name:         "target-bigquery",
		Description:  "Load a Singer stream into BigQuery (Storage Write API or load jobs, merge by key, exact numbers)",
		Version:      cli.Version,
		Capabilities: sqltarget.Capabilities,
		Settings:     schemas.Get("target-bigquery.config.json"),
	}, open)
}

func open(ctx context.Context, env *cli.Env) (sqltarget.Dialect[batch], sqltarget.Config, func(), error) {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	if cfg.DefaultTargetSchema == "" {
		cfg.DefaultTargetSchema = cfg.Dataset
	}
	if p := cfg.check(); len(p) > 0 {
		return nil, sqltarget.Config{}, nil, &config.Error{Problems: p}
	}
	d, err := NewDialect(ctx, &cfg, env.Log)
	if err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	return d, cfg.Config, func() { d.Close() }, nil
}
