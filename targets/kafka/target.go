package kafkatarget

import (
	"context"
	"io"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/kafkalog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Config is target-kafka's config (schemas/target-kafka.config.json).
type Config struct {
	kafkalog.Conn
	singerlog.TargetSettings
}

// Spec returns target-kafka's command-line spec for cli.RunTarget.
func Spec() cli.TargetSpec {
	common := singerlog.DefaultTargetSettings()
	common.MaxInFlight = 10000
	common.Compression = kafkalog.CompressionSnappy
	return singerlog.TargetBroker[kafkalog.Conn, *kafkalog.Conn]{
		Name:        "target-kafka",
		Description: "Publishes every Singer message, byte for byte and in order, to a one-partition Kafka topic, and echoes a STATE only once the topic acknowledged it and everything before it.",
		Notes:       "Delivery is at least once across runs (a rerun from the last echoed state may publish messages again) and exactly once within a run (the idempotent producer stores a retried record once).",
		Schema:      schemas.Get("target-kafka.config.json"),
		Defaults:    kafkalog.DefaultConn(),
		Common:      common,
		MaxReplicas: 32767,
		// Kafka compresses record batches in its own protocol: every
		// Kafka consumer reads them.
		Compressions:     kafkalog.Compressions,
		ClientCompresses: true,
		Open: func(ctx context.Context, c *kafkalog.Conn, t singerlog.TargetSettings, log *singer.Log) (singerlog.Writer, io.Closer, error) {
			w, err := kafkalog.NewWriter(ctx, c, t.Producer, kafkalog.WriterOptions{
				CreateIfMissing: t.CreateIfMissing,
				Replicas:        t.Replicas,
				MaxAge:          time.Duration(t.MaxAgeSeconds) * time.Second,
				MaxBytes:        t.MaxBytes,
				MaxInFlight:     t.MaxInFlight,
				RetryFor:        time.Duration(t.PublishTimeoutSeconds) * time.Second,
				Compression:     t.Compression,
			}, log)
			return w, w, err
		},
	}.Spec()
}
