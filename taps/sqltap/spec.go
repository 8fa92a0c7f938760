package sqltap

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// Capabilities are what every tap on the engine can do, for --about.
var Capabilities = []string{"discover", "catalog", "properties", "state", "log-based"}

// Opener decodes a driver's config and connects: it returns the engine over
// the driver and a function that closes the connection.
type Opener func(ctx context.Context, env *cli.Env) (*Engine, func(), error)

// Spec wires a driver into the shared command line: --discover writes the
// engine's catalog, a sync runs the engine with the catalog and state.
func Spec(about cli.About, open Opener) cli.TapSpec {
	return cli.TapSpec{
		About: about,
		Discover: func(ctx context.Context, env *cli.Env) error {
			e, closeFn, err := open(ctx, env)
			if err != nil {
				return err
			}
			defer closeFn()
			cat, err := e.Discover(ctx)
			if err != nil {
				return err
			}
			return cat.WriteJSON(env.Stdout)
		},
		Sync: func(ctx context.Context, env *cli.Env, catalog *singer.Catalog, state *singer.State, out *singer.Encoder) error {
			e, closeFn, err := open(ctx, env)
			if err != nil {
				return err
			}
			defer closeFn()
			return e.Sync(ctx, catalog, state, out)
		},
	}
}
