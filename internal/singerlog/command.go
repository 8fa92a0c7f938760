package singerlog

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/singer"
)

// Settings are a broker's own settings in a log tap's or target's config
// (its connection, and for a target the topic's broker-specific options):
// a struct the config decodes into, that lists its own problems.
type Settings interface {
	Check() []string
}

// TapSettings are the settings every log tap has, whatever its broker.
type TapSettings struct {
	StartFrom string `json:"start_from"`
	Follow    bool   `json:"follow"`
}

// TapBroker is one broker's part of a log tap: tap-nats and tap-kafka are
// a TapBroker each, and everything else about them is here once.
type TapBroker[S any, PS interface {
	*S
	Settings
}] struct {
	// Name and Description of the binary, and its config schema.
	Name, Description string
	Schema            []byte
	// Defaults are the broker's settings before the config is read.
	Defaults S
	// Topic is the log's name in the settings.
	Topic func(*S) string
	// Open opens the log for reading; name identifies the reader.
	Open func(ctx context.Context, s *S, name string, log *singer.Log) (Source, io.Closer, error)
}

// Spec returns the tap's command-line spec for cli.RunTap.
func (b TapBroker[S, PS]) Spec() cli.TapSpec {
	return cli.TapSpec{
		About: cli.About{
			Name:          b.Name,
			Description:   b.Description,
			Version:       cli.Version,
			Capabilities:  []string{"about", "state"},
			Settings:      b.Schema,
			SettingsNotes: "The state is {\"log\":{\"topic\":...,\"next\":N},\"upstream\":<the upstream tap's latest state>}. A position the topic's retention already deleted stops the run (exit 1), it is never skipped.",
		},
		Discover: func(ctx context.Context, env *cli.Env) error {
			return &cli.UsageError{Msg: b.Name + " has no catalog: it writes every stream of the topic as the upstream tap wrote it"}
		},
		Sync: func(ctx context.Context, env *cli.Env, _ *singer.Catalog, state *singer.State, out *singer.Encoder) error {
			s, opts, err := b.settings(env.Config)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			src, closer, err := b.Open(ctx, s, ProducerName(b.Name, host), env.Log)
			if err != nil {
				return err
			}
			defer closer.Close()
			return Read(ctx, src, opts, env.Log, state, out)
		},
	}
}

// settings decodes the broker's settings and the tap's own, with every
// problem of both at once.
func (b TapBroker[S, PS]) settings(c *config.Config) (*S, ReadOptions, error) {
	s := b.Defaults
	if err := c.Decode(&s); err != nil {
		return nil, ReadOptions{}, err
	}
	t := TapSettings{StartFrom: "beginning"}
	if err := c.Decode(&t); err != nil {
		return nil, ReadOptions{}, err
	}
	p := PS(&s).Check()
	opts := ReadOptions{Topic: b.Topic(&s), Follow: t.Follow}
	if t.StartFrom != "beginning" {
		start, err := time.Parse(time.RFC3339Nano, t.StartFrom)
		if err != nil {
			p = append(p, fmt.Sprintf(`start_from: %q is neither "beginning" nor an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)`, t.StartFrom))
		}
		opts.StartFrom = start
	}
	if len(p) > 0 {
		return nil, ReadOptions{}, &config.Error{Problems: p}
	}
	return &s, opts, nil
}

// TargetSettings are the settings every log target has, whatever its
// broker.
type TargetSettings struct {
	Producer              string `json:"producer"`
	CreateIfMissing       bool   `json:"create_if_missing"`
	Replicas              int    `json:"replicas"`
	MaxAgeSeconds         int64  `json:"max_age_seconds"`
	MaxBytes              int64  `json:"max_bytes"`
	MaxInFlight           int    `json:"max_in_flight"`
	MaxInFlightBytes      int    `json:"max_in_flight_bytes"`
	BatchRecords          int    `json:"batch_records"`
	BatchBytes            int    `json:"batch_bytes"`
	PublishTimeoutSeconds int    `json:"publish_timeout_seconds"`
	// Compression is how batches of records are compressed: by the
	// engine (Write) unless the broker's client does it (Kafka).
	Compression string `json:"compression"`
}

// DefaultTargetSettings are the defaults of TargetSettings; a broker
// changes MaxInFlight to suit its client.
func DefaultTargetSettings() TargetSettings {
	return TargetSettings{
		CreateIfMissing:       true,
		Replicas:              1,
		MaxInFlight:           1000,
		MaxInFlightBytes:      32 << 20,
		BatchRecords:          10000,
		BatchBytes:            512 << 10,
		PublishTimeoutSeconds: 60,
		Compression:           CompressionS2,
	}
}

