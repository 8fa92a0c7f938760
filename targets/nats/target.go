package natstarget

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Config is target-nats's config (schemas/target-nats.config.json).
type Config struct {
	natslog.Conn
	Producer               string `json:"producer"`
	CreateIfMissing        bool   `json:"create_if_missing"`
	Replicas               int    `json:"replicas"`
	Storage                string `json:"storage"`
	MaxAgeSeconds          int64  `json:"max_age_seconds"`
	MaxBytes               int64  `json:"max_bytes"`
	DuplicateWindowSeconds int    `json:"duplicate_window_seconds"`
	MaxInFlight            int    `json:"max_in_flight"`
	BatchRecords           int    `json:"batch_records"`
	BatchBytes             int    `json:"batch_bytes"`
	PublishTimeoutSeconds  int    `json:"publish_timeout_seconds"`
}

// DefaultConfig returns the config with every default of the schema.
func DefaultConfig() Config {
	return Config{
		Conn:                   natslog.DefaultConn(),
		CreateIfMissing:        true,
		Replicas:               1,
		Storage:                "file",
		DuplicateWindowSeconds: 120,
		MaxInFlight:            1000,
		BatchRecords:           100,
		BatchBytes:             512 << 10,
		PublishTimeoutSeconds:  60,
	}
}

func decodeConfig(c *config.Config) (Config, error) {
	cfg := DefaultConfig()
	if err := c.Decode(&cfg); err != nil {
		return Config{}, err
	}
	p := cfg.Check()
	if cfg.Replicas < 1 || cfg.Replicas > 5 {
		p = append(p, "replicas: must be 1 to 5")
	}
	if cfg.Storage != "file" && cfg.Storage != "memory" {
		p = append(p, `storage: must be "file" or "memory"`)
	}
	if cfg.MaxInFlight < 1 {
		p = append(p, "max_in_flight: must be at least 1")
	}
	if cfg.BatchRecords < 1 {
		p = append(p, "batch_records: must be at least 1")
	}
	if cfg.BatchBytes < 1024 {
		p = append(p, "batch_bytes: must be at least 1024")
	}
	if cfg.PublishTimeoutSeconds < 1 {
		p = append(p, "publish_timeout_seconds: must be at least 1")
	}
	if cfg.DuplicateWindowSeconds < 1 {
		p = append(p, "duplicate_window_seconds: must be at least 1")
	}
	if cfg.MaxAgeSeconds < 0 || cfg.MaxBytes < 0 {
		p = append(p, "max_age_seconds and max_bytes: must be 0 (no limit) or more")
	}
	if len(p) > 0 {
		return Config{}, &config.Error{Problems: p}
	}
	if cfg.Producer == "" {
		host, _ := os.Hostname()
		cfg.Producer = singerlog.ProducerName("target-nats", host)
	}
	return cfg, nil
}

// Spec returns target-nats's command-line spec for cli.RunTarget.
func Spec() cli.TargetSpec {
	return cli.TargetSpec{
		About: cli.About{
			Name:          "target-nats",
			Description:   "Publishes every Singer message, byte for byte and in order, to a NATS JetStream stream, and echoes a STATE only once the stream acknowledged it and everything before it.",
			Version:       cli.Version,
			Capabilities:  []string{"about"},
			Settings:      schemas.Get("target-nats.config.json"),
			SettingsNotes: "Delivery is at least once across runs (a rerun from the last echoed state may publish messages again) and exactly once within a run (a retried publish keeps its message id and the stream drops the duplicate).",
		},
		Run: func(ctx context.Context, env *cli.Env, in io.Reader, out *singer.Encoder) error {
			cfg, err := decodeConfig(env.Config)
			if err != nil {
				return err
			}
			return Run(ctx, cfg, env.Log, in, out)
		},
	}
}

// Run publishes in to the topic of cfg and echoes the acknowledged states.
func Run(ctx context.Context, cfg Config, log *singer.Log, in io.Reader, out *singer.Encoder) error {
	w, err := natslog.NewWriter(ctx, &cfg.Conn, cfg.Producer, natslog.WriterOptions{
		CreateIfMissing: cfg.CreateIfMissing,
		Replicas:        cfg.Replicas,
		Memory:          cfg.Storage == "memory",
		MaxAge:          time.Duration(cfg.MaxAgeSeconds) * time.Second,
		MaxBytes:        cfg.MaxBytes,
		DuplicateWindow: time.Duration(cfg.DuplicateWindowSeconds) * time.Second,
		MaxInFlight:     cfg.MaxInFlight,
		RetryFor:        time.Duration(cfg.PublishTimeoutSeconds) * time.Second,
	}, log)
	if err != nil {
		return err
	}
	defer w.Close()
	return singerlog.Write(ctx, w, singerlog.WriteOptions{Producer: cfg.Producer, MaxInFlight: cfg.MaxInFlight, BatchRecords: cfg.BatchRecords, BatchBytes: cfg.BatchBytes}, log, in, out)
}
