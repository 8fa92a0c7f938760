package sqltarget

import (
	"fmt"
	"time"

	"github.com/singerkit/singerkit/internal/batchfile"
)

// Config holds the keys every SQL target shares (see docs/running.md and docs/target-postgres.md).
type Config struct {
	DefaultTargetSchema string            `json:"default_target_schema"`
	SchemaMapping       map[string]Target `json:"schema_mapping"`
	LoadMethod          string            `json:"load_method"` // upsert, append, overwrite; "" = upsert with keys
	BatchSizeRows       int               `json:"batch_size_rows"`
	BatchSizeBytes      int64             `json:"batch_size_bytes"`
	MaxBatchAgeSeconds  float64           `json:"max_batch_age_seconds"`
	AddMetadataColumns  bool              `json:"add_metadata_columns"`
	HardDelete          bool              `json:"hard_delete"`
	ValidateRecords     *bool             `json:"validate_records"`
	FlatteningMaxLevel  int               `json:"flattening_max_level"`
	PrimaryKeyRequired  bool              `json:"primary_key_required"`
	MaxParallelFlushes  int               `json:"max_parallel_flushes"`
	BatchRoots          []string          `json:"batch_roots"`
	// FullStreamNames names each table after the whole stream name (case
	// kept) instead of PipelineWise's convention (see SplitStreamName).
	FullStreamNames bool `json:"full_stream_names"`

	// Dead peers, signals and retries (see Timeouts below).
	NetworkTimeoutSeconds   *float64 `json:"network_timeout_seconds"`
	StatementTimeoutSeconds float64  `json:"statement_timeout_seconds"`
	ShutdownTimeoutSeconds  *float64 `json:"shutdown_timeout_seconds"`
	MaxRetries              *int     `json:"max_retries"`
	RetryBackoffSeconds     *float64 `json:"retry_backoff_seconds"`
}

// Target is where a source schema's streams go.
type Target struct {
	TargetSchema string `json:"target_schema"`
}

// Defaults of the batch policy.
const (
	DefaultBatchRows  = 100000
	DefaultBatchBytes = 64 << 20
)

// FlushPolicy decides when a stream's batch is flushed.
type FlushPolicy struct {
	Rows   int
	Bytes  int
	MaxAge time.Duration // 0: no age limit
}

// Policy returns the batch policy of the config.
func (c *Config) Policy() FlushPolicy {
	p := FlushPolicy{Rows: c.BatchSizeRows, Bytes: int(c.BatchSizeBytes), MaxAge: time.Duration(c.MaxBatchAgeSeconds * float64(time.Second))}
	if p.Rows <= 0 {
		p.Rows = DefaultBatchRows
	}
	if p.Bytes <= 0 {
		p.Bytes = DefaultBatchBytes
	}
	return p
}

// A ramping dialect (Ramping) starts each stream with batches of
// 1/rampFactor of the policy and doubles them at each flush up to the
// policy, when the policy's row limit is at least rampMinRows (smaller
// policies are what the user asked for, batch for batch).
const (
	rampFactor  = 16
	rampMinRows = 16000
	// A batch is flushed when its loader is idle once it has
	// 1/idleDiv of its limit.
	idleDiv = 16
)

// first returns the row and byte limits of a stream's first batch.
func (p FlushPolicy) first(ramp bool) (rows, bytes int) {
	if !ramp {
		return p.Rows, p.Bytes
	}
	return p.Rows / rampFactor, max(p.Bytes/rampFactor, 1)
}

// Validate checks what the config schema cannot.
func (c *Config) Validate() error {
	switch c.LoadMethod {
	case "", "upsert", "append", "overwrite":
	default:
		return fmt.Errorf("load_method must be upsert, append or overwrite, not %q", c.LoadMethod)
	}
	if c.FlatteningMaxLevel < 0 {
		return fmt.Errorf("flattening_max_level must be 0 or more")
	}
	if _, err := batchfile.NewRoots(c.BatchRoots); err != nil {
		return err
	}
	return nil
}

// Defaults of the timeouts and retries.
const (
	DefaultNetworkTimeout  = 300 * time.Second
	DefaultShutdownTimeout = 20 * time.Second
	DefaultMaxRetries      = 5
	DefaultRetryBackoff    = time.Second
	// MaxRetryBackoff caps the doubling wait between attempts.
	MaxRetryBackoff = time.Minute
)

func seconds(v *float64, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	return time.Duration(*v * float64(time.Second))
}

// Timeouts are how long a SQL target waits on its database: the
// drivers' connections get them from the dialect (see NewTimeouts).
type Timeouts struct {
	// Network bounds a connect and a write that makes no progress
	// (network_timeout_seconds; 0: none).
	Network time.Duration
	// Reply bounds a wait for the server's reply: the statement timeout
	// plus the network timeout (0: none).
	Reply time.Duration
	// Statement is the server-side limit of one statement
	// (statement_timeout_seconds; 0: the server's own setting).
	Statement time.Duration
}

// Timeouts returns the timeouts of the config.
func (c *Config) Timeouts() Timeouts {
	t := Timeouts{Network: seconds(c.NetworkTimeoutSeconds, DefaultNetworkTimeout), Statement: seconds(&c.StatementTimeoutSeconds, 0)}
	if t.Network > 0 {
		t.Reply = t.Network + t.Statement
	}
	return t
}

func (c *Config) shutdownTimeout() time.Duration {
	return seconds(c.ShutdownTimeoutSeconds, DefaultShutdownTimeout)
}

func (c *Config) maxRetries() int {
	if c.MaxRetries == nil {
		return DefaultMaxRetries
	}
	return *c.MaxRetries
}

// backoff is the wait before retry n (1, 2, ...): retry_backoff_seconds,
// doubled at each retry, at most MaxRetryBackoff.
func (c *Config) backoff(n int) time.Duration {
	d := seconds(c.RetryBackoffSeconds, DefaultRetryBackoff)
	for i := 1; i < n && d < MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, MaxRetryBackoff)
}

func (c *Config) validate() bool { return c.ValidateRecords == nil || *c.ValidateRecords }

// DefaultParallelFlushes is how many sessions load at once by default.
const DefaultParallelFlushes = 2

func (c *Config) parallel() int {
	if c.MaxParallelFlushes <= 0 {
		return DefaultParallelFlushes
	}
	return c.MaxParallelFlushes
}
