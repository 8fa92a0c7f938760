package postgres

import (
	"context"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// Spec is tap-postgres for the shared command line (cli.RunTap).
func Spec() cli.TapSpec {
	return sqltap.DriverSpec[Config]("tap-postgres",
		"Reads PostgreSQL tables and views as Singer streams: discovery with full metadata, resumable key-ordered FULL_TABLE, INCREMENTAL, and LOG_BASED through logical replication (pgoutput)")
}

// OpenDriver opens the driver; the log gets the driver's own lines.
func (c *Config) OpenDriver(ctx context.Context, log *singer.Log) (sqltap.Driver, func(), error) {
	c.log = log
	d, err := Open(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return d, func() { d.Close() }, nil
}

// EngineOptions are the SQL tap engine's settings in the config.
func (c *Config) EngineOptions() sqltap.Options {
	return sqltap.Options{
		ChunkSize:                c.Itersize,
		StateEvery:               c.StateEveryRows,
		DefaultReplicationMethod: c.DefaultReplicationMethod,
		LogIdle:                  time.Duration(c.LogicalPollSeconds * float64(time.Second)),
		LogMaxRun:                time.Duration(c.MaxRunSeconds * float64(time.Second)),
		LogStateInterval:         time.Duration(c.StateEverySeconds * float64(time.Second)),
	}
}

// Engine returns the SQL tap engine over d with the config's options.
func Engine(cfg *Config, d *Driver, log *singer.Log) *sqltap.Engine {
	return &sqltap.Engine{Driver: d, Log: log, Options: cfg.EngineOptions()}
}
