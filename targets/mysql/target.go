package mysql

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-mysql for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.Spec(cli.About{
		Name:         "target-mysql",
		Description:  "Load a Singer stream into MySQL or MariaDB (LOAD DATA LOCAL from memory, merge by key, exact numbers)",
		Version:      cli.Version,
		Capabilities: sqltarget.Capabilities,
		Settings:     schemas.Get("target-mysql.config.json"),
	}, open)
}

func open(_ context.Context, env *cli.Env) (sqltarget.Dialect[*textBatch], sqltarget.Config, func(), error) {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, sqltarget.Config{}, nil, err
	}
	d, err := NewDialect(&cfg, env.Log)
	if err != nil {
		return nil, sqltarget.Config{}, nil, &config.Error{Problems: []string{err.Error()}}
	}
	return d, cfg.Config, func() {}, nil
}
