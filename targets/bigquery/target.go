package bigquery

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-bigquery for the shared command line.
func Spec() singer.TargetSpec {
	return singer.TargetSpec{
		About: singer.About{
			Name:         "target-bigquery",
			Description:  "Load a Singer stream into BigQuery (load jobs, merge by key, exact numbers)",
			Version:      singer.Version,
			Capabilities: []string{"upsert", "append", "overwrite", "activate-version", "hard-delete", "soft-delete", "schema-evolution", "validation", "flattening"},
			Settings:     schemas.Get("target-bigquery.config.json"),
		},
		Run: run,
	}
}

func run(ctx context.Context, env *singer.Env, in io.Reader, out *singer.Encoder) error {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return err
	}
	if cfg.DefaultTargetSchema == "" {
		cfg.DefaultTargetSchema = cfg.Dataset
	}
	if p := cfg.check(); len(p) > 0 {
		return &singer.ConfigError{Problems: p}
	}
	d, err := NewDialect(ctx, &cfg, env.Log)
	if err != nil {
		return err
	}
	defer d.Close()
	e := sqltarget.New(d, cfg.Config, env.Log)
	if singer.IsTerminal(env.Stderr) {
		e.Progress = env.Stderr
	}
	return e.Run(ctx, in, out)
}
