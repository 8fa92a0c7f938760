package postgres

import (
	"context"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// Spec is tap-postgres for the shared command line (cli.RunTap).
func Spec() cli.TapSpec {
	return sqltap.Spec(cli.About{
		Name:         "tap-postgres",
		Description:  "Reads PostgreSQL tables and views as Singer streams: discovery with full metadata, resumable key-ordered FULL_TABLE, INCREMENTAL, and LOG_BASED through logical replication (pgoutput)",
		Version:      cli.Version,
		Capabilities: sqltap.Capabilities,
		Settings:     schemas.Get("tap-postgres.config.json"),
	}, open)
}

func open(ctx context.Context, env *cli.Env) (*sqltap.Engine, func(), error) {
	var cfg Config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, nil, err
	}
	cfg.log = env.Log
	d, err := Open(ctx, &cfg)
	if err != nil {
		return nil, nil, err
	}
	return Engine(&cfg, d, env.Log), func() { d.Close() }, nil
}

// Engine returns the SQL tap engine over d with the config's options.
func Engine(cfg *Config, d *Driver, log *singer.Log) *sqltap.Engine {
	return &sqltap.Engine{
		Driver: d,
		Log:    log,
		Options: sqltap.Options{
			ChunkSize:                cfg.Itersize,
			StateEvery:               cfg.StateEveryRows,
			DefaultReplicationMethod: cfg.DefaultReplicationMethod,
			LogIdle:                  time.Duration(cfg.LogicalPollSeconds * float64(time.Second)),
			LogMaxRun:                time.Duration(cfg.MaxRunSeconds * float64(time.Second)),
			LogStateInterval:         time.Duration(cfg.StateEverySeconds * float64(time.Second)),
		},
	}
}
