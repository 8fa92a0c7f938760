package sqltap

import (
	"context"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Capabilities are what every tap on the engine can do, for --about.
var Capabilities = []string{"discover", "catalog", "properties", "state", "log-based"}

// Connector is a driver's config as the command line uses it: decoded
// from --config, it connects the driver and gives the engine's options.
type Connector interface {
	// OpenDriver opens the driver (log gets the driver's own lines); close
	// ends its connections.
	OpenDriver(ctx context.Context, log *singer.Log) (d Driver, close func(), err error)
	// EngineOptions are the engine's settings the config holds.
	EngineOptions() Options
}

// DriverSpec wires a driver into the shared command line. C is the
// driver's config (its pointer a Connector); name is the binary, whose
// config schema is schemas/<name>.config.json:
//
//	func Spec() cli.TapSpec { return sqltap.DriverSpec[Config]("tap-x", "Reads X ...") }
func DriverSpec[C any, PC interface {
	*C
	Connector
}](name, description string) cli.TapSpec {
	about := cli.About{
		Name:         name,
		Description:  description,
		Version:      cli.Version,
		Capabilities: Capabilities,
		Settings:     schemas.Get(name + ".config.json"),
	}
	return spec(about, func(ctx context.Context, env *cli.Env) (*Engine, func(), error) {
		cfg := PC(new(C))
		if err := env.Config.Decode(cfg); err != nil {
			return nil, nil, err
		}
		d, closeFn, err := cfg.OpenDriver(ctx, env.Log)
		if err != nil {
			return nil, nil, err
		}
		return &Engine{Driver: d, Log: env.Log, Options: cfg.EngineOptions()}, closeFn, nil
	})
}

// spec: --discover writes the engine's catalog, a sync runs the engine with
// the catalog and state.
func spec(about cli.About, open func(ctx context.Context, env *cli.Env) (*Engine, func(), error)) cli.TapSpec {
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
