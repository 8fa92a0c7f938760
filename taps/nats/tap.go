package natstap

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Config is tap-nats's config (schemas/tap-nats.config.json).
type Config struct {
	natslog.Conn
	StartFrom string `json:"start_from"`
	Follow    bool   `json:"follow"`
}

// DefaultConfig returns the config with every default of the schema.
func DefaultConfig() Config {
	return Config{Conn: natslog.DefaultConn(), StartFrom: "beginning"}
}

func decodeConfig(c *config.Config) (Config, time.Time, error) {
	cfg := DefaultConfig()
	if err := c.Decode(&cfg); err != nil {
		return Config{}, time.Time{}, err
	}
	p := cfg.Check()
	var start time.Time
	if cfg.StartFrom != "beginning" {
		t, err := time.Parse(time.RFC3339Nano, cfg.StartFrom)
		if err != nil {
			p = append(p, fmt.Sprintf(`start_from: %q is neither "beginning" nor an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)`, cfg.StartFrom))
		}
		start = t
	}
	if len(p) > 0 {
		return Config{}, time.Time{}, &config.Error{Problems: p}
	}
	return cfg, start, nil
}

// Spec returns tap-nats's command-line spec for cli.RunTap.
func Spec() cli.TapSpec {
	return cli.TapSpec{
		About: cli.About{
			Name:          "tap-nats",
			Description:   "Reads the Singer messages target-nats wrote to a NATS JetStream stream and writes them out as they were written, from its state's position, the beginning or a time; drains and exits, or follows.",
			Version:       cli.Version,
			Capabilities:  []string{"about", "state"},
			Settings:      schemas.Get("tap-nats.config.json"),
			SettingsNotes: "The state is {\"log\":{\"topic\":...,\"next\":N},\"upstream\":<the upstream tap's latest state>}. A position the topic's retention already deleted stops the run (exit 1), it is never skipped.",
		},
		Discover: func(ctx context.Context, env *cli.Env) error {
			return &cli.UsageError{Msg: "tap-nats has no catalog: it writes every stream of the topic as the upstream tap wrote it"}
		},
		Sync: func(ctx context.Context, env *cli.Env, _ *singer.Catalog, state *singer.State, out *singer.Encoder) error {
			cfg, start, err := decodeConfig(env.Config)
			if err != nil {
				return err
			}
			return Run(ctx, cfg, start, env.Log, state, out)
		},
	}
}

// Run reads the topic of cfg to out.
func Run(ctx context.Context, cfg Config, start time.Time, log *singer.Log, state *singer.State, out *singer.Encoder) error {
	host, _ := os.Hostname()
	src, err := natslog.NewSource(ctx, &cfg.Conn, singerlog.ProducerName("tap-nats", host), log)
	if err != nil {
		return err
	}
	defer src.Close()
	return singerlog.Read(ctx, src, singerlog.ReadOptions{Topic: cfg.Topic, StartFrom: start, Follow: cfg.Follow}, log, state, out)
}
