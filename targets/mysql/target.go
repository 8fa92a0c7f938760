package mysql

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Spec is target-mysql for the shared command line.
func Spec() cli.TargetSpec {
	return sqltarget.DialectSpec[Config, *textBatch]("target-mysql",
		"Load a Singer stream into MySQL or MariaDB (LOAD DATA LOCAL from memory, merge by key, exact numbers)")
}

// OpenDialect makes the dialect; each session holds its own connection,
// closed by the engine.
func (c *Config) OpenDialect(_ context.Context, log *singer.Log) (sqltarget.Dialect[*textBatch], func(), error) {
	d, err := NewDialect(c, log)
	if err != nil {
		return nil, nil, &config.Error{Problems: []string{err.Error()}}
	}
	return d, func() {}, nil
}
