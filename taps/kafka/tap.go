package kafkatap

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/kafkalog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Config is tap-kafka's config (schemas/tap-kafka.config.json).
type Config struct {
	kafkalog.Conn
	singerlog.TapSettings
}

// Spec returns tap-kafka's command-line spec for cli.RunTap.
func Spec() cli.TapSpec {
	return singerlog.TapBroker[kafkalog.Conn, *kafkalog.Conn]{
		Name:        "tap-kafka",
		Description: "Reads the Singer messages target-kafka wrote to a Kafka topic and writes them out as they were written, from its state's position, the beginning or a time; drains and exits, or follows.",
		Schema:      schemas.Get("tap-kafka.config.json"),
		Defaults:    kafkalog.DefaultConn(),
		Topic:       func(c *kafkalog.Conn) string { return c.Topic },
		Open: func(ctx context.Context, c *kafkalog.Conn, name string, _ *singer.Log) (singerlog.Source, io.Closer, error) {
			src, err := kafkalog.NewSource(ctx, c, name)
			return src, src, err
		},
	}.Spec()
}
