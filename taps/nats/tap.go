package natstap

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Config is tap-nats's config (schemas/tap-nats.config.json).
type Config struct {
	natslog.Conn
	singerlog.TapSettings
}

// Spec returns tap-nats's command-line spec for cli.RunTap.
func Spec() cli.TapSpec {
	return singerlog.TapBroker[natslog.Conn, *natslog.Conn]{
		Name:        "tap-nats",
		Description: "Reads the Singer messages target-nats wrote to a NATS JetStream stream and writes them out as they were written, from its state's position, the beginning or a time; drains and exits, or follows.",
		Schema:      schemas.Get("tap-nats.config.json"),
		Defaults:    natslog.DefaultConn(),
		Topic:       func(c *natslog.Conn) string { return c.Topic },
		Open: func(ctx context.Context, c *natslog.Conn, name string, log *singer.Log) (singerlog.Source, io.Closer, error) {
			src, err := natslog.NewSource(ctx, c, name, log)
			return src, src, err
		},
	}.Spec()
}
