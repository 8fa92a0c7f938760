package sqltarget

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Capabilities are what every target on the engine can do, for --about.
var Capabilities = []string{"upsert", "append", "overwrite", "activate-version", "hard-delete", "soft-delete", "schema-evolution", "validation", "flattening"}

// Connector is a dialect's config as the command line uses it: decoded
// from --config, it opens the dialect and gives the engine's config.
type Connector[B Batch[B]] interface {
	// OpenDialect checks the config, fills its defaults and opens the
	// dialect (log gets the dialect's own lines); close ends what the
	// engine's sessions do not (a shared client, a database file).
	OpenDialect(ctx context.Context, log *singer.Log) (d Dialect[B], close func(), err error)
	// EngineConfig is the engine's part of the config, read after
	// OpenDialect filled its defaults (Config has it: a dialect's config
	// embeds Config).
	EngineConfig() Config
}

// EngineConfig returns c: a dialect's config that embeds Config has the
// method of Connector.
func (c *Config) EngineConfig() Config { return *c }

// DialectSpec wires a dialect into the shared command line. C is the
// dialect's config (its pointer a Connector[B]), B its batch type; name is
// the binary, whose config schema is schemas/<name>.config.json:
//
//	func Spec() cli.TargetSpec {
//		return sqltarget.DialectSpec[Config, *xBatch]("target-x", "Load a Singer stream into X ...")
//	}
func DialectSpec[C any, B Batch[B], PC interface {
	*C
	Connector[B]
}](name, description string) cli.TargetSpec {
	about := cli.About{
		Name:         name,
		Description:  description,
		Version:      cli.Version,
		Capabilities: Capabilities,
		Settings:     schemas.Get(name + ".config.json"),
	}
	return Spec(about, func(ctx context.Context, env *cli.Env) (Dialect[B], Config, func(), error) {
		cfg := PC(new(C))
		if err := env.Config.Decode(cfg); err != nil {
			return nil, Config{}, nil, err
		}
		d, closeFn, err := cfg.OpenDialect(ctx, env.Log)
		if err != nil {
			return nil, Config{}, nil, err
		}
		return d, cfg.EngineConfig(), closeFn, nil
	})
}

// Opener decodes a dialect's config and connects: it returns the dialect,
// the engine's part of the config and a function that closes the
// connection.
type Opener[B Batch[B]] func(ctx context.Context, env *cli.Env) (Dialect[B], Config, func(), error)

// Spec wires a dialect into the shared command line (DialectSpec is the
// usual way in; Spec is for a binary whose about or config differs, as
// the test tool target-memory): the engine reads the
// stream from stdin, loads it and writes the committed states to stdout,
// with a progress line when stderr is a terminal.
func Spec[B Batch[B]](about cli.About, open Opener[B]) cli.TargetSpec {
	return cli.TargetSpec{
		About: about,
		Run: func(ctx context.Context, env *cli.Env, in io.Reader, out *singer.Encoder) error {
			d, cfg, closeFn, err := open(ctx, env)
			if err != nil {
				return err
			}
			defer closeFn()
			e := New(d, cfg, env.Log)
			e.Maps = env.Maps
			if cli.IsTerminal(env.Stderr) {
				e.Progress = env.Stderr
			}
			return e.Run(ctx, in, out)
		},
		MapsInside: true,
	}
}
