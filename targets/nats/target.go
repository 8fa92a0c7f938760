package natstarget

import (
	"context"
	"io"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Settings are target-nats's own settings: the connection, and the
// JetStream stream's storage and duplicate window.
type Settings struct {
	natslog.Conn
	Storage                string `json:"storage"`
	DuplicateWindowSeconds int    `json:"duplicate_window_seconds"`
}

// Check lists the problems of the settings, all at once.
func (s *Settings) Check() []string {
	p := s.Conn.Check()
	if s.Storage != "file" && s.Storage != "memory" {
		p = append(p, `storage: must be "file" or "memory"`)
	}
	if s.DuplicateWindowSeconds < 1 {
		p = append(p, "duplicate_window_seconds: must be at least 1")
	}
	return p
}

// Config is target-nats's config (schemas/target-nats.config.json).
type Config struct {
	Settings
	singerlog.TargetSettings
}

// Spec returns target-nats's command-line spec for cli.RunTarget.
func Spec() cli.TargetSpec {
	return singerlog.TargetBroker[Settings, *Settings]{
		Name:         "target-nats",
		Description:  "Publishes every Singer message, byte for byte and in order, to a NATS JetStream stream, and echoes a STATE only once the stream acknowledged it and everything before it.",
		Notes:        "Delivery is at least once across runs (a rerun from the last echoed state may publish messages again) and exactly once within a run (a retried publish keeps its message id and the stream drops the duplicate).",
		Schema:       schemas.Get("target-nats.config.json"),
		Defaults:     Settings{Conn: natslog.DefaultConn(), Storage: "file", DuplicateWindowSeconds: 120},
		Common:       singerlog.DefaultTargetSettings(),
		MaxReplicas:  5,
		Compressions: []string{singerlog.CompressionS2, singerlog.CompressionZstd, singerlog.CompressionNone},
		Open: func(ctx context.Context, s *Settings, t singerlog.TargetSettings, log *singer.Log) (singerlog.Writer, io.Closer, error) {
			w, err := natslog.NewWriter(ctx, &s.Conn, t.Producer, natslog.WriterOptions{
				CreateIfMissing: t.CreateIfMissing,
				Replicas:        t.Replicas,
				Memory:          s.Storage == "memory",
				MaxAge:          time.Duration(t.MaxAgeSeconds) * time.Second,
				MaxBytes:        t.MaxBytes,
				DuplicateWindow: time.Duration(s.DuplicateWindowSeconds) * time.Second,
				MaxInFlight:     t.MaxInFlight,
				RetryFor:        time.Duration(t.PublishTimeoutSeconds) * time.Second,
			}, log)
			return w, w, err
		},
	}.Spec()
}
