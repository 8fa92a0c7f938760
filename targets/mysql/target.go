package mysql

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-mysql for the shared command line.
func Spec() singer.TargetSpec {
	return singer.TargetSpec{
		About: singer.About{
			Name:         "target-mysql",
			Description:  "Load a Singer stream into MySQL or MariaDB (LOAD DATA LOCAL from memory, merge by key, exact numbers)",
			Version:      singer.Version,
			Capabilities: []string{"upsert", "append", "overwrite", "activate-version", "hard-delete", "soft-delete", "schema-evolution", "validation", "flattening"},
			Settings:     schemas.Get("target-mysql.config.json"),
		},
		Run: run,
	}
}

func run(ctx context.Context, env *singer.Env, in io.Reader, out *singer.Encoder) error {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return err
	}
	d, err := NewDialect(&cfg, env.Log)
	if err != nil {
		return &singer.ConfigError{Problems: []string{err.Error()}}
	}
	defer d.db.Close()
	e := sqltarget.New(d, cfg.Config, env.Log)
	if singer.IsTerminal(env.Stderr) {
		e.Progress = env.Stderr
	}
	return e.Run(ctx, in, out)
}
