package sqltarget

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// Capabilities are what every target on the engine can do, for --about.
var Capabilities = []string{"upsert", "append", "overwrite", "activate-version", "hard-delete", "soft-delete", "schema-evolution", "validation", "flattening"}

// Opener decodes a dialect's config and connects: it returns the dialect,
// the engine's part of the config and a function that closes the
// connection.
type Opener[B Batch[B]] func(ctx context.Context, env *cli.Env) (Dialect[B], Config, func(), error)

// Spec wires a dialect into the shared command line: the engine reads the
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