// check lists the problems of the settings; replicas go up to
// maxReplicas, compression is one of compressions.
func (t *TargetSettings) check(maxReplicas int, compressions []string) []string {
	var p []string
	if !slices.Contains(compressions, t.Compression) {
		p = append(p, fmt.Sprintf("compression: must be %s", orList(compressions)))
	}
	if t.Replicas < 1 || t.Replicas > maxReplicas {
		p = append(p, fmt.Sprintf("replicas: must be 1 to %d", maxReplicas))
	}
	if t.MaxInFlight < 1 {
		p = append(p, "max_in_flight: must be at least 1")
	}
	if t.MaxInFlightBytes < 1<<20 {
		p = append(p, "max_in_flight_bytes: must be at least 1048576 (1 MB)")
	}
	if t.BatchRecords < 1 {
		p = append(p, "batch_records: must be at least 1")
	}
	if t.BatchBytes < 1024 {
		p = append(p, "batch_bytes: must be at least 1024")
	}
	if t.PublishTimeoutSeconds < 1 {
		p = append(p, "publish_timeout_seconds: must be at least 1")
	}
	if t.MaxAgeSeconds < 0 || t.MaxBytes < 0 {
		p = append(p, "max_age_seconds and max_bytes: must be 0 (no limit) or more")
	}
	return p
}

// TargetBroker is one broker's part of a log target: target-nats and
// target-kafka are a TargetBroker each.
type TargetBroker[S any, PS interface {
	*S
	Settings
}] struct {
	// Name and Description of the binary, its config schema, and what
	// --about adds about delivery.
	Name, Description, Notes string
	Schema                   []byte
	// Defaults are the broker's settings before the config is read, and
	// Common the defaults of the settings every log target has.
	Defaults S
	Common   TargetSettings
	// MaxReplicas bounds the replicas setting.
	MaxReplicas int
	// Compressions are the values the compression setting takes, and
	// ClientCompresses says that the broker's client compresses its
	// batches itself (with TargetSettings.Compression, read by Open):
	// otherwise Write compresses each batch of records (CompressionS2,
	// CompressionZstd or CompressionNone).
	Compressions     []string
	ClientCompresses bool
	// Open connects and opens (creating when allowed) the log's topic.
	Open func(ctx context.Context, s *S, t TargetSettings, log *singer.Log) (Writer, io.Closer, error)
}

// Spec returns the target's command-line spec for cli.RunTarget.
func (b TargetBroker[S, PS]) Spec() cli.TargetSpec {
	return cli.TargetSpec{
		About: cli.About{
			Name:          b.Name,
			Description:   b.Description,
			Version:       cli.Version,
			Capabilities:  []string{"about"},
			Settings:      b.Schema,
			SettingsNotes: b.Notes,
		},
		Run: func(ctx context.Context, env *cli.Env, in io.Reader, out *singer.Encoder) error {
			s, t, err := b.settings(env.Config)
			if err != nil {
				return err
			}
			w, closer, err := b.Open(ctx, s, t, env.Log)
			if err != nil {
				return err
			}
			defer closer.Close()
			opts := WriteOptions{Producer: t.Producer, MaxInFlight: t.MaxInFlight, MaxInFlightBytes: t.MaxInFlightBytes, BatchRecords: t.BatchRecords, BatchBytes: t.BatchBytes}
			if !b.ClientCompresses {
				opts.Compression = t.Compression
			}
			return Write(ctx, w, opts, env.Log, in, out)
		},
	}
}

// settings decodes the broker's settings and the target's own, with every
// problem of both at once.
func (b TargetBroker[S, PS]) settings(c *config.Config) (*S, TargetSettings, error) {
	s := b.Defaults
	if err := c.Decode(&s); err != nil {
		return nil, TargetSettings{}, err
	}
	t := b.Common
	if err := c.Decode(&t); err != nil {
		return nil, TargetSettings{}, err
	}
	p := append(PS(&s).Check(), t.check(b.MaxReplicas, b.Compressions)...)
	if len(p) > 0 {
		return nil, TargetSettings{}, &config.Error{Problems: p}
	}
	if t.Producer == "" {
		host, _ := os.Hostname()
		t.Producer = ProducerName(b.Name, host)
	}
	return &s, t, nil
}

// orList writes values as `"a", "b" or "c"`.
func orList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
